// register.cpp — adds every family's ops to the catalogue (called once, on first use).
#include "core/op_catalogue.h"

namespace v4lab {
void register_mhc_ops();             // core/ops/mhc.cpp
void register_attention_ops();       // core/ops/attention.cpp
void register_numerics_ops();        // core/ops/numerics.cpp
void register_quant_ops();           // core/ops/quant.cpp
void register_moe_ops();             // core/ops/moe.cpp
void register_engram_ops();          // core/ops/engram.cpp
void register_attention_v4_ops();    // core/ops/attention_v4.cpp
void register_attention_core_ops();  // core/ops/attention_core.cpp

void register_builtin_ops() {
  register_mhc_ops();
  register_numerics_ops();
  register_quant_ops();
  register_moe_ops();
  register_attention_ops();
  register_engram_ops();
  register_attention_v4_ops();
  register_attention_core_ops();
}
}  // namespace v4lab
