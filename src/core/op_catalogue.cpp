// op_catalogue.cpp — registry of OpDefs and parameter resolution/validation.
#include "core/op_catalogue.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace v4lab {

void register_builtin_ops();  // core/ops/register.cpp

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::FP64: return "fp64";
    case Precision::FP32: return "fp32";
    case Precision::TF32: return "tf32";
    case Precision::BF16: return "bf16";
    case Precision::FP8: return "fp8";
    case Precision::FP4: return "fp4";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  for (Precision p : {Precision::FP64, Precision::FP32, Precision::TF32, Precision::BF16, Precision::FP8,
                      Precision::FP4})
    if (s == precision_name(p)) return p;
  throw config_error("unknown precision '" + s + "' (accepted: fp64, fp32, tf32, bf16, fp8, fp4)");
}

static std::vector<OpDef>& table() {
  static std::vector<OpDef> ops;
  return ops;
}

void register_op(OpDef def) {
  for (auto& o : table())
    if (o.name == def.name) throw runtime_error("op registered twice: " + def.name);
  table().push_back(std::move(def));
}

const std::vector<OpDef>& all_ops() {
  static bool once = [] { register_builtin_ops(); return true; }();
  (void)once;
  return table();
}

const OpDef* find_op(const std::string& name) {
  for (auto& o : all_ops())
    if (o.name == name) return &o;
  return nullptr;
}

const OpDef& get_op(const std::string& name) {
  if (auto* o = find_op(name)) return *o;
  std::ostringstream known;
  for (auto& o : all_ops()) known << (known.tellp() > 0 ? ", " : "") << o.name;
  throw config_error("unknown op '" + name + "' (known ops: " + known.str() + ")");
}

static std::string fmt_num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

ParamMap resolve_params(const OpDef& op, const ParamMap& overrides, const std::string& where) {
  ParamMap out;
  for (auto& d : op.params) out[d.key] = d.def;
  for (auto& [k, v] : overrides) {
    const ParamDef* def = nullptr;
    for (auto& d : op.params)
      if (d.key == k) def = &d;
    if (!def) {
      std::ostringstream keys;
      for (auto& d : op.params) keys << (keys.tellp() > 0 ? ", " : "") << d.key;
      throw config_error("unknown parameter '" + k + "' for op " + op.name + " (accepted: " + keys.str() + ")",
                         where);
    }
    if (!std::isfinite(v) || v < def->min || v > def->max)
      throw config_error(op.name + "." + k + " = " + fmt_num(v) + " is out of range [" + fmt_num(def->min) +
                             ", " + fmt_num(def->max) + "]",
                         where);
    if (def->integer && std::floor(v) != v)
      throw config_error(op.name + "." + k + " = " + fmt_num(v) + " must be an integer", where);
    out[k] = v;
  }
  return out;
}

}  // namespace v4lab
