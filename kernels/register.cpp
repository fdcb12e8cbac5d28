// register.cpp — adds every family's kernels to the registry (called once, on first use).
#include "kernels/registry.h"

namespace v4lab::kernels {
void register_mhc_kernels();             // kernels/mhc/mhc_register.cpp
void register_topk_kernels();            // kernels/attention/topk_register.cpp
void register_numerics_kernels();        // kernels/numerics/numerics_register.cpp
void register_quant_kernels();           // kernels/quant/quant_register.cpp
void register_moe_kernels();             // kernels/moe/moe_register.cpp
void register_engram_kernels();          // kernels/engram/engram_register.cpp
void register_attention_v4_kernels();    // kernels/attention/attention_v4_register.cpp
void register_attention_core_kernels();  // kernels/attention/attention_core_register.cpp

void register_builtin_kernels() {
  register_mhc_kernels();
  register_numerics_kernels();
  register_quant_kernels();
  register_moe_kernels();
  register_topk_kernels();
  register_engram_kernels();
  register_attention_v4_kernels();
  register_attention_core_kernels();
}
}  // namespace v4lab::kernels
