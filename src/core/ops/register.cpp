// register.cpp — adds every family's ops to the catalogue (called once, on first use).
#include "core/op_catalogue.h"

namespace v4lab {
void register_mhc_ops();  // core/ops/mhc.cpp
void register_moe_ops();  // core/ops/moe.cpp

void register_builtin_ops() {
  register_mhc_ops();
  register_moe_ops();
}
}  // namespace v4lab
