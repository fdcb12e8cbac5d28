// sweep.cpp — parse, validate and expand sweep scenarios (format in docs/sweeps.md). The field tables
// predict_sweep_fields() / kernel_sweep_fields() are the single list of accepted point fields, their
// defaults, ranges and help text; every axis value is checked against them once, at load, so the
// runner never meets an out-of-range coordinate. Cross-field constraints (tp must divide the heads,
// ...) are the cost model's and show up as per-point errors.
#include "core/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>

#include "core/detail/toml_util.h"
#include "core/error.h"
#include "core/presets.h"

namespace v4lab {

using detail::describe;
using detail::fmt_num;
using detail::join;
using detail::where_of;
using nlohmann::json;

const std::vector<SweepField>& predict_sweep_fields() {
  static const std::vector<SweepField> f = {
      {"model", "string", nullptr, 0, 0, {}, "model", "required; model preset id (data/models/<id>.toml)"},
      {"hw", "string", "h800_sxm", 0, 0, {}, "hardware", "hardware preset id (data/hardware/<id>.toml), not 'local'"},
      {"phase", "string", "decode", 0, 0, {"prefill", "decode"}, "", "prefill (one chunk) or decode (one step)"},
      {"batch", "integer", 1, 1, 1e9, {}, "", "sequences in the step over the whole deployment"},
      {"context", "integer", 4096, 0, 1e9, {}, "", "tokens already cached per sequence (also the TTFT prompt)"},
      {"chunk", "integer", 4096, 1, 1e9, {}, "", "prefill chunk: new tokens per sequence per step"},
      {"tp", "integer", 1, 1, 1024, {}, "", "attention tensor parallel (must divide the heads)"},
      {"ep", "integer", 0, 0, 65536, {}, "", "expert parallel ranks; 0 = gpus"},
      {"dp", "integer", 0, 0, 65536, {}, "", "attention data parallel; 0 = gpus / tp"},
      {"gpus", "integer", 0, 0, 65536, {}, "", "GPUs; 0 = dp x tp when dp is set, else max(8, tp)"},
      {"overlap", "boolean", false, 0, 0, {}, "", "two-micro-batch overlap of communication and compute"},
      {"mtp", "boolean", true, 0, 0, {}, "", "run the MTP block(s) when the preset has them"},
      {"mtp_accept", "number", 0.0, 0, 1, {}, "", "MTP draft acceptance rate; > 0 enables speculative decode"},
      {"engram_prefetch", "integer", 1, 0, 1000, {}, "", "Engram host copy may start this many layers early"},
      {"price", "number", -1.0, -1, 1e6, {}, "", "USD per GPU-hour; -1 = the hardware preset's price"},
  };
  return f;
}

const std::vector<SweepField>& kernel_sweep_fields() {
  static const std::vector<SweepField> f = {
      {"op", "string", nullptr, 0, 0, {}, "", "required; op from the catalogue (`v4lab info`); not an axis", false},
      {"backend", "string", "cpu", 0, 0, {"ref", "cpu", "cuda"}, "", "backend that runs and is measured"},
      {"hardware", "string", "local", 0, 0, {}, "hardware", "hardware preset the cost model predicts on"},
      {"model", "string", "", 0, 0, {}, "model", "model preset giving unset op params (\"\": op defaults)"},
      {"seed", "integer", 1, 0, 9007199254740992.0, {}, "", "seed of the synthetic inputs"},
      {"verify", "boolean", true, 0, 0, {}, "", "check the backend against ref before timing"},
  };
  return f;
}

namespace {

constexpr uint64_t kMaxAxisValues = 10'000'000;

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string range_text(const SweepField& f) {
  if (f.type == "boolean") return "true or false";
  if (f.type == "string") {
    if (!f.choices.empty()) return "one of " + join(f.choices);
    if (!f.preset.empty()) return "a " + f.preset + " preset id";
    return "a string";
  }
  return std::string(f.type == "integer" ? "an integer" : "a number") + " in [" + fmt_num(f.min) + ", " +
         fmt_num(f.max) + "]";
}

// The field set of one sweep: fixed fields, plus the op's params for kernel sweeps.
struct FieldSet {
  std::vector<SweepField> fields;
  const SweepField* find(const std::string& k) const {
    for (auto& f : fields)
      if (f.key == k) return &f;
    return nullptr;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (auto& f : fields) k.push_back(f.key);
    return k;
  }
};

struct Ctx {
  const std::string& path;
  const std::string& data_dir;
  std::vector<std::string> models, hardware;  // preset ids available
};

// Checks a numeric value against field f; `what` names it in messages (e.g. "axis #2 (batch): range").
json number_value(const SweepField& f, double x, const std::string& what, const std::string& where) {
  if (f.type == "integer") {
    if (std::floor(x) != x)
      throw config_error(what + ": " + f.key + " = " + fmt_num(x) + " is not an integer (accepted: " + range_text(f) +
                             ")",
                         where);
  }
  if (!std::isfinite(x) || x < f.min || x > f.max)
    throw config_error(what + ": " + f.key + " = " + fmt_num(x) + " is out of range (accepted: " + range_text(f) + ")",
                       where);
  if (f.type == "integer") return json(static_cast<int64_t>(x));
  return json(x);
}

json node_value(const SweepField& f, const toml::node& n, const std::string& what, const Ctx& c) {
  const std::string where = where_of(c.path, n);
  if (f.type == "boolean") {
    if (auto* b = n.as_boolean()) return json(b->get());
    throw config_error(what + ": " + f.key + ": expected boolean, got " + describe(n), where);
  }
  if (f.type == "string") {
    auto* s = n.as_string();
    if (!s) throw config_error(what + ": " + f.key + ": expected string, got " + describe(n), where);
    const std::string v = s->get();
    if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), v) == f.choices.end())
      throw config_error(what + ": " + f.key + " = \"" + v + "\" is not accepted (accepted: " + join(f.choices) + ")" +
                             detail::did_you_mean(v, f.choices),
                         where);
    if (!f.preset.empty() && !(v.empty() && f.def == json(""))) {
      const auto& avail = f.preset == "model" ? c.models : c.hardware;
      if (std::find(avail.begin(), avail.end(), v) == avail.end())
        throw config_error(what + ": " + f.key + " = \"" + v + "\": no " + f.preset + " preset '" + v + "' in " +
                               c.data_dir + "/" + (f.preset == "model" ? "models" : "hardware") +
                               " (available: " + join(avail) + ")" + detail::did_you_mean(v, avail),
                           where);
    }
    return json(v);
  }
  double x = 0;
  if (auto* b = n.as_boolean()) {
    if (f.type == "integer" && f.min <= 0 && f.max >= 1) return json(int64_t(b->get() ? 1 : 0));  // op flags
    throw config_error(what + ": " + f.key + ": expected " + f.type + ", got " + describe(n), where);
  }
  if (!detail::as_number(n, x))
    throw config_error(what + ": " + f.key + ": expected " + f.type + ", got " + describe(n), where);
  return number_value(f, x, what, where);
}

