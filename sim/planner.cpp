// planner.cpp — enumerate instance layouts (hardware × instance GPUs × TP × EP × overlap × MTP) and
// batches, evaluate each with the memory model and the step model's fast path (one ServingPredictor
// per layout, layouts spread over threads), size the replicas for the phase mix, mark feasibility,
// then the Pareto set, the winner and, when nothing is feasible, the closest miss with its reasons.
#include "sim/planner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "sim/memory_model.h"
#include "sim/step_model.h"

namespace v4lab::sim {

const char* objective_name(PlanObjective o) { return o == PlanObjective::Gpus ? "gpus" : "cost"; }

PlanObjective parse_objective(const std::string& s) {
  if (s == "gpus") return PlanObjective::Gpus;
  if (s == "cost") return PlanObjective::Cost;
  throw usage_error("--objective " + s + ": expected gpus or cost");
}

namespace {
std::string num(double v, const char* f = "%.4g") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
template <class T>
void need_all(const std::vector<T>& v, const char* flag, double lo, double hi, const char* range) {
  if (v.empty()) throw usage_error(std::string(flag) + ": the list is empty (accepted: " + range + ")");
  for (const T& x : v)
    if (!(double(x) >= lo && double(x) <= hi))
      throw usage_error(std::string(flag) + " " + num(double(x), "%g") + ": out of range (accepted: " + range + ")");
}
}  // namespace

void check_plan_request(const PlanRequest& req) {
  auto bad = [](const std::string& flag, double v, const std::string& why) {
    return usage_error(flag + " " + num(v, "%g") + ": " + why);
  };
  if (req.hardware.empty()) throw usage_error("--hw: at least one hardware preset is needed");
  if (req.context < 1) throw bad("--context", double(req.context), "must be >= 1 token");
  if (req.chunk < 1) throw bad("--chunk", double(req.chunk), "must be >= 1 token");
  if (!(req.kv_hit_rate >= 0 && req.kv_hit_rate <= 1)) throw bad("--kv-hit-rate", req.kv_hit_rate, "must be in [0, 1]");
  if (!(req.target_output_tokens_per_s >= 0) || !std::isfinite(req.target_output_tokens_per_s))
    throw bad("--target-tokens-per-s", req.target_output_tokens_per_s, "must be >= 0 (0 = no target)");
  if (!(req.target_input_tokens_per_s >= 0) || !std::isfinite(req.target_input_tokens_per_s))
    throw bad("--target-input-tokens-per-s", req.target_input_tokens_per_s, "must be >= 0 (0 = no target)");
  if (!(req.ttft_slo_s >= 0)) throw bad("--ttft-ms", req.ttft_slo_s * 1e3, "must be >= 0 (0 = no SLO)");
  if (!(req.tpot_slo_s >= 0)) throw bad("--tpot-ms", req.tpot_slo_s * 1e3, "must be >= 0 (0 = no SLO)");
  if (req.max_gpus < 1) throw bad("--max-gpus", req.max_gpus, "must be >= 1");
  if (req.threads < 0) throw bad("--threads", req.threads, "must be >= 0 (0 = all cores)");
  for (double p : req.price_usd_per_gpu_hour)
    if (!std::isfinite(p)) throw bad("--price", p, "must be a finite USD per GPU-hour");
  if (req.engram_prefetch_layers < 0) throw bad("--engram-prefetch", req.engram_prefetch_layers, "must be >= 0");
  const PlanGrid& g = req.grid;
  need_all(g.tp, "--tp", 1, 1024, "integers 1..1024");
  need_all(g.ep_replicas, "--ep-replicas", 1, 1024, "integers 1..1024");
  if (!g.instance_gpus.empty()) need_all(g.instance_gpus, "--instance-gpus", 1, 65536, "integers 1..65536");
  if (g.max_instance_gpus < 1) throw bad("--max-instance-gpus", g.max_instance_gpus, "must be >= 1");
  need_all(g.batch_per_rank, "--batch", 1, 1 << 20, "sequences per DP rank, 1..1048576");
  need_all(g.mtp_accept, "--mtp-accept", 0, 1, "0..1");
  if (g.overlap.empty()) throw usage_error("--overlap: no overlap setting to try (accepted: off, on, both)");
}

ReplicaPlan replicas_for(double target_out, double target_in, double decode_tps, double prefill_tps, double tpot_s,
                         double tpot_slo_s) {
  ReplicaPlan r;
  const double D = target_out > 0 ? target_out / decode_tps : 0.0;   // instances decoding full time
  const double P = target_in > 0 ? target_in / prefill_tps : 0.0;    // instances prefilling full time
  double need = std::max(1.0, D + P);
  if (tpot_slo_s > 0) {
    if (tpot_s >= tpot_slo_s) r.tpot_ok = false;
    else if (P > 0) need = std::max(need, P / (1.0 - tpot_s / tpot_slo_s));  // decode share >= tpot / slo
  }
  // The small slack keeps an exact integer need (e.g. 2.0000000000000004 from rounding) at 2.
  r.replicas = std::max<int64_t>(1, int64_t(std::ceil(need * (1 - 1e-12))));
  r.decode_share = std::max(0.0, 1.0 - P / double(r.replicas));
  if (tpot_slo_s > 0 && r.tpot_ok && r.decode_share > 0 && tpot_s / r.decode_share > tpot_slo_s * (1 + 1e-12))
    r.tpot_ok = false;
  return r;
}

namespace {

struct Layout {
  int hw = 0;
  Deployment dep;
  int first = 0, count = 0;  // candidate index range
};

// Instance sizes of one hardware preset: powers of two below a node, then whole nodes (a model that
// needs more than one node gets whole-node multiples: partial nodes are not rentable units).
std::vector<int> instance_sizes(const PlanRequest& req, const HardwarePreset& hw) {
  if (!req.grid.instance_gpus.empty()) return req.grid.instance_gpus;
  const int gpn = hw.has("gpus_per_node") ? std::max(1, int(hw.value("gpus_per_node"))) : 8;
  const int cap = std::min(req.grid.max_instance_gpus, req.max_gpus);
  std::vector<int> out;
  for (int g = 1; g < gpn && g <= cap; g *= 2) out.push_back(g);
  for (int g = gpn; g <= cap; g += gpn) out.push_back(g);
  return out;
}

// One group = the layouts of one (hardware, instance, TP, EP) that differ only in overlap and MTP
// acceptance, all with the same batch grid: they share the memory footprints (memory_footprint does not
// depend on either) and, across acceptance rates, the TTFT (prefill runs no speculative decode).
void evaluate_group(const PlanRequest& req, const std::vector<Layout>& layouts, size_t g0, size_t g1,
                    StepGraphCache& cache, std::vector<PlanCandidate>& cands) {
  const HardwarePreset& hw = req.hardware[layouts[g0].hw];
  const int n_batch = layouts[g0].count;
  std::vector<MemoryFootprint> mem(n_batch);
  std::vector<std::unique_ptr<ServingPredictor>> done;
  for (size_t li = g0; li < g1; ++li) {
    const Layout& L = layouts[li];
    auto sp = std::make_unique<ServingPredictor>(req.model, hw, L.dep, &cache);
    for (const auto& other : done) sp->adopt_ttft(*other);
    for (int k = 0; k < n_batch; ++k) {
      PlanCandidate& c = cands[L.first + k];
      Workload wl;
      wl.phase = Phase::Decode;
      wl.batch = c.batch;
      wl.context = req.context;
      wl.chunk = req.chunk;
      wl.kv_hit_rate = req.kv_hit_rate;
      if (li == g0) mem[k] = memory_footprint(req.model, hw, L.dep, wl);
      const MemoryFootprint& m = mem[k];
      c.hbm_bytes = m.total_bytes;
      c.hbm_capacity_bytes = m.capacity_bytes;
      c.hbm_shortfall_bytes = m.shortfall_bytes;
      c.hbm_weights_bytes = m.weights_bytes, c.hbm_kv_bytes = m.kv_bytes;
      c.hbm_activation_bytes = m.activation_bytes, c.hbm_engram_bytes = m.engram_hot_bytes;
      c.host_bytes = m.host_bytes;
      c.max_batch = m.max_batch;
      c.fits = m.fits;
      c.price_usd_per_gpu_hour = L.dep.price_usd_per_gpu_hour >= 0 ? L.dep.price_usd_per_gpu_hour
                                 : hw.has("price_usd_per_gpu_hour") ? hw.value("price_usd_per_gpu_hour")
                                                                    : 0.0;
      if (!m.fits && req.prune_memory) continue;
      const ServingMetrics s = sp->predict(wl, &m);
      c.timed = true;
      c.ttft_s = s.ttft_s;
      c.tpot_s = s.tpot_s;
      c.decode_tokens_per_s_per_gpu = s.decode_tokens_per_s_per_gpu;
      c.decode_tokens_per_s = s.decode_tokens_per_s_per_gpu * L.dep.gpus;
      c.prefill_tokens_per_s = s.prefill_tokens_per_s_per_gpu * L.dep.gpus;
      c.usd_per_m_output_tokens = s.usd_per_m_output_tokens;
      c.usd_per_m_input_tokens = s.usd_per_m_input_tokens;
    }
    done.push_back(std::move(sp));
  }
}

// Replicas, totals, feasibility, reasons (after evaluation; cheap, single thread).
void judge(const PlanRequest& req, int64_t min_batch_per_rank, PlanCandidate& c) {
  auto add = [&](const char* kind, double excess, std::string why) {
    c.violations.push_back(kind);
    c.reasons.push_back(std::move(why));
    c.miss = std::max(c.miss, excess);
  };
  const std::string at_batch = "at batch " + std::to_string(c.batch) + " (" + std::to_string(c.batch_per_rank) +
                               " per DP rank" + (c.batch_per_rank == min_batch_per_rank ? ", the smallest in the grid" : "") +
                               ")";
  if (!c.fits)
    add("hbm", c.hbm_bytes / c.hbm_capacity_bytes - 1,
        "HBM short by " + num(c.hbm_shortfall_bytes / 1e9, "%.2f") + " GB per GPU " + at_batch + ": " +
            num(c.hbm_bytes / 1e9, "%.2f") + " GB needed of " + num(c.hbm_capacity_bytes / 1e9, "%.0f") + " GB");
  if (!c.timed) {
    c.replicas = 1;
    c.total_gpus = c.dep.gpus;
    c.usd_per_hour = double(c.total_gpus) * c.price_usd_per_gpu_hour;
    c.within_gpus = c.total_gpus <= req.max_gpus;
    if (c.fits) add("not_modelled", 1e9, "not evaluated by the step model");
    return;
  }
  const ReplicaPlan r = replicas_for(req.target_output_tokens_per_s, req.target_input_tokens_per_s,
                                     c.decode_tokens_per_s, c.prefill_tokens_per_s, c.tpot_s, req.tpot_slo_s);
  c.replicas = r.replicas;
  c.decode_share = r.decode_share;
  c.effective_tpot_s = r.decode_share > 0 ? c.tpot_s / r.decode_share : c.tpot_s;
  c.total_gpus = c.replicas * c.dep.gpus;
  c.usd_per_hour = double(c.total_gpus) * c.price_usd_per_gpu_hour;
  c.meets_ttft = req.ttft_slo_s <= 0 || c.ttft_s <= req.ttft_slo_s;
  c.meets_tpot = r.tpot_ok;
  c.within_gpus = c.total_gpus <= req.max_gpus;
  if (!c.meets_ttft)
    add("ttft", c.ttft_s / req.ttft_slo_s - 1,
        "TTFT " + num(c.ttft_s * 1e3, "%.1f") + " ms > SLO " + num(req.ttft_slo_s * 1e3, "%.1f") + " ms (" +
            std::to_string(req.context) + "-token prompt, one per DP rank)");
  if (!c.meets_tpot) {
    if (c.tpot_s >= req.tpot_slo_s)
      add("tpot", c.tpot_s / req.tpot_slo_s - 1,
          "TPOT " + num(c.tpot_s * 1e3, "%.2f") + " ms > SLO " + num(req.tpot_slo_s * 1e3, "%.2f") + " ms " + at_batch);
    else
      add("tpot", c.effective_tpot_s / req.tpot_slo_s - 1,
          "effective TPOT " + num(c.effective_tpot_s * 1e3, "%.2f") + " ms (" + num(c.tpot_s * 1e3, "%.2f") +
              " ms step / decode share " + num(c.decode_share, "%.3f") + " beside prefill) > SLO " +
              num(req.tpot_slo_s * 1e3, "%.2f") + " ms " + at_batch);
  }
  if (!c.within_gpus)
    add("gpus", double(c.total_gpus) / req.max_gpus - 1,
        "needs " + std::to_string(c.total_gpus) + " GPUs (" + std::to_string(c.replicas) + " replicas x " +
            std::to_string(c.dep.gpus) + ") > max " + std::to_string(req.max_gpus));
  c.feasible = c.fits && c.meets_ttft && c.meets_tpot && c.within_gpus;
}

// Strict order used for the Pareto sort and the winner: objective, the other cost axis, TPOT, then
// throughput per GPU (higher first), then the candidate index (deterministic ties).
bool better(const PlanCandidate& a, int ia, const PlanCandidate& b, int ib, PlanObjective o) {
  const double oa = a.objective_value(o), ob = b.objective_value(o);
  if (oa != ob) return oa < ob;
  const PlanObjective other = o == PlanObjective::Gpus ? PlanObjective::Cost : PlanObjective::Gpus;
  if (a.objective_value(other) != b.objective_value(other)) return a.objective_value(other) < b.objective_value(other);
  if (a.effective_tpot_s != b.effective_tpot_s) return a.effective_tpot_s < b.effective_tpot_s;
  if (a.decode_tokens_per_s_per_gpu != b.decode_tokens_per_s_per_gpu)
    return a.decode_tokens_per_s_per_gpu > b.decode_tokens_per_s_per_gpu;
  return ia < ib;
}

}  // namespace

std::vector<int> pareto_front(const std::vector<PlanCandidate>& c, const std::vector<int>& idx, PlanObjective o) {
  std::vector<int> s = idx;
  std::sort(s.begin(), s.end(), [&](int a, int b) { return better(c[a], a, c[b], b, o); });
  // After the sort no later point can dominate an earlier one, so one pass against the front suffices.
  std::vector<int> front;
  for (int i : s) {
    const PlanCandidate& x = c[i];
    bool dominated = false;
    for (int f : front) {
      const PlanCandidate& y = c[f];
      const bool le = y.objective_value(o) <= x.objective_value(o) && y.effective_tpot_s <= x.effective_tpot_s &&
                      y.decode_tokens_per_s_per_gpu >= x.decode_tokens_per_s_per_gpu;
      const bool lt = y.objective_value(o) < x.objective_value(o) || y.effective_tpot_s < x.effective_tpot_s ||
                      y.decode_tokens_per_s_per_gpu > x.decode_tokens_per_s_per_gpu;
      if (le && lt) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

PlanResult plan(const PlanRequest& req) {
  check_plan_request(req);
  const auto t0 = std::chrono::steady_clock::now();
  PlanResult res;
  const ModelDims d = model_dims(req.model);
  const int64_t min_bpr = *std::min_element(req.grid.batch_per_rank.begin(), req.grid.batch_per_rank.end());

  // Enumerate layouts and their candidates.
  std::vector<Layout> layouts;
  for (int h = 0; h < int(req.hardware.size()); ++h) {
    const HardwarePreset& hw = req.hardware[h];
    const double domain = hw.has("nvlink_domain_gpus") ? hw.value("nvlink_domain_gpus")
                          : hw.has("gpus_per_node")    ? hw.value("gpus_per_node")
                                                       : 1;
    for (int G : instance_sizes(req, hw)) {
      if (G > req.max_gpus) continue;
      for (int tp : req.grid.tp) {
        if (G % tp != 0 || tp > domain || d.n_heads % tp != 0 || (d.v4 && d.o_groups % tp != 0)) continue;
        std::vector<int> eps;
        for (int r : req.grid.ep_replicas) {
          if (G % r != 0) continue;
          const int ep = G / r;
          if (ep > d.n_experts) continue;  // uneven EP is fine (the busiest rank holds ⌈E/EP⌉ experts)
          if (ep > domain && !hw.has("nic_gbs")) continue;  // no inter-node network in the preset
          if (std::find(eps.begin(), eps.end(), ep) == eps.end()) eps.push_back(ep);
        }
        for (int ep : eps)
          for (bool ov : req.grid.overlap)
            for (double acc : req.grid.mtp_accept) {
              if (acc > 0 && d.n_mtp == 0) continue;  // no MTP block: speculative decode does not apply
              Layout L;
              L.hw = h;
              L.dep.tp = tp;
              L.dep.dp = G / tp;
              L.dep.gpus = G;
              L.dep.ep = ep;
              L.dep.overlap = ov;
              L.dep.mtp = true;
              L.dep.mtp_accept = acc;
              L.dep.engram_prefetch_layers = req.engram_prefetch_layers;
              L.dep.price_usd_per_gpu_hour = h < int(req.price_usd_per_gpu_hour.size()) ? req.price_usd_per_gpu_hour[h] : -1;
              L.first = int(res.candidates.size());
              for (int bpr : req.grid.batch_per_rank) {
                PlanCandidate c;
                c.hw_index = h;
                c.hw_id = hw.id;
                c.dep = L.dep;
                c.batch_per_rank = bpr;
                c.batch = int64_t(bpr) * L.dep.dp;
                res.candidates.push_back(std::move(c));
              }
              L.count = int(res.candidates.size()) - L.first;
              layouts.push_back(L);
            }
      }
    }
  }
  res.n_layouts = int64_t(layouts.size());
  if (layouts.empty()) {
    std::string hws;
    for (const HardwarePreset& hw : req.hardware) hws += (hws.empty() ? "" : ",") + hw.id;
    throw usage_error("the search grid is empty: no instance size (--instance-gpus / --max-instance-gpus / --max-gpus " +
                      std::to_string(req.max_gpus) + ") has a TP in --tp that divides it, the " +
                      std::to_string(d.n_heads) + " heads" + (d.v4 ? " and " + std::to_string(d.o_groups) + " o_groups" : "") +
                      " of " + d.id + " and fits the NVLink domain of " + hws + ", with an EP = GPUs / r (--ep-replicas) "
                      "of at most its " + std::to_string(d.n_experts) + " experts");
  }

  // Groups of layouts (contiguous: overlap and acceptance are the innermost loops) on threads; each
  // thread has its own step-graph cache; candidate slots are disjoint.
  std::vector<std::pair<size_t, size_t>> groups;
  for (size_t i = 0; i < layouts.size();) {
    size_t j = i + 1;
    auto same = [&](const Layout& a, const Layout& b) {
      return a.hw == b.hw && a.dep.gpus == b.dep.gpus && a.dep.tp == b.dep.tp && a.dep.ep == b.dep.ep;
    };
    while (j < layouts.size() && same(layouts[i], layouts[j])) ++j;
    groups.push_back({i, j});
    i = j;
  }
  const unsigned hc = std::max(1u, std::thread::hardware_concurrency());
  res.threads = int(std::min<size_t>(req.threads > 0 ? size_t(req.threads) : hc, std::max<size_t>(1, groups.size())));
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mu;
  auto worker = [&] {
    StepGraphCache cache(req.model);  // step graphs shared by this thread's layouts (refilled per layout)
    for (size_t gi; (gi = next.fetch_add(1)) < groups.size();) {
      const auto [g0, g1] = groups[gi];
      try {
        evaluate_group(req, layouts, g0, g1, cache, res.candidates);
      } catch (const Error& e) {
        // A group the cost model cannot evaluate (e.g. a preset without a needed rate) is marked, not fatal.
        for (int k = layouts[g0].first; k < layouts[g1 - 1].first + layouts[g1 - 1].count; ++k) {
          PlanCandidate& c = res.candidates[k];
          c.timed = false;
          c.violations = {"not_modelled"};
          c.reasons = {std::string("not modelled: ") + e.what()};
          c.miss = 1e9;
        }
      } catch (...) {
        std::lock_guard<std::mutex> lk(failure_mu);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < res.threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);

  // Verdicts, counts, Pareto set, winner / closest miss.
  std::vector<int> feasible;
  for (int i = 0; i < int(res.candidates.size()); ++i) {
    PlanCandidate& c = res.candidates[i];
    if (c.violations.empty() || c.violations[0] != "not_modelled") judge(req, min_bpr, c);
    if (c.timed) {
      ++res.n_timed;
      if (res.best_tpot_s == 0 || c.tpot_s < res.best_tpot_s) res.best_tpot_s = c.tpot_s;
      if (res.best_ttft_s == 0 || c.ttft_s < res.best_ttft_s) res.best_ttft_s = c.ttft_s;
    } else if (!c.violations.empty() && c.violations[0] == "hbm") {
      ++res.n_pruned;  // the memory model alone decided
    }
    for (const std::string& v : c.violations) ++res.violation_counts[v];
    if (c.feasible) feasible.push_back(i);
  }
  res.n_feasible = int64_t(feasible.size());
  res.pareto = pareto_front(res.candidates, feasible, req.objective);
  for (int i : res.pareto) res.candidates[i].pareto = true;
  if (!res.pareto.empty()) {
    res.winner = res.pareto.front();
    res.candidates[res.winner].winner = true;
  } else {
    // Closest miss: smallest largest-relative-violation; timed candidates first (their verdict is complete).
    for (int pass = 0; pass < 2 && res.closest_miss < 0; ++pass)
      for (int i = 0; i < int(res.candidates.size()); ++i) {
        const PlanCandidate& c = res.candidates[i];
        if (pass == 0 && !c.timed) continue;
        if (res.closest_miss < 0 || c.miss < res.candidates[res.closest_miss].miss) res.closest_miss = i;
      }
  }
  res.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.candidates_per_s = res.elapsed_s > 0 ? double(res.candidates.size()) / res.elapsed_s : 0;
  return res;
}

}  // namespace v4lab::sim
