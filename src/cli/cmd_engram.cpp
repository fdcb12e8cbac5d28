// cmd_engram.cpp — `v4lab engram cache-sim` (specs/engram.md §10: replay a Zipf or real-text trace,
// hashed into Engram row ids by the real hash kernel, through the tiered cache simulator) and
// `v4lab engram pipeline` (§9: measured serial vs prefetch host-table pipeline on real kernels).
// Both store a run of kind "engram": cache-sim as a study point (modelled), pipeline as measurements.
#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/text_corpus.h"
#include "kernels/engram/engram.h"
#include "kernels/engram/pipeline.h"
#include "kernels/engram/primes.h"
#include "report/report.h"
#include "sim/engram_cache.h"
#include "sim/zipf.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

struct CacheSimOpts {
  std::string source = "zipf";
  double zipf_s = 1.0;
  int64_t zipf_vocab = 129280;
  int64_t tokens = 200000;
  std::string corpus = kDefaultCorpusPath;
  int64_t cache_rows = 65536;
  int64_t dram_rows = -1;
  std::string policy = "lru";
  int64_t table_rows = 1 << 22;
  int64_t row_bytes = 264;
  int max_ngram = 3;
  int heads = 8;
  int64_t batch = 256;
  int prefetch = 1;
  bool no_dedup = false;
  double lfu_half_life = 1e6;
  std::string hw = "h800_sxm";
  double step_us = 2000, slack_us = 200, gather_ns_per_row = 20, link_util = 0;
  double nvme_gbs = 7, nvme_iops = 1e6, nvme_latency_us = 80;
  uint64_t seed = 1;
};

struct PipelineOpts {
  int64_t steps = 32;
  int64_t rows_per_step = 6144;
  int64_t row_bytes = 264;
  int64_t table_rows = 1 << 21;
  double compute_ms = 2.0;
  std::string mode = "both";
  int prefetch_distance = 1;
  int compute_threads = 1;
  std::string engine = "thread";
  int max_ngram = 3;
  int heads = 8;
  uint64_t seed = 1;
};

// Row ids of a packed token row through the real hash kernel (identity canonical map over V + 1 ids,
// the extra id being pad; §3 primes sized so that Σp ≈ table_rows).
struct Hasher {
  kernels::EngramHashParams hp;
  std::vector<uint64_t> primes, mult;
  int64_t table_rows = 0;
  Hasher(int64_t vocab, int max_ngram, int heads, int64_t want_rows, uint64_t seed) {
    hp.max_ngram = max_ngram, hp.heads = heads, hp.raw_vocab = vocab + 1, hp.pad_id = vocab;
    const int R = hp.rows_per_token();
    const uint64_t per_head = std::max<uint64_t>(2, uint64_t(want_rows / R));
    primes = kernels::engram_select_primes(1, std::vector<uint64_t>(max_ngram - 1, per_head), heads)[0];
    table_rows = int64_t(kernels::engram_table_rows(primes));
    mult = kernels::engram_multipliers_splitmix(0, uint64_t(vocab + 1), max_ngram, seed);
  }
  std::vector<uint32_t> ids(const std::vector<int32_t>& tokens) {
    hp.n_tokens = int64_t(tokens.size());
    const int R = hp.rows_per_token(), H = max_ngram() - 1;
    std::vector<int32_t> canon(size_t(hp.raw_vocab)), ctx(size_t(H), -1);
    for (int64_t i = 0; i < hp.raw_vocab; ++i) canon[i] = int32_t(i);
    std::vector<uint32_t> out(tokens.size() * R);
    std::vector<uint64_t> offsets(static_cast<size_t>(R)), mixes(tokens.size() * H);
    kernels::engram_hash_cpu(hp, tokens.data(), ctx.data(), canon.data(), mult.data(), primes.data(), out.data(),
                             offsets.data(), mixes.data());
    return out;
  }
  int max_ngram() const { return hp.max_ngram; }
};

std::vector<int32_t> to_i32(const std::vector<uint32_t>& v) { return std::vector<int32_t>(v.begin(), v.end()); }

nlohmann::json tier_json(const sim::EngramTierStats& t) {
  return {{"lookups", t.lookups}, {"rows", t.rows}, {"bytes", t.bytes}, {"hit_rate", t.hit_rate}};
}