double table_number(const toml::table& t, const std::string& key, const std::string& what, const Ctx& c,
                    bool required = true, double def = 0) {
  const toml::node* n = t.get(key);
  if (!n) {
    if (required)
      throw config_error(what + ": missing '" + key + "'", where_of(c.path, t.source()));
    return def;
  }
  double x = 0;
  if (!detail::as_number(*n, x) || !std::isfinite(x))
    throw config_error(what + "." + key + ": expected a number, got " + describe(*n), where_of(c.path, *n));
  return x;
}

void only_keys(const toml::table& t, const std::vector<std::string>& accepted, const std::string& in, const Ctx& c) {
  for (auto&& [k, v] : t) {
    std::string key(k.str());
    if (std::find(accepted.begin(), accepted.end(), key) == accepted.end())
      throw config_error("unknown key '" + key + "' in " + in + detail::did_you_mean(key, accepted) +
                             "; accepted: " + join(accepted),
                         where_of(c.path, k.source()));
  }
}

// 12 significant digits: 10^(1/4) steps and 0.1 increments read back as written.
double tidy(double x) {
  char b[40];
  std::snprintf(b, sizeof b, "%.12g", x);
  return std::strtod(b, nullptr);
}

SweepAxis parse_axis(const toml::table& t, int index, const FieldSet& fs, const Ctx& c) {
  SweepAxis ax;
  ax.where = where_of(c.path, t.source());
  std::string label = "[[sweep.axis]] #" + std::to_string(index);
  only_keys(t, {"field", "values", "range", "log", "zip"}, label, c);
  const toml::node* fn = t.get("field");
  if (!fn || !fn->as_string())
    throw config_error(label + ": missing 'field' (a string naming the swept field, e.g. field = \"batch\")",
                       fn ? where_of(c.path, *fn) : ax.where);
  ax.field = fn->as_string()->get();
  const SweepField* f = fs.find(ax.field);
  if (!f)
    throw config_error(label + ": unknown field '" + ax.field + "'" + detail::did_you_mean(ax.field, fs.keys()) +
                           "; accepted: " + join(fs.keys()),
                       where_of(c.path, *fn));
  if (!f->sweepable) throw config_error(label + ": field '" + ax.field + "' cannot be an axis (" + f->help + ")",
                                        where_of(c.path, *fn));
  label += " (" + ax.field + ")";
  if (const toml::node* zn = t.get("zip")) {
    auto* s = zn->as_string();
    if (!s || s->get().empty())
      throw config_error(label + ": zip: expected a non-empty group name string, got " + describe(*zn),
                         where_of(c.path, *zn));
    ax.zip = s->get();
  }
  int given = 0;
  for (const char* k : {"values", "range", "log"}) given += t.get(k) != nullptr;
  if (given != 1)
    throw config_error(label + ": give exactly one of values = [...], range = {start, stop, step} or "
                               "log = {start, stop, num | per_decade} (found " + std::to_string(given) + ")",
                       ax.where);
  if (const toml::node* vn = t.get("values")) {
    ax.source = "values";
    auto* a = vn->as_array();
    if (!a) throw config_error(label + ": values: expected an array, got " + describe(*vn), where_of(c.path, *vn));
    if (a->empty()) throw config_error(label + ": values: must not be empty", where_of(c.path, *vn));
    for (auto& e : *a) ax.values.push_back(node_value(*f, e, label + " values[" + std::to_string(ax.values.size()) + "]", c));
  } else if (const toml::node* rn = t.get("range")) {
    ax.source = "range";
    auto* rt = rn->as_table();
    if (!rt) throw config_error(label + ": range: expected {start, stop, step}, got " + describe(*rn),
                                where_of(c.path, *rn));
    if (f->type != "integer" && f->type != "number")
      throw config_error(label + ": range needs a numeric field; '" + ax.field + "' is a " + f->type +
                             " (use values = [...])",
                         where_of(c.path, *rn));
    only_keys(*rt, {"start", "stop", "step"}, label + " range", c);
    const std::string w = where_of(c.path, *rn);
    const double start = table_number(*rt, "start", label + " range", c);
    const double stop = table_number(*rt, "stop", label + " range", c);
    const double step = table_number(*rt, "step", label + " range", c, false, 1);
    if (step == 0) throw config_error(label + ": range.step = 0 is not accepted (accepted: a non-zero number)", w);
    const double span = (stop - start) / step;
    if (span < -1e-9)
      throw config_error(label + ": range {start = " + fmt_num(start) + ", stop = " + fmt_num(stop) + ", step = " +
                             fmt_num(step) + "} is empty (step must move from start towards stop)",
                         w);
    const double n = std::floor(span + 1e-9) + 1;
    if (n > double(kMaxAxisValues))
      throw config_error(label + ": range has " + fmt_num(n) + " values (accepted: at most " +
                             std::to_string(kMaxAxisValues) + " per axis)",
                         w);
    for (uint64_t k = 0; k < uint64_t(n); ++k)
      ax.values.push_back(number_value(*f, tidy(start + double(k) * step), label + " range", w));
  } else {
    ax.source = "log";
    const toml::node* ln = t.get("log");
    auto* lt = ln->as_table();
    const std::string w = where_of(c.path, *ln);
    if (!lt) throw config_error(label + ": log: expected {start, stop, num} or {start, stop, per_decade}, got " +
                                    describe(*ln), w);
    if (f->type != "integer" && f->type != "number")
      throw config_error(label + ": log needs a numeric field; '" + ax.field + "' is a " + f->type, w);
    only_keys(*lt, {"start", "stop", "num", "per_decade"}, label + " log", c);
    const double start = table_number(*lt, "start", label + " log", c);
    const double stop = table_number(*lt, "stop", label + " log", c);
    if (!(start > 0) || !(stop > 0))
      throw config_error(label + ": log {start = " + fmt_num(start) + ", stop = " + fmt_num(stop) +
                             "}: start and stop must be > 0",
                         w);
    const bool has_num = lt->get("num") != nullptr, has_pd = lt->get("per_decade") != nullptr;
    if (has_num == has_pd) throw config_error(label + ": log: give exactly one of num or per_decade", w);
    std::vector<double> xs;
    if (has_num) {
      const double num = table_number(*lt, "num", label + " log", c);
      if (num < 1 || std::floor(num) != num || num > double(kMaxAxisValues))
        throw config_error(label + ": log.num = " + fmt_num(num) + " is out of range (accepted: an integer in [1, " +
                               std::to_string(kMaxAxisValues) + "])",
                           w);
      const double l0 = std::log10(start), l1 = std::log10(stop);
      for (int64_t k = 0; k < int64_t(num); ++k)
        xs.push_back(num == 1 ? start : std::pow(10.0, l0 + (l1 - l0) * double(k) / (num - 1)));
      if (num > 1) xs.back() = stop;  // exact end point
    } else {
      const double pd = table_number(*lt, "per_decade", label + " log", c);
      if (!(pd > 0) || pd > 1e6)
        throw config_error(label + ": log.per_decade = " + fmt_num(pd) + " is out of range (accepted: (0, 1e6])", w);
      if (stop < start) throw config_error(label + ": log with per_decade needs stop >= start", w);
      const double l0 = std::log10(start), l1 = std::log10(stop);
      const double n = std::floor((l1 - l0) * pd + 1e-9) + 1;
      if (n > double(kMaxAxisValues)) throw config_error(label + ": log has too many values", w);
      for (int64_t k = 0; k < int64_t(n); ++k) xs.push_back(std::pow(10.0, l0 + double(k) / pd));
    }
    // Integer fields: rounded to the nearest integer; values that collapse onto the same integer are
    // kept once (log {1, 10, num = 20} is 1..10).
    for (double x : xs) {
      x = f->type == "integer" ? std::round(x) : tidy(x);
      json v = number_value(*f, x, label + " log", w);
      if (ax.values.empty() || ax.values.back() != v) ax.values.push_back(v);
    }
  }
  if (ax.values.size() > kMaxAxisValues)
    throw config_error(label + ": " + std::to_string(ax.values.size()) + " values (accepted: at most " +
                           std::to_string(kMaxAxisValues) + ")",
                       ax.where);
  if (ax.zip.empty()) {
    std::set<std::string> seen;
    for (auto& v : ax.values)
      if (!seen.insert(v.dump()).second)
        throw config_error(label + ": value " + v.dump() + " is listed twice (each point must be distinct)", ax.where);
  }
  return ax;
}

}  // namespace

