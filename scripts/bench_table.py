#!/usr/bin/env python3
"""bench_table.py — turn `v4lab --json bench ...` output (stdin or a file) into the Markdown table that
docs/performance.md shows: one row per (case, backend) with median, GFLOP/s, GB/s, the share of this
machine's measured roofline for the bound the cost model predicts, the prediction and its error, the
speedup over _ref, and verification. Standard library only.
Usage: build/bin/v4lab --json --db bench.db bench ... | scripts/bench_table.py > table.md"""
import json
import sys


def fmt_s(s):
    if s is None:
        return ""
    for unit, f in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= f:
            return f"{s / f:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def main():
    data = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
    print("| op | shape | backend | median | GFLOP/s | GB/s | roofline | predicted (local) | pred. error | vs ref | verify |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in data["rows"]:
        if "skipped" in r:
            print(f"| {r['op']} | {r.get('shape', '')} | {r['backend']} | skipped | | | | | | | {r['skipped']} |")
            continue
        roof = f"{100 * r['roofline_share']:.0f}% {'bw' if r['roofline_bound'] == 'memory' else 'peak'}" \
            if "roofline_share" in r else ""
        err = f"{100 * r['prediction_error']:+.0f}%" if "prediction_error" in r else ""
        sp = f"{r['speedup_vs_ref']:.1f}x" if "speedup_vs_ref" in r else ""
        if "verified" in r:
            ver = ("pass" if r["verified"] else "FAIL") + (f" @{r['verified_at']}" if "verified_at" in r else "")
        else:
            ver = "reference" if r["backend"] == "ref" else "not checked"
        pred = f"{fmt_s(r.get('predicted_local_s'))} ({r.get('roofline_bound', '')})"
        print(f"| {r['op']} | {r.get('shape', '')} | {r['backend']} | {fmt_s(r['median_s'])} | {r['gflops_per_s']:.2f} "
              f"| {r['gbytes_per_s']:.2f} | {roof} | {pred} | {err} | {sp} | {ver} |")


if __name__ == "__main__":
    main()
