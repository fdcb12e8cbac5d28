// context_dist.cpp — context-length distributions: parsing, quantile buckets, and the mixed-batch
// serving prediction (sum over sequences of the context-dependent work; TTFT per request).
#include "sim/context_dist.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "core/presets.h"

namespace v4lab::sim {

double ContextDist::mean() const {
  long double s = 0;
  for (size_t k = 0; k < context.size(); ++k) s += (long double)weight[k] * (long double)context[k];
  return double(s);
}

double weighted_quantile(std::vector<double> v, std::vector<double> w, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), size_t(0));
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  double cum = 0;
  for (size_t i : idx) {
    cum += w[i];
    if (cum >= q - 1e-12) return v[i];
  }
  return v[idx.back()];
}

int64_t ContextDist::quantile(double q) const {
  std::vector<double> v(context.begin(), context.end());
  return int64_t(weighted_quantile(v, weight, q));
}

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& spec, const std::string& why) {
  throw config_error(field + " = '" + spec + "': " + why +
                     " (accepted: lognormal:mean=M,sigma=S[,buckets=K] | uniform:LO,HI[,buckets=K] | "
                     "point:N | csv:PATH with 'context,weight' lines)");
}

double number(const std::string& field, const std::string& spec, const std::string& s, const char* what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    bad(field, spec, std::string(what) + " '" + s + "' is not a number");
  }
  if (used != s.size() || !std::isfinite(v)) bad(field, spec, std::string(what) + " '" + s + "' is not a finite number");
  return v;
}

std::vector<std::string> split(const std::string& s, char c) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, c)) out.push_back(part);
  return out;
}

int buckets_of(const std::string& field, const std::string& spec, const std::string& v) {
  const double k = number(field, spec, v, "buckets");
  if (!(k >= 1 && k <= 1024 && k == std::floor(k))) bad(field, spec, "buckets = " + v + " is outside 1..1024");
  return int(k);
}

}  // namespace

