// ucurve_io.cpp — loaders of the U-curve study's two input files (data/calibration/ucurve_points.csv,
// ucurve_budgets.csv; specs/studies.md (a) "Calibration data file"). '#' lines and blank lines are
// comments; the first other line is the header (every expected column, in any order; unknown columns
// are errors); quoted fields may hold commas. Every error names file:line, the column and the value.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "sim/studies/ucurve.h"

namespace v4lab::sim::ucurve {

namespace {

std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"' && cur.find_first_not_of(" \t") == std::string::npos) {
      quoted = was_quoted = true;
      cur.clear();
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
      was_quoted = false;
    } else if (c != '\r') {
      if (!was_quoted) cur += c;
    }
  }
  if (quoted) throw config_error("unterminated quoted field", where);
  out.push_back(cur);
  for (auto& f : out) {  // trim unquoted whitespace
    const size_t a = f.find_first_not_of(" \t"), b = f.find_last_not_of(" \t");
    f = a == std::string::npos ? "" : f.substr(a, b - a + 1);
  }
  return out;
}

struct Row {
  std::map<std::string, std::string> v;
  std::string where;
  const std::string& at(const std::string& k) const { return v.at(k); }
};

std::vector<Row> read_table(const std::string& text, const std::string& path, const std::vector<std::string>& columns) {
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> header;
  std::vector<Row> rows;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string where = path + ":" + std::to_string(lineno);
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto cells = split_csv_line(line, where);
    if (header.empty()) {
      header = cells;
      std::set<std::string> seen;
      for (auto& h : header) {
        bool known = false;
        for (auto& c : columns) known = known || c == h;
        std::string all;
        for (auto& c : columns) all += (all.empty() ? "" : ", ") + c;
        if (!known) throw config_error("unknown column '" + h + "' (expected: " + all + ")", where);
        if (!seen.insert(h).second) throw config_error("column '" + h + "' appears twice", where);
      }
      for (auto& c : columns)
        if (!seen.count(c)) throw config_error("missing column '" + c + "' in the header", where);
      continue;
    }
    if (cells.size() != header.size())
      throw config_error("expected " + std::to_string(header.size()) + " fields, got " + std::to_string(cells.size()),
                         where);
    Row r;
    r.where = where;
    for (size_t i = 0; i < header.size(); ++i) r.v[header[i]] = cells[i];
    rows.push_back(std::move(r));
  }
  if (header.empty()) throw config_error("no header line (and no rows)", path);
  return rows;
}

[[noreturn]] void bad(const Row& r, const std::string& col, const std::string& why) {
  throw config_error("column '" + col + "' = '" + r.at(col) + "': " + why, r.where);
}

double number(const Row& r, const std::string& col, double lo, double hi, bool lo_open = false) {
  const std::string& s = r.at(col);
  if (s.empty()) bad(r, col, "a number is required");
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    bad(r, col, "not a number");
  }
  if (pos != s.size() || !std::isfinite(v)) bad(r, col, "not a number");
  char buf[96];
  std::snprintf(buf, sizeof buf, "accepted range %s%g, %g]", lo_open ? "(" : "[", lo, hi);
  if (v < lo || v > hi || (lo_open && v == lo)) bad(r, col, buf);
  return v;
}

int64_t integer_or_zero(const Row& r, const std::string& col, int64_t lo, int64_t hi) {
  if (r.at(col).empty()) return 0;
  const double v = number(r, col, double(lo), double(hi));
  if (v != std::floor(v)) bad(r, col, "an integer is required");
  return int64_t(v);
}