nlohmann::json cache_result_json(const sim::EngramCacheResult& r) {
  return {{"steps", r.steps}, {"tokens", r.tokens}, {"lookups", r.lookups}, {"unique_rows", r.unique_rows},
          {"distinct_rows", r.distinct_rows}, {"cold_misses", r.cold_misses},
          {"tiers", {{"hbm", tier_json(r.hbm)}, {"dram", tier_json(r.dram)}, {"nvme", tier_json(r.nvme)}}},
          {"requested_bytes", r.requested_bytes}, {"link_bytes", r.link_bytes}, {"nvme_bytes", r.nvme_bytes},
          {"nvme_reads", r.nvme_reads}, {"promotions", r.promotions}, {"evictions", r.evictions},
          {"hbm_hit_rate_warm", r.hbm_hit_rate_warm}, {"link_bytes_per_token", r.link_bytes_per_token},
          {"link_bytes_per_step", r.link_bytes_per_step}, {"fetch_mean_s", r.fetch_mean_s},
          {"slack_mean_s", r.slack_mean_s}, {"stall_total_s", r.stall_total_s}, {"stall_mean_s", r.stall_mean_s},
          {"stall_p50_s", r.stall_p50_s}, {"stall_p99_s", r.stall_p99_s}, {"stall_per_token_s", r.stall_per_token_s},
          {"stalled_step_fraction", r.stalled_step_fraction}, {"hbm_used_rows", r.hbm_used_rows},
          {"warmup_curve", r.warmup_curve}, {"label", "modelled"}};
}