ContextDist parse_context_dist(const std::string& spec, const std::string& field, int64_t max_context) {
  ContextDist d;
  d.spec = spec;
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) bad(field, spec, "missing '<kind>:'");
  const std::string kind = spec.substr(0, colon), rest = spec.substr(colon + 1);
  std::vector<double> ctx;  // real-valued contexts before rounding
  std::vector<double> w;
  if (kind == "lognormal") {
    double mean = NAN, sigma = NAN;
    int K = 16;
    for (const std::string& kv : split(rest, ',')) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) bad(field, spec, "'" + kv + "' is not key=value");
      const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (k == "mean") mean = number(field, spec, v, "mean");
      else if (k == "sigma") sigma = number(field, spec, v, "sigma");
      else if (k == "buckets") K = buckets_of(field, spec, v);
      else bad(field, spec, "unknown key '" + k + "'");
    }
    if (!(mean >= 1 && mean <= double(max_context)))
      bad(field, spec, "mean must be in [1, " + std::to_string(max_context) + "]");
    if (!(sigma >= 0 && sigma <= 4)) bad(field, spec, "sigma must be in [0, 4]");
    // Arithmetic mean M of a lognormal: mu = ln M − σ²/2. Bucket k sits at quantile (k + ½)/K.
    const double mu = std::log(mean) - 0.5 * sigma * sigma;
    const boost::math::normal_distribution<double> n01(0.0, 1.0);
    for (int k = 0; k < K; ++k) {
      const double z = K == 1 ? 0.0 : boost::math::quantile(n01, (k + 0.5) / K);
      ctx.push_back(std::exp(mu + sigma * z));
      w.push_back(1.0 / K);
    }
    // Mid-quantile buckets understate the mean of a skewed law: rescale so Σ w c = M (before the
    // clamp to [1, max_context] and rounding).
    double m = 0;
    for (int k = 0; k < K; ++k) m += w[k] * ctx[k];
    for (double& c : ctx) c *= mean / m;
  } else if (kind == "uniform") {
    const std::vector<std::string> p = split(rest, ',');
    if (p.size() < 2 || p.size() > 3) bad(field, spec, "uniform needs LO,HI[,buckets=K]");
    const double lo = number(field, spec, p[0], "lo"), hi = number(field, spec, p[1], "hi");
    int K = 16;
    if (p.size() == 3) {
      if (p[2].rfind("buckets=", 0) != 0) bad(field, spec, "third item must be buckets=K");
      K = buckets_of(field, spec, p[2].substr(8));
    }
    if (!(lo >= 1 && hi <= double(max_context) && lo <= hi))
      bad(field, spec, "needs 1 <= lo <= hi <= " + std::to_string(max_context));
    for (int k = 0; k < K; ++k) {
      ctx.push_back(lo + (k + 0.5) / K * (hi - lo));
      w.push_back(1.0 / K);
    }
  } else if (kind == "point") {
    const double c = number(field, spec, rest, "context");
    if (!(c >= 1 && c <= double(max_context))) bad(field, spec, "context must be in [1, " + std::to_string(max_context) + "]");
    ctx.push_back(c);
    w.push_back(1.0);
  } else if (kind == "csv") {
    std::ifstream in(rest);
    if (!in) bad(field, spec, "cannot open '" + rest + "'");
    std::string line;
    int ln = 0;
    while (std::getline(in, line)) {
      ++ln;
      if (line.empty() || line[0] == '#') continue;
      const std::vector<std::string> p = split(line, ',');
      if (p.size() != 2) bad(field, spec, "line " + std::to_string(ln) + " is not 'context,weight'");
      const std::string at = "line " + std::to_string(ln) + " ";
      if (p[0] == "context") continue;  // header
      const double c = number(field, spec, p[0], (at + "context").c_str());
      const double x = number(field, spec, p[1], (at + "weight").c_str());
      if (!(c >= 1 && c <= double(max_context)))
        bad(field, spec, at + "context " + p[0] + " is outside [1, " + std::to_string(max_context) + "]");
      if (!(x >= 0)) bad(field, spec, at + "weight " + p[1] + " is negative");
      ctx.push_back(c);
      w.push_back(x);
    }
    if (ctx.empty()) bad(field, spec, "no rows");
  } else {
    bad(field, spec, "unknown kind '" + kind + "'");
  }
  double ws = 0;
  for (double x : w) ws += x;
  if (!(ws > 0)) bad(field, spec, "weights sum to 0");
  for (size_t k = 0; k < ctx.size(); ++k) {
    const int64_t c = std::clamp<int64_t>(std::llround(ctx[k]), 1, max_context);
    // Merge equal contexts (a narrow law rounds several buckets to one token count).
    auto it = std::find(d.context.begin(), d.context.end(), c);
    if (it != d.context.end()) d.weight[size_t(it - d.context.begin())] += w[k] / ws;
    else {
      d.context.push_back(c);
      d.weight.push_back(w[k] / ws);
    }
  }
  return d;
}

MemoryFootprint memory_footprint_dist(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                                      const Workload& wl, const ContextDist& dist) {
  Workload w0 = wl;
  w0.context = dist.context.at(0);
  MemoryFootprint f = memory_footprint(m, hw, dep, w0);
  if (dist.context.size() == 1) return f;
  double kv_per_seq = 0;
  for (size_t k = 0; k < dist.context.size(); ++k) {
    Workload wk = wl;
    wk.context = dist.context[k];
    kv_per_seq += dist.weight[k] * (k == 0 ? f.kv_bytes_per_seq : memory_footprint(m, hw, dep, wk).kv_bytes_per_seq);
  }
  const double seqs = std::ceil(double(wl.batch) / dep.dp);
  f.kv_bytes_per_seq = kv_per_seq;
  f.kv_bytes = kv_per_seq * seqs;
  f.total_bytes = f.weights_bytes + f.kv_bytes + f.activation_bytes + f.engram_hot_bytes;
  f.fits = f.total_bytes <= f.capacity_bytes;
  f.shortfall_bytes = f.fits ? 0 : f.total_bytes - f.capacity_bytes;
  f.headroom_bytes = f.fits ? f.capacity_bytes - f.total_bytes : 0;
  const double per_seq = kv_per_seq + f.activation_bytes / seqs;
  const double room = f.capacity_bytes - f.weights_bytes - f.engram_hot_bytes;
  f.max_batch = room > 0 ? int64_t(std::floor(room / per_seq)) * dep.dp : 0;
  return f;
}

