#!/usr/bin/env python3
"""exec_errors.py — per-layer-type error of `v4lab --json exec` summaries (docs/exec.md).

Usage: scripts/exec_errors.py RUN.json [RUN.json ...]
Prints, per run, the median |error| over the layer types of each phase (embed, which has no
prediction, left out, as in the run's own summary) and every layer type's signed error.
"""
import json
import sys


def main(paths):
    if not paths:
        sys.exit("usage: exec_errors.py RUN.json [RUN.json ...]")
    for path in paths:
        with open(path) as f:
            j = json.load(f)
        cells = [path, j["model"]]
        for phase in ("prefill", "decode"):
            types = j["by_layer_type"][phase]
            errs = ", ".join("%s %+.0f%%" % (t, 100 * v["error"]) for t, v in sorted(types.items()) if t != "embed")
            cells.append("%s median %.0f%% [%s]" % (phase, 100 * j["median_abs_error_by_layer_type"][phase], errs))
        print(" | ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:])