std::string one_of(const Row& r, const std::string& col, const std::vector<std::string>& ok, bool allow_empty) {
  const std::string& s = r.at(col);
  if (s.empty() && allow_empty) return s;
  for (auto& o : ok)
    if (s == o) return s;
  std::string all;
  for (auto& o : ok) all += (all.empty() ? "" : ", ") + o;
  bad(r, col, "accepted values: " + all);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw config_error("cannot read file", path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

std::vector<CalibrationPoint> parse_calibration_points(const std::string& csv_text, const std::string& path) {
  const auto rows = read_table(csv_text, path, {"budget_id", "rho", "loss", "kind", "weight", "source", "note"});
  std::vector<CalibrationPoint> out;
  for (const Row& r : rows) {
    CalibrationPoint p;
    p.where = r.where;
    p.budget_id = r.at("budget_id");
    if (p.budget_id.empty()) bad(r, "budget_id", "a budget id is required");
    p.rho = number(r, "rho", 0, 1);
    p.loss = number(r, "loss", 0, 1e3, true);
    p.kind = one_of(r, "kind", {"published", "digitized", "qualitative"}, false);
    p.weight = number(r, "weight", 0, 1e6, true);
    p.source = r.at("source");
    p.note = r.at("note");
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<CalibrationPoint> load_calibration_points(const std::string& path) {
  return parse_calibration_points(read_file(path), path);
}

bool BudgetGeometry::has_backbone() const {
  return vocab > 0 && d_model > 0 && n_layers > 0 && n_heads > 0 && q_lora_rank > 0 && kv_lora_rank > 0 &&
         qk_nope_head_dim > 0 && qk_rope_head_dim > 0 && v_head_dim > 0 && hc_mult > 0 && !expert_dtype.empty() &&
         !engram_layers.empty() && engram_max_ngram >= 2 && engram_heads > 0 && engram_head_dim > 0 &&
         !engram_row_dtype.empty();
}

double BudgetGeometry::engram_row_bytes() const {
  const double d = double(engram_head_dim);
  return engram_row_dtype == "fp32" ? 4 * d : engram_row_dtype == "fp8" ? d + double(engram_head_dim / 32) : 2 * d;
}

std::vector<BudgetGeometry> parse_budgets(const std::string& csv_text, const std::string& path) {
  const std::vector<std::string> cols = {"budget_id",
                                         "compute_flops",
                                         "p_tot_b",
                                         "p_act_b",
                                         "e_base",
                                         "top_k",
                                         "n_shared",
                                         "vocab",
                                         "d_model",
                                         "n_layers",
                                         "n_heads",
                                         "q_lora_rank",
                                         "kv_lora_rank",
                                         "qk_nope_head_dim",
                                         "qk_rope_head_dim",
                                         "v_head_dim",
                                         "hc_mult",
                                         "expert_dtype",
                                         "engram_layers",
                                         "engram_max_ngram",
                                         "engram_heads",
                                         "engram_head_dim",
                                         "engram_row_dtype",
                                         "source",
                                         "note"};
  const auto rows = read_table(csv_text, path, cols);
  std::vector<BudgetGeometry> out;
  std::set<std::string> ids;
  for (const Row& r : rows) {
    BudgetGeometry g;
    g.where = r.where;
    g.id = r.at("budget_id");
    if (g.id.empty()) bad(r, "budget_id", "a budget id is required");
    if (!ids.insert(g.id).second) bad(r, "budget_id", "duplicate budget id");
    g.compute_flops = r.at("compute_flops").empty() ? 0 : number(r, "compute_flops", 0, 1e30);
    g.p_tot_b = number(r, "p_tot_b", 0, 1e6, true);
    g.p_act_b = number(r, "p_act_b", 0, 1e6, true);
    if (g.p_act_b >= g.p_tot_b) bad(r, "p_act_b", "must be below p_tot_b " + r.at("p_tot_b"));
    g.top_k = int(integer_or_zero(r, "top_k", 1, 1024));
    if (g.top_k == 0) bad(r, "top_k", "an integer >= 1 is required");
    g.e_base = int(integer_or_zero(r, "e_base", 2, 1 << 20));
    if (g.e_base <= g.top_k) bad(r, "e_base", "must exceed top_k " + std::to_string(g.top_k));
    g.n_shared = int(integer_or_zero(r, "n_shared", 0, 64));
    g.vocab = integer_or_zero(r, "vocab", 2, int64_t(1) << 31);
    g.d_model = integer_or_zero(r, "d_model", 1, 1 << 20);
    g.n_layers = integer_or_zero(r, "n_layers", 1, 4096);
    g.n_heads = integer_or_zero(r, "n_heads", 1, 4096);
    g.q_lora_rank = integer_or_zero(r, "q_lora_rank", 1, 1 << 20);
    g.kv_lora_rank = integer_or_zero(r, "kv_lora_rank", 1, 1 << 20);
    g.qk_nope_head_dim = integer_or_zero(r, "qk_nope_head_dim", 1, 4096);
    g.qk_rope_head_dim = integer_or_zero(r, "qk_rope_head_dim", 1, 4096);
    g.v_head_dim = integer_or_zero(r, "v_head_dim", 1, 4096);
    g.hc_mult = int(integer_or_zero(r, "hc_mult", 1, 16));
    g.expert_dtype = one_of(r, "expert_dtype", {"bf16", "fp8", "fp4"}, true);
    if (!r.at("engram_layers").empty()) {
      std::stringstream ss(r.at("engram_layers"));
      std::string item;
      while (std::getline(ss, item, ';')) {
        char* end = nullptr;
        const long v = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v < 0 || (g.n_layers > 0 && v >= g.n_layers))
          bad(r, "engram_layers", "expected ';'-separated 0-based layer indices below n_layers");
        for (int l : g.engram_layers)
          if (l == int(v)) bad(r, "engram_layers", "layer listed twice");
        g.engram_layers.push_back(int(v));
      }
    }
    g.engram_max_ngram = int(integer_or_zero(r, "engram_max_ngram", 2, 8));
    g.engram_heads = int(integer_or_zero(r, "engram_heads", 1, 64));
    g.engram_head_dim = int(integer_or_zero(r, "engram_head_dim", 1, 4096));
    g.engram_row_dtype = one_of(r, "engram_row_dtype", {"bf16", "fp8", "fp32"}, true);
    g.source = r.at("source");
    g.note = r.at("note");
    out.push_back(std::move(g));
  }
  if (out.empty()) throw config_error("no budget rows", path);
  return out;
}

std::vector<BudgetGeometry> load_budgets(const std::string& path) { return parse_budgets(read_file(path), path); }

const BudgetGeometry& find_budget(const std::vector<BudgetGeometry>& budgets, const std::string& id,
                                  const std::string& file) {
  std::string all;
  for (auto& g : budgets) {
    if (g.id == id) return g;
    all += (all.empty() ? "" : ", ") + g.id;
  }
  throw config_error("unknown budget '" + id + "' (budgets in " + file + ": " + all + ")", "--budget");
}

std::string file_hash(const std::string& path) {
  const std::string s = read_file(path);
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace v4lab::sim::ucurve
