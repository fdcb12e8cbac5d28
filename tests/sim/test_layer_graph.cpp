// test_layer_graph.cpp — the step DAG follows the preset's arrays (attention.md §4.1 layer counts),
// nodes come from the op catalogue, streams are assigned, and the graph is acyclic in priority order.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "core/presets.h"
#include "sim/layer_graph.h"

using namespace v4lab;
using namespace v4lab::sim;

static std::map<std::string, int> count_kinds(const std::vector<LayerSpec>& ls, bool mtp) {
  std::map<std::string, int> c;
  for (auto& l : ls)
    if (l.mtp == mtp) {
      ++c[l.attn_kind];
      ++c["moe:" + l.moe_kind];
    }
  return c;
}

TEST_CASE("layer schedule: Flash and Pro counts of swa/csa/hca/hash layers (attention.md §4.1)", "[sim]") {
  const std::string data = default_data_dir();
  auto flash = count_kinds(layer_schedule(load_model_preset("deepseek_v4_flash", data)), false);
  REQUIRE(flash["swa"] == 2);
  REQUIRE(flash["csa"] == 21);
  REQUIRE(flash["hca"] == 20);
  REQUIRE(flash["moe:hash"] == 3);
  REQUIRE(flash["moe:moe"] == 40);
  auto pro = count_kinds(layer_schedule(load_model_preset("deepseek_v4_pro", data)), false);
  REQUIRE(pro["swa"] == 0);
  REQUIRE(pro["csa"] == 30);
  REQUIRE(pro["hca"] == 31);
  REQUIRE(pro["moe:hash"] == 3);
  auto pro_mtp = count_kinds(layer_schedule(load_model_preset("deepseek_v4_pro", data)), true);
  REQUIRE(pro_mtp["swa"] == 1);
  REQUIRE(pro_mtp["moe:moe"] == 1);  // the MTP block is never hash-routed
  auto v3 = count_kinds(layer_schedule(load_model_preset("deepseek_v3", data)), false);
  REQUIRE(v3["mla"] == 61);
  REQUIRE(v3["moe:dense"] == 3);
}

TEST_CASE("step graph: every layer's nodes, streams and a topological priority order", "[sim]") {
  const std::string data = default_data_dir();
  const ModelPreset m = load_model_preset("deepseek_v4_pro", data);
  Deployment dep;
  dep.gpus = dep.dp = dep.ep = 8;
  Workload wl;
  wl.batch = 64;
  wl.context = 32768;
  const StepGraph g = build_step_graph(m, dep, wl);
  REQUIRE(g.missing_ops.empty());
  std::map<std::string, int> ops;
  std::set<int> layers;
  int comm = 0;
  for (auto v : boost::make_iterator_range(boost::vertices(g.dag))) {
    const OpNode& n = g.dag[v];
    ++ops[n.op];
    layers.insert(n.layer);
    if (n.stream == StreamId::Comm) ++comm;
    if (n.op != "ep_dispatch" && n.op != "ep_combine" && n.op != "tp_allreduce" && n.op != "engram_h2d")
      REQUIRE(find_op(n.op) != nullptr);
  }
  REQUIRE(layers.size() == 62 + 1);      // 61 layers + MTP + head (-1)
  REQUIRE(ops["mhc_pre"] == 2 * 62);     // two sites per layer (mhc.md: S = 2·n_layers + 2)
  REQUIRE(ops["attn_sparse"] == 62);
  REQUIRE(ops["attn_csa_indexer"] == 30);
  REQUIRE(ops["attn_compress"] == 30 * 2 + 31);  // CSA main + indexer, HCA main
  REQUIRE(ops["moe_experts"] == 62);
  REQUIRE(comm == 2 * 62);               // dispatch + combine per MoE layer
  for (size_t i = 0; i < g.order.size(); ++i) {
    const int v = g.order[i];
    for (int j = g.pred_begin[v]; j < g.pred_begin[v + 1]; ++j) REQUIRE(g.preds[j] != v);
  }
  // Two micro-batches double the nodes.
  dep.overlap = true;
  const StepGraph g2 = build_step_graph(m, dep, wl);
  REQUIRE(g2.micro_batches == 2);
  REQUIRE(g2.works.size() == 2 * g.works.size());
}

TEST_CASE("layer graph: one layer alone, EP 1 has no comm nodes", "[sim]") {
  const ModelPreset m = load_model_preset("deepseek_v4_flash", default_data_dir());
  const auto ls = layer_schedule(m);
  Deployment dep;
  Workload wl;
  const Dag g = build_layer_graph(m, dep, wl, ls[2]);  // CSA layer
  int comm = 0, idx = 0;
  for (auto v : boost::make_iterator_range(boost::vertices(g))) {
    comm += g[v].stream == StreamId::Comm;
    idx += g[v].op == "attn_csa_indexer";
  }
  REQUIRE(comm == 0);
  REQUIRE(idx == 1);
}
