#!/usr/bin/env python3
"""recompute_mhc.py DUMP_DIR — recompute `v4lab kernel mhc_pre --dump DUMP_DIR` outputs with NumPy in
float64, independently of v4lab's C++ code, from shared/specs/mhc.md (hc_pre, V4 Sinkhorn loop), and
compare them with the dumped outputs. Exit 0 when they agree within the spec's tolerances, 1 otherwise.
BF16 tensors in the dump are uint16 bit patterns (value = float32 from bits << 16)."""
import json
import os
import sys

import numpy as np


def load(d, meta, kind, name):
    entry = next(t for t in meta[kind] if t["name"] == name)
    a = np.load(os.path.join(d, entry["file"]))
    if entry["dtype"] == "bf16":
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float64)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def main(d):
    meta = json.load(open(os.path.join(d, "params.json")))
    assert meta["op"] == "mhc_pre", "this script recomputes mhc_pre dumps"
    p = meta["params"]
    T, n, D, iters = int(p["n_tokens"]), int(p["hc"]), int(p["d_model"]), int(p["iters"])
    hc_eps = float(p.get("hc_eps", 1e-6))
    norm_eps = float(p.get("norm_eps", p.get("rms_eps", 1e-6)))
    X = load(d, meta, "inputs", "X").reshape(T, n * D)
    fn = load(d, meta, "inputs", "fn").reshape(-1, n * D)
    base = load(d, meta, "inputs", "base")
    scale = load(d, meta, "inputs", "scale")
    r = 1.0 / np.sqrt((X ** 2).mean(axis=1) + norm_eps)          # step 2
    mixes = (X @ fn.T) * r[:, None]                                # step 3: GEMM, then rms factor
    pre = sigmoid(scale[0] * mixes[:, :n] + base[:n]) + hc_eps     # step 4
    post = 2.0 * sigmoid(scale[1] * mixes[:, n:2 * n] + base[n:2 * n])
    L = scale[2] * mixes[:, 2 * n:].reshape(T, n, n) + base[2 * n:].reshape(n, n)
    S = np.exp(L - L.max(axis=2, keepdims=True))                   # Sinkhorn as V4 ships it
    S = S / S.sum(axis=2, keepdims=True) + hc_eps
    S = S / (S.sum(axis=1, keepdims=True) + hc_eps)
    for _ in range(iters - 1):
        S = S / (S.sum(axis=2, keepdims=True) + hc_eps)
        S = S / (S.sum(axis=1, keepdims=True) + hc_eps)
    got_pre = load(d, meta, "outputs", "pre").reshape(T, n)
    # Step 6 is recomputed with the backend's own pre (checked on its own just below): y depends on
    # pre linearly, and where Σ_i pre_i·X_i cancels to almost zero, the allowed 2e-5 error in pre
    # alone would exceed a BF16 ulp of the tiny result.
    Xs = X.reshape(T, n, D)
    y = np.einsum("ti,tic->tc", got_pre, Xs)
    y_abs = np.einsum("ti,tic->tc", np.abs(got_pre), np.abs(Xs))

    ok = True
    def report(name, got, want, bound):
        nonlocal ok
        err = np.abs(got - want)
        bad = int((err > bound).sum())
        ok = ok and bad == 0
        print(f"{name:6s} max_abs={err.max() if err.size else 0:.3e} violations={bad}/{err.size}")

    report("pre", got_pre, pre, 2e-5)
    report("post", load(d, meta, "outputs", "post").reshape(T, n), post, 2e-5)
    report("comb", load(d, meta, "outputs", "comb").reshape(T, n, n), S, 1e-5)
    # y is BF16: within 2 BF16 ulps of the float64 value (1 ulp for rounding, 1 for FP32 accumulation),
    # the ulp taken at the larger magnitude of the two (a value just below a power of two may round up
    # across it); near zero, the FP32 accumulation bound 2(n+1)·2^-24·Σ|pre_i·X_i| (the C++ check's).
    got_y = load(d, meta, "outputs", "y").reshape(T, D)
    mag = np.maximum(np.maximum(np.abs(y), np.abs(got_y)), 2.0 ** -126)
    ulp = np.exp2(np.floor(np.log2(mag)) - 7)
    report("y", got_y, y, np.maximum(2 * ulp, 2 * (n + 1) * 2.0 ** -24 * y_abs))
    print("recompute_mhc:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