namespace {
void mix_step(StepCost& into, const StepCost& s, double w, bool first) {
  if (first) {
    into.step_s = 0;
    into.flops = into.bytes_mem = into.bytes_net = into.bytes_host = 0;
    for (auto& [k, v] : into.by_layer_type_s) v = 0;
    for (auto& [k, v] : into.by_family_s) v = 0;
  }
  into.step_s += w * s.step_s;
  into.flops += w * s.flops;
  into.bytes_mem += w * s.bytes_mem;
  into.bytes_net += w * s.bytes_net;
  into.bytes_host += w * s.bytes_host;
  for (auto& [k, v] : s.by_layer_type_s) into.by_layer_type_s[k] += w * v;
  for (auto& [k, v] : s.by_family_s) into.by_family_s[k] += w * v;
}
}  // namespace

DistServingMetrics predict_serving_dist(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                                        const Workload& wl, const ContextDist& dist) {
  DistServingMetrics r;
  const size_t K = dist.context.size();
  if (K == 0) throw config_error("context distribution '" + dist.spec + "' has no buckets");
  std::vector<double> ttft(K), prompt(K);
  // The timeline shown is the median bucket's (the breakdown and totals are the mixture's).
  const int64_t c50 = dist.quantile(0.5);
  ServingMetrics median_bucket;
  for (size_t k = 0; k < K; ++k) {
    Workload wk = wl;
    wk.context = dist.context[k];
    ServingMetrics s = predict_serving(m, hw, dep, wk);
    if (k == 0) r.mixed = s;
    if (dist.context[k] == c50) median_bucket = s;
    mix_step(r.mixed.step, s.step, dist.weight[k], k == 0);
    mix_step(r.mixed.decode, s.decode, dist.weight[k], k == 0);
    ttft[k] = s.ttft_s;
    prompt[k] = double(std::max<int64_t>(1, dist.context[k]));
    r.ttft_by_bucket_s.push_back(s.ttft_s);
    r.decode_by_bucket_s.push_back(s.decode.step_s);
  }
  if (K > 1) {
    r.mixed.step.schedule = median_bucket.step.schedule;
    r.mixed.decode.schedule = median_bucket.decode.schedule;
  }
  ServingMetrics& s = r.mixed;
  s.memory = memory_footprint_dist(m, hw, dep, wl, dist);
  const double G = dep.gpus;
  const bool spec = dep.mtp && dep.mtp_accept > 0 && model_dims(m).n_mtp > 0;
  const double gain = spec ? 1.0 + dep.mtp_accept : 1.0;
  // Same expressions as predict_serving (a one-bucket distribution reproduces it bit for bit).
  s.tpot_s = s.decode.step_s / gain;
  s.decode_tokens_per_s_per_gpu = double(wl.batch) * gain / s.decode.step_s / G;
  s.decode_tokens_per_s_per_node = s.decode_tokens_per_s_per_gpu * std::min<double>(G, s.gpus_per_node);
  double ttft_mean = 0, prompt_mean = 0;
  for (size_t k = 0; k < K; ++k) {
    ttft_mean += dist.weight[k] * ttft[k];
    prompt_mean += dist.weight[k] * prompt[k];
  }
  const double pbatch = wl.phase == Phase::Prefill ? double(wl.batch) : double(dep.dp);
  s.ttft_s = ttft_mean;
  // Prompt tokens per second: mean tokens per request over mean time per request.
  s.prefill_tokens_per_s_per_gpu = pbatch * prompt_mean / ttft_mean / G;
  const double usd_per_s = s.price_usd_per_gpu_hour / 3600.0;
  s.usd_per_m_input_tokens = usd_per_s / s.prefill_tokens_per_s_per_gpu * 1e6;
  s.usd_per_m_output_tokens = usd_per_s / s.decode_tokens_per_s_per_gpu * 1e6;
  r.context_mean = dist.mean();
  r.ttft_mean_s = ttft_mean;
  r.ttft_p50_s = weighted_quantile(ttft, dist.weight, 0.5);
  r.ttft_p99_s = weighted_quantile(ttft, dist.weight, 0.99);
  return r;
}

}  // namespace v4lab::sim
