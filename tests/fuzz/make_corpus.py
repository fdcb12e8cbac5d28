#!/usr/bin/python3
# make_corpus.py — regenerates the seed corpus under tests/fuzz/corpus/ (docs/fuzzing.md). Needs numpy
# (/usr/bin/python3 on Debian). Scenario seeds are copies of scenarios/*.toml and tests/bad_inputs/scenarios.
import os, random, shutil, struct, glob
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
corpus = os.path.join(here, "corpus")
rng = random.Random(10)

def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# scenario: the shipped scenarios, the bad-input cases, two small hand-written ones
for p in sorted(glob.glob(os.path.join(root, "scenarios", "*.toml")) +
                glob.glob(os.path.join(root, "tests", "bad_inputs", "scenarios", "*.toml"))):
    put("scenario", os.path.basename(p), open(p, "rb").read())
put("scenario", "minimal.toml", '[scenario]\nname = "m"\nmodel = "deepseek_v4_flash"\nhardware = ["h800_sxm"]\n'
    'backends = ["ref"]\n\n[[kernel]]\nop = "rmsnorm"\nn_tokens = 13\n')
put("scenario", "v3_topk.toml", '[scenario]\nname = "t"\nmodel = "deepseek_v32"\nhardware = ["local", "b200"]\n'
    'seed = 3\nbackends = ["cpu"]\nverify = false\n[timing]\nwarmup = 0\nmin_reps = 1\nmax_reps = 2\n'
    'min_time_s = 0.0\n\n[[kernel]]\nop = "moe_gate_topk"\n')

# npy: every accepted dtype, 0-d / empty / 3-d shapes, a v2.0 header, and three malformed files
def npy_bytes(a, version=1):
    import io
    b = io.BytesIO()
    np.lib.format.write_array(b, a, version=(version, 0))
    return b.getvalue()
