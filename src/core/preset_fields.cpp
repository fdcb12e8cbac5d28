// preset_fields.cpp — the schema of the preset files: provenance kinds, the canonical hardware field
// keys (with unit and help text) and the known model fields (HF config.json names plus v4lab's
// schedule/derived fields). The loaders validate against these tables; docs/presets.md mirrors them.
#include "core/presets.h"

namespace v4lab {

const std::vector<std::string>& quantity_kinds() {
  static const std::vector<std::string> k = {"datasheet", "published",   "config",    "derived",
                                             "measured",  "approximate", "assumption"};
  return k;
}

// Bandwidths are per direction unless the key ends in _total_gbs (presets spec §1).
const std::vector<HardwareFieldHelp>& hardware_field_help() {
  static const std::vector<HardwareFieldHelp> f = {
      {"fp64_tflops", "TFLOPS", "FP64 non-tensor peak (absent where not recorded)"},
      {"fp32_tflops", "TFLOPS", "FP32 non-tensor peak (an FMA counts 2 FLOP)"},
      {"tf32_dense_tflops", "TFLOPS", "TF32 tensor-core peak, dense"},
      {"tf32_sparse_tflops", "TFLOPS", "TF32 tensor-core peak with 2:4 sparsity (never used by default)"},
      {"bf16_dense_tflops", "TFLOPS", "BF16 tensor-core peak, dense"},
      {"bf16_sparse_tflops", "TFLOPS", "BF16 tensor-core peak with 2:4 sparsity (never used by default)"},
      {"fp8_dense_tflops", "TFLOPS", "FP8 tensor-core peak, dense"},
      {"fp8_sparse_tflops", "TFLOPS", "FP8 tensor-core peak with 2:4 sparsity (never used by default)"},
      {"fp4_dense_tflops", "TFLOPS", "FP4 tensor-core peak, dense (absent where unsupported)"},
      {"fp4_sparse_tflops", "TFLOPS", "FP4 tensor-core peak with 2:4 sparsity (never used by default)"},
      {"boost_clock_mhz", "MHz", "clock the datasheet peaks assume"},
      {"mem_capacity_gb", "GB", "device memory capacity (HBM; DRAM for a CPU device)"},
      {"mem_bw_gbs", "GB/s", "device memory bandwidth (HBM; DRAM streaming for a CPU device)"},
      {"mem_bw_per_numa_gbs", "GB/s", "streaming bandwidth of one NUMA node (CPU device)"},
      {"mem_latency_ns", "ns", "random-access latency, pointer chase (CPU device)"},
      {"row_gather_gbs", "GB/s", "random row-gather throughput, 128-512 B rows, best thread count (CPU device)"},
      {"l2_mb", "MB", "L2 cache (GPU); last-level cache (CPU device)"},
      {"cache_l1d_kb", "KB", "L1 data cache per core (CPU device)"},
      {"cache_l2_kb", "KB", "L2 cache per core (CPU device)"},
      {"sm_count", "count", "streaming multiprocessors (GPU)"},
      {"cpu_cores", "count", "physical cores (CPU device)"},
      {"cpu_threads", "count", "hardware threads (CPU device)"},
      {"cpu_sockets", "count", "sockets (CPU device)"},
      {"numa_nodes", "count", "NUMA nodes (CPU device)"},
      {"nvlink_gbs", "GB/s", "NVLink bandwidth per GPU, per direction"},
      {"nvlink_total_gbs", "GB/s", "NVLink bandwidth per GPU, both directions together"},
      {"nvlink_achievable_gbs", "GB/s", "NVLink bandwidth achieved by a real collective, per direction"},
      {"nvlink_domain_gpus", "count", "GPUs in one NVLink domain"},
      {"host_link_gbs", "GB/s", "host link (PCIe / NVLink-C2C) per GPU, per direction"},
      {"host_link_total_gbs", "GB/s", "host link per GPU, both directions together"},
      {"host_link_shared_total_gbs", "GB/s", "host link of a superchip shared by its GPUs, both directions"},
      {"host_link_latency_us", "us", "latency of one small host<->device transfer"},
      {"nic_gbs", "GB/s", "scale-out NIC bandwidth per GPU, per direction"},
      {"nic_achievable_gbs", "GB/s", "NIC bandwidth achieved by a real collective, per direction"},
      {"nics_per_node", "count", "scale-out NICs per node"},
      {"gpus_per_node", "count", "GPUs per node (server or compute tray)"},
      {"host_cpu_cores", "count", "host CPU cores per node"},
      {"host_sockets", "count", "host CPU sockets (or Grace CPUs) per node"},
      {"host_dram_gb", "GB", "host DRAM per node"},
      {"host_dram_bw_gbs", "GB/s", "host DRAM bandwidth per node (all sockets)"},
      {"nvme_seq_read_gbs", "GB/s", "NVMe sequential read bandwidth"},
      {"nvme_rand_read_iops", "IOPS", "NVMe 4 KB random reads per second (O_DIRECT)"},
      {"tdp_w", "W", "board power limit per GPU (package power for a CPU device)"},
      {"price_usd_per_gpu_hour", "USD/h", "rental price per GPU-hour"},
      {"launch_overhead_us", "us", "fixed cost per kernel launch (GPU) or parallel region (CPU)"},
  };
  return f;
}

const std::vector<ModelFieldHelp>& model_field_help() {
  static const std::vector<ModelFieldHelp> f = {
      // --- HF config.json: identity and dtypes
      {"architectures", "array", "HF model class names"},
      {"model_type", "string", "HF model type"},
      {"torch_dtype", "string", "checkpoint dtype of non-quantized weights"},
      {"quantization_config", "table", "weight quantization (quant_method, fmt, scale_fmt, weight_block_size)"},
      {"expert_dtype", "string", "routed-expert weight format in the inference config (fp4 / fp8)"},
      {"tie_word_embeddings", "boolean", "LM head shares the embedding"},
      {"bos_token_id", "integer", "begin-of-sequence token id"},
      {"eos_token_id", "integer", "end-of-sequence token id"},
      {"initializer_range", "number", "init std"},
      {"use_cache", "boolean", "HF generation flag"},
      {"pretraining_tp", "integer", "HF tensor-parallel degree used in pretraining"},
      // --- backbone
      {"vocab_size", "integer", "vocabulary size"},
      {"hidden_size", "integer", "d_model"},
      {"intermediate_size", "integer", "dense FFN width"},
      {"num_hidden_layers", "integer", "transformer blocks, MTP excluded"},
      {"num_nextn_predict_layers", "integer", "MTP blocks"},
      {"max_position_embeddings", "integer", "maximum context"},
      {"rms_norm_eps", "number", "RMSNorm epsilon"},
      {"hidden_act", "string", "FFN activation"},
      // --- attention (MLA / DSA / V4 hybrid)
      {"num_attention_heads", "integer", "query heads"},
      {"num_key_value_heads", "integer", "KV heads"},
      {"head_dim", "integer", "head width (V4: 512, of which qk_rope_head_dim rotary)"},
      {"q_lora_rank", "integer", "query latent rank"},
      {"kv_lora_rank", "integer", "MLA KV latent rank"},
      {"o_lora_rank", "integer", "V4 grouped output projection rank"},
      {"o_groups", "integer", "V4 output projection groups"},
      {"qk_nope_head_dim", "integer", "MLA non-rotary query/key width"},
      {"qk_rope_head_dim", "integer", "rotary width"},
      {"v_head_dim", "integer", "MLA value head width"},
      {"attention_bias", "boolean", "bias in attention projections"},
      {"attention_dropout", "number", "attention dropout"},
      {"rope_theta", "number", "RoPE base"},
      {"compress_rope_theta", "number", "RoPE base of V4 compressed (CSA/HCA) layers"},
      {"rope_scaling", "table", "YaRN settings (type, factor, original_max_position_embeddings, beta_fast, ...)"},
      {"sliding_window", "integer", "V4 SWA window"},
      {"compress_ratios", "array", "V4 per-layer compression ratio incl. MTP (0 SWA-only, 4 CSA, 128 HCA)"},
      {"index_n_heads", "integer", "lightning indexer heads"},
      {"index_head_dim", "integer", "lightning indexer head width"},
      {"index_topk", "integer", "indexer top-k"},
      // --- MoE
      {"moe_intermediate_size", "integer", "expert FFN width (d_expert)"},
      {"first_k_dense_replace", "integer", "leading dense-FFN layers (V3/V3.2)"},
      {"moe_layer_freq", "integer", "MoE every n layers"},
      {"n_routed_experts", "integer", "routed experts"},
      {"n_shared_experts", "integer", "shared experts"},
      {"num_experts_per_tok", "integer", "routed experts per token (top_k)"},
      {"n_group", "integer", "expert groups (group-limited routing)"},
      {"topk_group", "integer", "groups kept per token"},
      {"topk_method", "string", "routing method"},
      {"scoring_func", "string", "router score function (softmax, sigmoid, sqrtsoftplus)"},
      {"norm_topk_prob", "boolean", "renormalize the selected weights"},
      {"routed_scaling_factor", "number", "scale on routed output (route_scale)"},
      {"num_hash_layers", "integer", "leading hash-routed layers (V4)"},
      {"swiglu_limit", "number", "clamp of the routed experts' SwiGLU (V4)"},
      {"ep_size", "integer", "HF expert-parallel size"},
      {"aux_loss_alpha", "number", "training auxiliary loss weight"},
      {"seq_aux", "boolean", "sequence-wise auxiliary loss"},
      // --- mHC
      {"hc_mult", "integer", "mHC residual streams (hc)"},
      {"hc_sinkhorn_iters", "integer", "Sinkhorn-Knopp iterations"},
      {"hc_eps", "number", "mHC epsilon (Sinkhorn and pre gate)"},
      // --- v4lab per-layer schedule (length num_hidden_layers + num_nextn_predict_layers)
      {"attn_kind", "array", "per layer: mla, dsa, swa, csa, hca"},
      {"moe_kind", "array", "per layer: dense, hash, moe"},
      // --- v4lab size and cache facts
      {"total_params_b", "number", "total parameters, billions"},
      {"active_params_b", "number", "activated parameters per token, billions"},
      {"mtp_params_b", "number", "extra MTP parameters on the hub, billions"},
      {"kv_entry_bytes", "integer",
       "main cache entry bytes per token (or compressed row) per layer, production format"},
      {"kv_entry_bytes_bf16", "integer", "main cache entry bytes per token per layer in BF16"},
      {"indexer_key_bytes", "integer", "indexer key bytes per entry per layer"},
      {"compressor_state_bytes_csa", "integer", "CSA main compressor decode state per sequence per layer"},
      {"compressor_state_bytes_csa_indexer", "integer", "CSA indexer compressor decode state per sequence per layer"},
      {"compressor_state_bytes_hca", "integer", "HCA compressor decode state per sequence per layer"},
      {"training_tokens_b", "number", "training tokens, billions"},
      // --- Engram (engram spec §1, §7)
      {"engram_layer_ids", "array", "Engram layers: the exact integers used to seed the hash"},
      {"engram_layer_display", "array", "Engram layers as printed in the source"},
      {"engram_max_ngram", "integer", "highest N-gram order N (orders 2..N)"},
      {"engram_heads", "integer", "hash heads per order (K)"},
      {"engram_head_dim", "integer", "table row width (D)"},
      {"engram_d_mem", "integer", "(N-1)*K*D"},
      {"engram_vocab_size_per_order", "array", "table-size seed per order"},
      {"engram_rows_per_layer", "array",
       "table rows of each Engram layer (sum of its primes), one per engram_layer_ids"},
      {"engram_row_dtype", "string", "table row storage format"},
      {"engram_row_bytes", "integer", "bytes per stored row incl. scales"},
      {"engram_params_b", "number", "Engram table parameters, billions"},
      {"engram_conv_kernel", "integer", "short causal conv width"},
      {"engram_conv_dilation", "integer", "short causal conv dilation"},
      {"engram_gate_sign_zero", "string", "sgn(0) convention of the gate"},
      {"engram_gate_norm_eps", "number", "gate RMSNorm epsilon"},
      {"engram_conv_norm_eps", "number", "conv RMSNorm epsilon"},
      {"compressed_vocab_size", "integer", "canonical-id vocabulary size after tokenizer compression"},
      {"compressed_vocab_reduction", "number", "fraction removed by tokenizer compression"},
  };
  return f;
}

}  // namespace v4lab