SweepSpec parse_sweep(const std::string& text, const std::string& path, const std::string& data_dir) {
  toml::table tbl = detail::parse_toml_text(text, path);
  Ctx c{path, data_dir, list_model_presets(data_dir), list_hardware_presets(data_dir)};
  SweepSpec sp;
  sp.path = path;
  for (auto&& [k, v] : tbl) {
    std::string key(k.str());
    if (key != "sweep")
      throw config_error("unknown key '" + key + "' at the top level of a sweep file; accepted: [sweep] "
                         "(with [sweep.base], [sweep.timing] and [[sweep.axis]])" +
                             (key == "scenario" || key == "kernel" ? std::string(" — `v4lab run` takes [scenario] files")
                                                                   : std::string()),
                         where_of(path, k.source()));
  }
  const toml::node* sn = tbl.get("sweep");
  if (!sn || !sn->as_table())
    throw config_error("missing section [sweep] (with kind = \"predict\" or \"kernel\"); see docs/sweeps.md", path);
  const toml::table& st = *sn->as_table();
  const std::string sw = where_of(path, *sn);
  only_keys(st, {"name", "description", "kind", "metrics", "base", "axis", "timing"}, "[sweep]", c);

  auto str = [&](const char* key, std::string def) {
    const toml::node* n = st.get(key);
    if (!n) return def;
    if (!n->as_string()) throw config_error(std::string(key) + ": expected string, got " + describe(*n), where_of(path, *n));
    return n->as_string()->get();
  };
  std::string stem = path;
  if (auto s = stem.find_last_of('/'); s != std::string::npos) stem = stem.substr(s + 1);
  if (auto d = stem.find_last_of('.'); d != std::string::npos) stem = stem.substr(0, d);
  sp.name = str("name", stem);
  static const std::regex ok("[A-Za-z0-9_.-]+");
  if (!std::regex_match(sp.name, ok))
    throw config_error("name = \"" + sp.name + "\" is not accepted (use letters, digits, '_', '.', '-')",
                       st.get("name") ? where_of(path, *st.get("name")) : sw);
  sp.description = str("description", "");
  if (!st.get("kind")) throw config_error("[sweep]: missing required key 'kind' (\"predict\" or \"kernel\")", sw);
  sp.kind = str("kind", "");
  if (sp.kind != "predict" && sp.kind != "kernel")
    throw config_error("kind = \"" + sp.kind + "\" is not accepted (accepted: predict, kernel)",
                       where_of(path, *st.get("kind")));
  if (st.get("metrics")) {
    if (sp.kind != "predict") throw config_error("metrics: only for kind = \"predict\"", where_of(path, *st.get("metrics")));
    sp.metrics = str("metrics", "serving");
    if (sp.metrics != "serving" && sp.metrics != "step" && sp.metrics != "memory")
      throw config_error("metrics = \"" + sp.metrics + "\" is not accepted (accepted: serving, step, memory)",
                         where_of(path, *st.get("metrics")));
  }

  // Fields: kernel sweeps add the op's params, so the op is read first.
  FieldSet fs;
  const toml::table* base = nullptr;
  if (const toml::node* bn = st.get("base")) {
    base = bn->as_table();
    if (!base) throw config_error("[sweep.base]: expected a table, got " + describe(*bn), where_of(path, *bn));
  }
  const OpDef* op = nullptr;
  if (sp.kind == "predict") {
    fs.fields = predict_sweep_fields();
  } else {
    fs.fields = kernel_sweep_fields();
    const toml::node* on = base ? base->get("op") : nullptr;
    if (!on || !on->as_string())
      throw config_error("[sweep.base]: kind = \"kernel\" needs op = \"<op name>\" (`v4lab info` lists the ops)",
                         on ? where_of(path, *on) : sw);
    const std::string name = on->as_string()->get();
    op = find_op(name);
    if (!op) {
      std::vector<std::string> names;
      for (auto& o : all_ops()) names.push_back(o.name);
      throw config_error("op = \"" + name + "\": unknown op" + detail::did_you_mean(name, names) +
                             " (known ops: " + join(names) + ")",
                         where_of(path, *on));
    }
    for (auto& d : op->params)
      fs.fields.push_back({d.key, d.integer ? "integer" : "number", nullptr, d.min, d.max, {}, "",
                           d.help + (d.model_field.empty() ? "" : " (default: model preset " + d.model_field + ")")});
  }

  // Base values (defaults first; kernel op params stay unset unless given).
  sp.base = json::object();
  for (auto& f : fs.fields)
    if (!f.def.is_null()) sp.base[f.key] = f.def;
  if (base) {
    for (auto&& [k, v] : *base) {
      std::string key(k.str());
      const SweepField* f = fs.find(key);
      if (!f)
        throw config_error("unknown field '" + key + "' in [sweep.base]" + detail::did_you_mean(key, fs.keys()) +
                               "; accepted: " + join(fs.keys()),
                           where_of(path, k.source()));
      sp.base[key] = node_value(*f, v, "[sweep.base]", c);
    }
  }

  // Timing (kernel sweeps).
  if (const toml::node* tn = st.get("timing")) {
    if (sp.kind != "kernel") throw config_error("[sweep.timing]: only for kind = \"kernel\"", where_of(path, *tn));
    auto* tt = tn->as_table();
    if (!tt) throw config_error("[sweep.timing]: expected a table, got " + describe(*tn), where_of(path, *tn));
    only_keys(*tt, {"warmup", "min_time_s", "min_reps", "max_reps"}, "[sweep.timing]", c);
    auto integer = [&](const char* key, int64_t lo, int64_t hi, int def) {
      const toml::node* n = tt->get(key);
      if (!n) return def;
      auto* i = n->as_integer();
      if (!i || i->get() < lo || i->get() > hi)
        throw config_error(std::string("[sweep.timing] ") + key + " = " + (i ? std::to_string(i->get()) : describe(*n)) +
                               " is not accepted (accepted: an integer in [" + std::to_string(lo) + ", " +
                               std::to_string(hi) + "])",
                           where_of(path, *n));
      return int(i->get());
    };
    sp.timing.warmup = integer("warmup", 0, 1000, sp.timing.warmup);
    sp.timing.min_reps = integer("min_reps", 1, 1000000, sp.timing.min_reps);
    sp.timing.max_reps = integer("max_reps", 1, 10000000, sp.timing.max_reps);
    if (const toml::node* n = tt->get("min_time_s")) {
      double x = 0;
      if (!detail::as_number(*n, x) || !(x > 0 && x <= 600))
        throw config_error("[sweep.timing] min_time_s = " + describe(*n) + " is not accepted (accepted: (0, 600])",
                           where_of(path, *n));
      sp.timing.min_time_s = x;
    }
    if (sp.timing.max_reps < sp.timing.min_reps)
      throw config_error("[sweep.timing] max_reps = " + std::to_string(sp.timing.max_reps) + " is below min_reps = " +
                             std::to_string(sp.timing.min_reps),
                         where_of(path, *tn));
  }

  // Axes.
  if (const toml::node* an = st.get("axis")) {
    auto* arr = an->as_array();
    if (!arr || !arr->is_array_of_tables())
      throw config_error("axis: expected [[sweep.axis]] tables, got " + describe(*an), where_of(path, *an));
    int index = 0;
    for (auto& e : *arr) {
      SweepAxis ax = parse_axis(*e.as_table(), ++index, fs, c);
      for (auto& prev : sp.axes)
        if (prev.field == ax.field)
          throw config_error("[[sweep.axis]] #" + std::to_string(index) + ": field '" + ax.field +
                                 "' is already swept by the axis at " + prev.where + " (one axis per field)",
                             ax.where);
      sp.axes.push_back(std::move(ax));
    }
  }
  for (auto& f : fs.fields) {
    if (!f.def.is_null() || sp.base.contains(f.key)) continue;
    bool swept = std::any_of(sp.axes.begin(), sp.axes.end(), [&](auto& a) { return a.field == f.key; });
    if (!swept && (sp.kind == "predict" || f.key == "op"))
      throw config_error("missing required field '" + f.key + "' (" + f.help + "): set it in [sweep.base] or sweep it",
                         sw);
  }
  if (sp.kind == "predict") {
    auto uses_local = [&](const json& v) { return v == json("local"); };
    bool local = uses_local(sp.base["hw"]);
    for (auto& a : sp.axes)
      if (a.field == "hw") local = local || std::any_of(a.values.begin(), a.values.end(), uses_local);
    if (local)
      throw config_error("hw = \"local\" is not supported by predict sweeps (whole-model serving needs a GPU preset: " +
                             join(c.hardware) + ")",
                         sw);
  }

  // Dimensions: one per unzipped axis, one per zip group (at its first axis); zipped axes must agree.
  std::map<std::string, size_t> zip_dim;
  for (size_t i = 0; i < sp.axes.size(); ++i) {
    const SweepAxis& ax = sp.axes[i];
    if (!ax.zip.empty() && zip_dim.count(ax.zip)) {
      const size_t g = zip_dim[ax.zip];
      const SweepAxis& first = sp.axes[sp.groups[g][0]];
      if (ax.values.size() != first.values.size())
        throw config_error("zip group \"" + ax.zip + "\": axis '" + ax.field + "' has " +
                               std::to_string(ax.values.size()) + " values but axis '" + first.field + "' (" +
                               first.where + ") has " + std::to_string(first.values.size()) +
                               " (zipped axes must have equal length)",
                           ax.where);
      sp.groups[g].push_back(i);
      continue;
    }
    if (!ax.zip.empty()) zip_dim[ax.zip] = sp.groups.size();
    sp.groups.push_back({i});
    sp.group_sizes.push_back(ax.values.size());
  }
  for (size_t g = 0; g < sp.groups.size(); ++g) {
    if (sp.groups[g].size() < 2) continue;
    std::set<std::string> seen;
    for (uint64_t k = 0; k < sp.group_sizes[g]; ++k) {
      json tuple = json::array();
      for (size_t a : sp.groups[g]) tuple.push_back(sp.axes[a].values[k]);
      if (!seen.insert(tuple.dump()).second)
        throw config_error("zip group \"" + sp.axes[sp.groups[g][0]].zip + "\": entry " + std::to_string(k) + " " +
                               tuple.dump() + " is listed twice (each point must be distinct)",
                           sp.axes[sp.groups[g][0]].where);
    }
  }
  sp.n_points = 1;
  for (uint64_t s : sp.group_sizes) {
    if (sp.n_points > kMaxSweepPoints / s)
      throw config_error("the sweep has more than " + std::to_string(kMaxSweepPoints) +
                             " points (accepted: at most 2^40); split it or use fewer values",
                         sw);
    sp.n_points *= s;
  }

  // Kernel sweeps: the op params every model value would supply must be in the op's ranges.
  if (op) {
    std::vector<std::string> models = {sp.base.value("model", std::string())};
    for (auto& a : sp.axes)
      if (a.field == "model") {
        models.clear();
        for (auto& v : a.values) models.push_back(v.get<std::string>());
      }
    for (auto& m : models) {
      ParamMap values;
      if (!m.empty()) {
        ModelPreset mp = load_model_preset(m, data_dir);
        for (auto& d : op->params)
          if (!d.model_field.empty() && mp.has_number(d.model_field)) values[d.key] = mp.number(d.model_field);
      }
      for (auto& d : op->params)
        if (sp.base.contains(d.key)) values[d.key] = sp.base[d.key].get<double>();
      try {
        resolve_params(*op, values);
      } catch (const Error& e) {
        throw config_error(e.message() + " (op " + op->name + (m.empty() ? "" : ", params from model preset '" + m + "'") +
                               "; set the param in [sweep.base])",
                           sw);
      }
    }
  }

  json canon = {{"kind", sp.kind}, {"metrics", sp.metrics}, {"base", sp.base}, {"axes", json::array()}};
  if (sp.kind == "kernel")
    canon["timing"] = {{"warmup", sp.timing.warmup}, {"min_time_s", sp.timing.min_time_s},
                       {"min_reps", sp.timing.min_reps}, {"max_reps", sp.timing.max_reps}};
  for (auto& a : sp.axes) canon["axes"].push_back({{"field", a.field}, {"values", a.values}, {"zip", a.zip}});
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(canon.dump())));
  sp.hash = hex;
  return sp;
}