int run_cache_sim(Context& ctx, const CacheSimOpts& o, bool tokens_given) {
  store::Store db(ctx.db_path);
  HardwarePreset hw = resolve_hardware(o.hw, ctx, &db);
  sim::EngramCacheConfig c;
  c.row_bytes = o.row_bytes, c.cache_rows = o.cache_rows, c.dram_rows = o.dram_rows;
  c.policy = sim::parse_cache_policy(o.policy, "--policy");
  c.rows_per_token = (o.max_ngram - 1) * o.heads, c.tokens_per_step = o.batch, c.prefetch_distance = o.prefetch;
  c.dedup = !o.no_dedup, c.lfu_half_life = o.lfu_half_life;
  c.step_s = o.step_us * 1e-6, c.slack_s = o.slack_us * 1e-6;
  c.link.host_link_bytes_per_s = hw.value("host_link_gbs") * 1e9;
  c.link.host_link_latency_s = hw.has("host_link_latency_us") ? hw.value("host_link_latency_us") * 1e-6 : 2e-6;
  c.link.background_util = o.link_util, c.link.gather_s_per_row = o.gather_ns_per_row * 1e-9;
  c.link.nvme_bytes_per_s = o.nvme_gbs * 1e9, c.link.nvme_iops = o.nvme_iops;
  c.link.nvme_latency_s = o.nvme_latency_us * 1e-6;

  nlohmann::json trace;
  std::vector<uint32_t> ids, profile_ids;
  const std::vector<uint32_t>* profile = nullptr;
  int64_t table_rows = 0;
  if (o.source == "zipf") {
    Hasher h(o.zipf_vocab, o.max_ngram, o.heads, o.table_rows, o.seed);
    ids = h.ids(to_i32(sim::zipf_stream(o.zipf_vocab, o.zipf_s, o.tokens, o.seed)));
    profile_ids = h.ids(to_i32(sim::zipf_stream(o.zipf_vocab, o.zipf_s, o.tokens, o.seed + 1)));
    profile = &profile_ids;
    table_rows = h.table_rows;
    trace = {{"source", "zipf"}, {"name", "zipf unigram"}, {"zipf_s", o.zipf_s}, {"vocab", o.zipf_vocab},
             {"tokens", o.tokens}, {"seed", o.seed},
             {"static_profile", "independent Zipf stream (seed + 1)"}};
  } else {
    TextCorpus corpus = load_text_corpus(o.corpus);
    if (tokens_given && o.tokens < int64_t(corpus.token_ids.size())) corpus.token_ids.resize(size_t(o.tokens));
    Hasher h(int64_t(corpus.vocab.size()), o.max_ngram, o.heads, o.table_rows, o.seed);
    ids = h.ids(corpus.token_ids);
    table_rows = h.table_rows;
    trace = {{"source", "corpus"}, {"name", corpus.name}, {"path", corpus.path},
             {"files", int64_t(corpus.files.size())}, {"bytes", corpus.bytes},
             {"tokens", int64_t(corpus.token_ids.size())}, {"vocab", int64_t(corpus.vocab.size())},
             {"tokenizer", "ascii lowercase, split on non-alphanumerics, ids by first appearance"},
             {"static_profile", "the replayed corpus itself (oracle ranking)"}};
  }
  c.table_rows = table_rows;
  const sim::EngramCacheResult r = simulate_engram_cache(c, ids, profile);

  nlohmann::json cfg = {{"policy", o.policy}, {"cache_rows", o.cache_rows}, {"dram_rows", o.dram_rows},
                        {"table_rows_requested", o.table_rows}, {"table_rows", table_rows}, {"row_bytes", o.row_bytes},
                        {"max_ngram", o.max_ngram}, {"heads", o.heads}, {"rows_per_token", c.rows_per_token},
                        {"batch", o.batch}, {"prefetch", o.prefetch}, {"dedup", c.dedup},
                        {"lfu_half_life", o.lfu_half_life}, {"hw", o.hw},
                        {"host_link_bytes_per_s", c.link.host_link_bytes_per_s},
                        {"host_link_latency_s", c.link.host_link_latency_s}, {"link_util", o.link_util},
                        {"gather_s_per_row", c.link.gather_s_per_row}, {"nvme_bytes_per_s", c.link.nvme_bytes_per_s},
                        {"nvme_iops", o.nvme_iops}, {"nvme_latency_s", c.link.nvme_latency_s},
                        {"step_s", c.step_s}, {"slack_s", c.slack_s},
                        {"hash", "engram_hash_cpu, non-official SplitMix64 multipliers, §3 primes"}};
  nlohmann::json j = {{"command", "engram cache-sim"}, {"config", cfg}, {"trace", trace},
                      {"results", cache_result_json(r)}};
  store::RunRecord rec;
  rec.info.kind = "engram";
  rec.info.name = "cache-sim " + trace["source"].get<std::string>() + " " + o.policy;
  rec.info.seed = o.seed;
  rec.info.config_json = nlohmann::json({{"config", cfg}, {"trace", trace}}).dump();
  store::StudyPoint sp;
  sp.study = "engram_cache";
  sp.point_json = nlohmann::json({{"source", trace["source"]}, {"policy", o.policy}, {"cache_rows", o.cache_rows},
                                  {"table_rows", table_rows}, {"batch", o.batch}, {"prefetch", o.prefetch},
                                  {"hw", o.hw}})
                      .dump();
  sp.metrics_json = j["results"].dump();
  sp.label = "modelled: trace replay + §9 stall model";
  rec.study_points.push_back(sp);
  j["run_id"] = db.write_run(rec);

  std::ostream& out = *ctx.out;
  if (ctx.json) {
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "engram cache-sim: " << trace["name"].get<std::string>() << " (" << r.tokens << " tokens, " << r.lookups
      << " lookups, " << r.distinct_rows << " distinct rows of " << table_rows << ")\n"
      << "  policy " << o.policy << ", HBM cache " << o.cache_rows << " rows, batch " << o.batch << ", prefetch "
      << o.prefetch << ", hw " << o.hw << "\n";
  auto pct = [](double x) { return std::to_string(int(std::lround(x * 1000)) / 10.0).substr(0, 5) + "%"; };
  print_table(out, {"tier", "hit rate", "lookups", "bytes"},
              {{"hbm", pct(r.hbm.hit_rate), std::to_string(r.hbm.lookups), std::to_string(r.hbm.bytes)},
               {"dram", pct(r.dram.hit_rate), std::to_string(r.dram.lookups), std::to_string(r.dram.bytes)},
               {"nvme", pct(r.nvme.hit_rate), std::to_string(r.nvme.lookups), std::to_string(r.nvme.bytes)}});
  out << "  PCIe " << r.link_bytes_per_token << " B/token, stall " << report::format_seconds(r.stall_per_token_s)
      << "/token (p99 step " << report::format_seconds(r.stall_p99_s) << ", " << pct(r.stalled_step_fraction)
      << " of steps stalled)  [modelled]  run " << j["run_id"] << "\n";
  return 0;
}

nlohmann::json pipeline_json(const kernels::EngramPipelineResult& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (auto& s : r.steps)
    steps.push_back({{"rows", s.rows}, {"bytes", s.bytes}, {"hash_s", s.hash_s}, {"gather_s", s.gather_s},
                     {"copy_s", s.copy_s}, {"compute_s", s.compute_s}, {"exposed_s", s.exposed_s},
                     {"overlap", s.overlap}});
  return {{"mode", kernels::engram_pipeline_mode_name(r.mode)}, {"engine", r.engine}, {"table_rows", r.table_rows},
          {"table_bytes", r.table_bytes}, {"wall_s", r.wall_s}, {"engram_s", r.engram_s}, {"exposed_s", r.exposed_s},
          {"compute_s", r.compute_s}, {"overlap", r.overlap}, {"max_row_id", r.max_row_id},
          {"compute_kernel", {{"op", "gemm_fp8"}, {"m", r.compute_m}, {"k", r.compute_k}, {"n", r.compute_n},
                              {"reps", r.compute_reps}, {"unit_s", r.compute_unit_s}}},
          {"steps", steps}, {"label", "measured"}};
}

int run_pipeline(Context& ctx, const PipelineOpts& o) {
  kernels::EngramPipelineParams p;
  p.steps = o.steps, p.rows_per_step = o.rows_per_step, p.row_bytes = o.row_bytes, p.table_rows = o.table_rows;
  p.compute_ms = o.compute_ms, p.compute_threads = o.compute_threads, p.prefetch_distance = o.prefetch_distance;
  p.max_ngram = o.max_ngram, p.heads = o.heads, p.seed = o.seed;
  p.engine = o.engine == "cuda" ? kernels::EngramCopyEngine::Cuda : kernels::EngramCopyEngine::Thread;
  std::vector<kernels::EngramPipelineMode> modes;
  if (o.mode != "prefetch") modes.push_back(kernels::EngramPipelineMode::Serial);
  if (o.mode != "serial") modes.push_back(kernels::EngramPipelineMode::Prefetch);
  std::vector<kernels::EngramPipelineResult> res;
  for (auto m : modes) res.push_back(kernels::engram_pipeline_run(p, m));

  nlohmann::json cfg = {{"steps", o.steps}, {"rows_per_step", o.rows_per_step}, {"row_bytes", o.row_bytes},
                        {"table_rows_requested", o.table_rows}, {"compute_ms", o.compute_ms}, {"mode", o.mode},
                        {"prefetch_distance", o.prefetch_distance}, {"compute_threads", o.compute_threads},
                        {"engine", o.engine}, {"max_ngram", o.max_ngram}, {"heads", o.heads}, {"seed", o.seed}};
  nlohmann::json j = {{"command", "engram pipeline"}, {"config", cfg}, {"runs", nlohmann::json::array()}};
  for (auto& r : res) j["runs"].push_back(pipeline_json(r));
  if (res.size() == 2 && res[0].exposed_s > 0) j["exposed_reduction"] = 1.0 - res[1].exposed_s / res[0].exposed_s;

  store::Store db(ctx.db_path);
  store::RunRecord rec;
  rec.info.kind = "engram";
  rec.info.name = "pipeline " + o.mode;
  rec.info.backends = o.engine == "cuda" ? "cpu,cuda" : "cpu";
  rec.info.seed = o.seed;
  rec.info.config_json = cfg.dump();
  for (auto& r : res) {
    std::vector<double> ex;
    for (auto& s : r.steps) ex.push_back(s.exposed_s);
    std::sort(ex.begin(), ex.end());
    auto q = [&](double f) { return ex[std::min(ex.size() - 1, size_t(f * double(ex.size() - 1) + 0.5))]; };
    store::Measurement m;
    m.op = std::string("engram_pipeline_") + kernels::engram_pipeline_mode_name(r.mode);
    m.backend = o.engine == "cuda" ? "cuda" : "cpu";
    m.params_json = cfg.dump();
    m.median_s = q(0.5), m.p10_s = q(0.1), m.p90_s = q(0.9), m.min_s = ex.front();
    m.reps = int64_t(r.steps.size());
    m.bytes = double(o.rows_per_step * o.row_bytes);
    m.gbytes_per_s = r.engram_s > 0 ? double(o.rows_per_step * o.row_bytes) * double(r.steps.size()) / r.engram_s / 1e9
                                    : store::kUnknown;
    m.counters_json = nlohmann::json({{"engram_s", r.engram_s}, {"exposed_s", r.exposed_s}, {"compute_s", r.compute_s},
                                      {"wall_s", r.wall_s}, {"overlap", r.overlap}, {"note", "median_s = exposed s/step"}})
                          .dump();
    m.verified = r.max_row_id < uint64_t(r.table_rows);
    m.thread_count = o.compute_threads + (r.mode == kernels::EngramPipelineMode::Prefetch ? 1 : 0);
    rec.measurements.push_back(m);
  }
  j["run_id"] = db.write_run(rec);

  std::ostream& out = *ctx.out;
  if (ctx.json) {
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "engram pipeline: " << o.steps << " steps x " << o.rows_per_step << " rows x " << o.row_bytes
      << " B, table " << res[0].table_rows << " rows (" << res[0].table_bytes / 1e9 << " GB), compute gemm_fp8 x"
      << res[0].compute_reps << " (~" << o.compute_ms << " ms)\n";
  std::vector<std::vector<std::string>> rows;
  for (auto& r : res) {
    const double n = double(r.steps.size());
    double h = 0, g = 0, c = 0;
    for (auto& s : r.steps) h += s.hash_s, g += s.gather_s, c += s.copy_s;
    rows.push_back({kernels::engram_pipeline_mode_name(r.mode), report::format_seconds(h / n),
                    report::format_seconds(g / n), report::format_seconds(c / n),
                    report::format_seconds(r.compute_s / n), report::format_seconds(r.exposed_s / n),
                    std::to_string(int(std::lround(r.overlap * 100))) + "%"});
  }
  print_table(out, {"mode", "hash/step", "gather/step", "copy/step", "compute/step", "exposed/step", "overlap"}, rows);
  if (j.contains("exposed_reduction"))
    out << "  exposed Engram time reduced by " << std::lround(j["exposed_reduction"].get<double>() * 100)
        << "% (prefetch vs serial)  [measured]  run " << j["run_id"] << "\n";
  return 0;
}

}  // namespace

void add_engram_command(CLI::App& app, Context& ctx) {
  auto* eng = app.add_subcommand("engram", "Engram host-RAM table: cache simulator and prefetch pipeline");
  eng->require_subcommand(1);

  auto co = std::make_shared<CacheSimOpts>();
  auto* cs = eng->add_subcommand("cache-sim", "Replay a Zipf or real-text trace through HBM/DRAM/NVMe tiers "
                                              "(modelled; specs/engram.md §10)");
  cs->add_option("--source", co->source, "Trace: zipf (synthetic unigrams) | corpus (real text)")
      ->capture_default_str()->check(CLI::IsMember({"zipf", "corpus"}));
  cs->add_option("--zipf-s", co->zipf_s, "Zipf exponent s of the unigram model (s = 1 is an assumption)")
      ->capture_default_str()->check(CLI::Range(0.0, 4.0));
  cs->add_option("--zipf-vocab", co->zipf_vocab, "Vocabulary of the Zipf model")
      ->capture_default_str()->check(CLI::Range(int64_t(2), int64_t(1) << 28));
  cs->add_option("--tokens", co->tokens, "Tokens in the trace (zipf; corpus: default the whole corpus)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(100000000)));
  cs->add_option("--corpus", co->corpus, "Text file or directory (Debian package `fortunes`)")->capture_default_str();
  cs->add_option("--cache-rows", co->cache_rows, "HBM hot-cache capacity in rows")
      ->capture_default_str()->check(CLI::Range(int64_t(0), int64_t(1) << 32));
  cs->add_option("--dram-rows", co->dram_rows, "Host DRAM tier capacity in rows (-1: the whole table)")
      ->capture_default_str()->check(CLI::Range(int64_t(-1), int64_t(1) << 32));
  cs->add_option("--policy", co->policy, "HBM cache policy: none | lru | lfu (with aging) | static (pinned top rows)")
      ->capture_default_str()->check(CLI::IsMember({"none", "lru", "lfu", "static"}));
  cs->add_option("--table-rows", co->table_rows, "Requested table rows (the real table is the sum of §3 primes)")
      ->capture_default_str()->check(CLI::Range(int64_t(64), int64_t(1) << 32));
  cs->add_option("--row-bytes", co->row_bytes, "Bytes per row (FP8 D = 256: 264)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cs->add_option("--max-ngram", co->max_ngram, "N of the hash (orders 2..N)")->capture_default_str()->check(CLI::Range(2, 8));
  cs->add_option("--heads", co->heads, "Hash heads K per order")->capture_default_str()->check(CLI::Range(1, 64));
  cs->add_option("--batch", co->batch, "Tokens per step")->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cs->add_option("--prefetch", co->prefetch, "Prefetch distance d in steps (0: fetch starts with the step)")
      ->capture_default_str()->check(CLI::Range(0, 1024));
  cs->add_flag("--no-dedup", co->no_dedup, "Do not deduplicate row ids within a step")->capture_default_str();
  cs->add_option("--lfu-half-life", co->lfu_half_life, "LFU aging half-life in accesses (0: no aging)")
      ->capture_default_str()->check(CLI::Range(0.0, 1e15));
  cs->add_option("--hw", co->hw, "Hardware preset giving host link bandwidth and latency")->capture_default_str();
  cs->add_option("--step-us", co->step_us, "Compute time of one step, µs (assumption)")
      ->capture_default_str()->check(CLI::Range(0.0, 1e9));
  cs->add_option("--slack-us", co->slack_us, "Compute before the Engram layer within a step, µs (assumption)")
      ->capture_default_str()->check(CLI::Range(0.0, 1e9));
  cs->add_option("--gather-ns-per-row", co->gather_ns_per_row, "Host gather cost per row, ns (assumption)")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cs->add_option("--link-util", co->link_util, "Background PCIe utilization (KV offload, expert streaming)")
      ->capture_default_str()->check(CLI::Range(0.0, 0.99));
  cs->add_option("--nvme-gbs", co->nvme_gbs, "NVMe read bandwidth, GB/s (assumption)")
      ->capture_default_str()->check(CLI::Range(0.001, 1e4));
  cs->add_option("--nvme-iops", co->nvme_iops, "NVMe random-read IOPS (assumption)")
      ->capture_default_str()->check(CLI::Range(1.0, 1e12));
  cs->add_option("--nvme-latency-us", co->nvme_latency_us, "NVMe read latency, µs (assumption)")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cs->add_option("--seed", co->seed, "Seed of the Zipf trace and the hash multipliers")->capture_default_str();
  cs->callback([&ctx, co, cs] {
    const bool tokens_given = cs->count("--tokens") > 0;
    ctx.action = [&ctx, co, tokens_given] { return run_cache_sim(ctx, *co, tokens_given); };
  });

  auto po = std::make_shared<PipelineOpts>();
  auto* pl = eng->add_subcommand("pipeline", "Measure the host-table prefetch pipeline: hash + gather + copy "
                                             "overlapped with a real compute kernel (specs/engram.md §9)");
  pl->add_option("--steps", po->steps, "Steps (one Engram layer each)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(100000)));
  pl->add_option("--rows-per-step", po->rows_per_step, "Rows gathered per step (V4.1-like 256-token decode: 6144)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  pl->add_option("--row-bytes", po->row_bytes, "Bytes per row")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  pl->add_option("--table-rows", po->table_rows, "Requested table rows (refused when it does not fit in RAM)")
      ->capture_default_str()->check(CLI::Range(int64_t(64), int64_t(1) << 32));
  pl->add_option("--compute-ms", po->compute_ms, "Target duration of the concurrent compute kernel per step, ms")
      ->capture_default_str()->check(CLI::Range(0.0, 10000.0));
  pl->add_option("--mode", po->mode, "serial | prefetch | both")
      ->capture_default_str()->check(CLI::IsMember({"serial", "prefetch", "both"}));
  pl->add_option("--prefetch-distance", po->prefetch_distance, "Steps ahead the copy thread may fetch")
      ->capture_default_str()->check(CLI::Range(0, 64));
  pl->add_option("--compute-threads", po->compute_threads, "OpenMP threads of the compute kernel")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  pl->add_option("--engine", po->engine, "Copy engine: thread (host arena) | cuda (pinned H2D on a copy stream)")
      ->capture_default_str()->check(CLI::IsMember({"thread", "cuda"}));
  pl->add_option("--max-ngram", po->max_ngram, "N of the hash")->capture_default_str()->check(CLI::Range(2, 8));
  pl->add_option("--heads", po->heads, "Hash heads K per order")->capture_default_str()->check(CLI::Range(1, 64));
  pl->add_option("--seed", po->seed, "Seed of the token ids")->capture_default_str();
  pl->callback([&ctx, po] { ctx.action = [&ctx, po] { return run_pipeline(ctx, *po); }; });
}

}  // namespace v4lab::cli