put("npy", "f32_2x3.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3)))
put("npy", "f64_4.npy", npy_bytes(np.array([0.5, -1.0, np.inf, np.nan], dtype="<f8")))
put("npy", "i32_scalar.npy", npy_bytes(np.array(7, dtype="<i4")))
put("npy", "i64_empty.npy", npy_bytes(np.zeros((0, 5), dtype="<i8")))
put("npy", "u8_3x2x2.npy", npy_bytes(np.arange(12, dtype="u1").reshape(3, 2, 2)))
put("npy", "u16_bf16_5.npy", npy_bytes(np.array([0x3f80, 0x4000, 0x7f80, 0xffc0, 0], dtype="<u2")))
put("npy", "f32_v2.npy", npy_bytes(np.ones((2, 2), dtype="<f4"), version=2))
put("npy", "truncated.npy", npy_bytes(np.ones((16,), dtype="<f4"))[:-7])
put("npy", "fortran.npy", npy_bytes(np.asfortranarray(np.ones((2, 3), dtype="<f4"))))
put("npy", "bad_magic.npy", b"\x93NUMPX\x01\x00" + npy_bytes(np.ones(1, dtype="<f4"))[8:])

# kv_decode: selector + layout header + page bytes (tests/fuzz/fuzz_kv_decode.cpp); plausible FP8 codes,
# UE8M0 scales near 2^0 and BF16 RoPE values, so the fuzzer starts from pages a V4 / V3.2 cache holds
def fp8_codes(n): return bytes(rng.choice([0x00, 0x38, 0xb8, 0x40, 0x7e, 0x01, 0x7f]) if rng.random() < 0.1
                               else rng.randrange(0, 0x7e) | (0x80 if rng.random() < 0.5 else 0) for _ in range(n))
def bf16s(n): return b"".join(struct.pack("<H", struct.unpack("<I", struct.pack("<f", rng.gauss(0, 1)))[0] >> 16) for _ in range(n))
def v4_kv_page(d_head, d_rope, P):
    nope = d_head - d_rope; tiles = nope // 64; sb = (tiles + 7) // 8 * 8; db = nope + 2 * d_rope
    data = b"".join(fp8_codes(nope) + bf16s(d_rope) for _ in range(P))
    scales = b"".join(bytes(rng.randrange(118, 132) for _ in range(tiles)) + bytes(sb - tiles) for _ in range(P))
    raw = P * (db + sb); page = (raw + db - 1) // db * db
    return data + scales + bytes(page - len(data) - len(scales))
put("kv_decode", "v4_kv_p1.bin", b"\x00" + struct.pack("<hbb", 512, 64, 1) + v4_kv_page(512, 64, 1))
put("kv_decode", "v4_kv_p2.bin", b"\x00" + struct.pack("<hbb", 512, 64, 2) + v4_kv_page(512, 64, 2))
put("kv_decode", "v4_kv_small.bin", b"\x00" + struct.pack("<hbb", 66, 2, 3) + v4_kv_page(66, 2, 3))
put("kv_decode", "v4_kv_bad_layout.bin", b"\x00" + struct.pack("<hbb", 500, 64, 1) + bytes(64))
def v4_idx_page(dim, P):
    return bytes(rng.randrange(256) for _ in range(P * dim // 2)) + bytes(rng.randrange(120, 130) for _ in range(P * dim // 32))
put("kv_decode", "v4_idx_p2.bin", b"\x01" + struct.pack("<hb", 128, 2) + v4_idx_page(128, 2))
put("kv_decode", "v4_idx_p4_d64.bin", b"\x01" + struct.pack("<hb", 64, 4) + v4_idx_page(64, 4))
put("kv_decode", "v4_idx_bad_dim.bin", b"\x01" + struct.pack("<hb", 96, 1) + bytes(52))
def v32_mla():
    return fp8_codes(512) + b"".join(struct.pack("<f", 2.0 ** rng.randrange(-8, 4)) for _ in range(4)) + bf16s(64)
put("kv_decode", "v32_mla_1.bin", b"\x02" + v32_mla())
put("kv_decode", "v32_mla_2.bin", b"\x02" + v32_mla() + v32_mla())
put("kv_decode", "v32_idx_page.bin", b"\x03" + fp8_codes(64 * 128) +
    b"".join(struct.pack("<f", 2.0 ** rng.randrange(-10, 2)) for _ in range(64)))

# cli: argv, one argument per line
for name, argv in {
    "info": ["info"], "info_json": ["--json", "info"], "version": ["--version"], "help": ["--help"],
    "predict_flash": ["predict", "--model", "deepseek_v4_flash", "--hw", "h800_sxm", "--batch", "64", "--context", "32768"],
    "predict_prefill": ["--json", "predict", "--model", "deepseek_v4_pro", "--phase", "prefill", "--chunk", "4096",
                        "--tp", "8", "--gpus", "16", "--overlap", "--no-save"],
    "predict_bad": ["predict", "--model", "nope", "--batch", "-1"],
    "predict_mtp": ["predict", "--model", "deepseek_v32", "--mtp-accept", "0.7", "--kv-hit-rate", "0.5", "--trace", "t.json"],
    "db_list": ["db", "list", "-n", "3"], "db_schema": ["--json", "db", "schema"], "db_migrate": ["db", "migrate"],
    "db_export": ["db", "export", "latest", "-f", "csv", "-o", "x.csv"],
    "report_latest": ["report", "latest", "--format", "html"], "compare": ["compare", "1", "2"],
    "run_help": ["run", "scenarios/quickstart.toml"], "kernel": ["kernel", "mhc_pre", "--backend", "cpu"],
    "sweep_status": ["sweep", "status"], "study_topk": ["study", "topk"], "plan": ["plan", "--model", "deepseek_v4_flash"],
    "unknown": ["frobnicate", "--json"], "no_sub": ["--quiet"],
}.items():
    put("cli", name + ".txt", "\n".join(argv))
print("corpus written to", corpus)