SweepSpec load_sweep(const std::string& path, const std::string& data_dir) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error("sweep file '" + path + "' not found or unreadable");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_sweep(text, path, data_dir);
}

json SweepSpec::coordinates(uint64_t index) const {
  json c = json::object();
  for (size_t g = groups.size(); g-- > 0;) {
    const uint64_t d = index % group_sizes[g];
    index /= group_sizes[g];
    for (size_t a : groups[g]) c[axes[a].field] = axes[a].values[d];
  }
  return c;
}

json SweepSpec::point_config(uint64_t index) const {
  json p = base;
  const json c = coordinates(index);  // named: items() of a temporary would dangle
  for (auto& [k, v] : c.items()) p[k] = v;
  return p;
}

json SweepSpec::to_json() const {
  json ax = json::array();
  for (auto& a : axes)
    ax.push_back({{"field", a.field}, {"source", a.source}, {"zip", a.zip}, {"n", a.values.size()}, {"values", a.values},
                  {"where", a.where}});
  json j = {{"name", name}, {"description", description}, {"path", path}, {"kind", kind}, {"base", base},
            {"axes", ax}, {"n_points", n_points}, {"sweep_hash", hash}, {"warnings", warnings}};
  if (kind == "predict") j["metrics"] = metrics;
  if (kind == "kernel")
    j["timing"] = {{"warmup", timing.warmup}, {"min_time_s", timing.min_time_s}, {"min_reps", timing.min_reps},
                   {"max_reps", timing.max_reps}};
  return j;
}

}  // namespace v4lab
