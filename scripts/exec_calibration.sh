#!/usr/bin/env bash
# exec_calibration.sh — the per-layer-type error protocol of docs/exec.md ("Calibrated on exec runs"):
# six `v4lab exec` fit runs (two V4-Flash shapes, V3.2, Engram-27B, two V3 shapes), one
# `calibrate --fit` over them, then eight evaluation runs with other seeds, shapes and two models
# never fitted (V4-Pro, V4.1-like), each predicted with the fit. Run it on an idle machine
# (~6 minutes on 2 cores); do not set OMP_WAIT_POLICY=passive (docs/exec.md).
# Usage: scripts/exec_calibration.sh [OUT_DIR]   (V4LAB=path/to/v4lab, default build/bin/v4lab)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
V4LAB="${V4LAB:-$here/../build/bin/v4lab}"
OUT="${1:-exec-calibration}"
[ -x "$V4LAB" ] || { echo "exec_calibration: no v4lab at $V4LAB (build first, or set V4LAB)" >&2; exit 2; }
mkdir -p "$OUT"
DB="$OUT/calibration.db"
rm -f "$DB"
"$V4LAB" --quiet --db "$DB" calibrate > "$OUT/probe.txt"
run() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  "$V4LAB" --json --quiet --db "$DB" exec --scale small "$@" > "$OUT/$name.json" 2> "$OUT/$name.err"
  t1=$(date +%s%N)
  echo "$name $(( (t1 - t0) / 1000000 )) ms: $*"
}
run F1 --model v4-flash --prefill 2048 --decode 64 --batch 4 --seed 1
run F2 --model v4-flash --prefill 1024 --decode 32 --batch 2 --seed 1
run F3 --model v3.2 --prefill 512 --decode 16 --batch 4 --seed 1
run F4 --model engram-27b --prefill 512 --decode 16 --batch 4 --seed 1
run F5 --model v3 --prefill 512 --decode 16 --batch 4 --seed 1
run F6 --model v3 --prefill 1024 --decode 16 --batch 2 --seed 1
ids=$(for f in F1 F2 F3 F4 F5 F6; do python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['run_id'])" "$OUT/$f.json"; done | paste -sd,)
"$V4LAB" --db "$DB" calibrate --fit --from "$ids" > "$OUT/fit.txt"
tail -3 "$OUT/fit.txt"
run E1 --model v4-flash --prefill 2048 --decode 64 --batch 4 --seed 2
run E2 --model v4-flash --prefill 1536 --decode 32 --batch 3 --seed 3
run E3 --model v4-flash --prefill 512 --decode 32 --batch 1 --seed 5
run E4 --model v4-pro --prefill 1024 --decode 32 --batch 2 --seed 4
run E5 --model v3 --prefill 768 --decode 16 --batch 3 --seed 2
run E6 --model v3.2 --prefill 768 --decode 16 --batch 3 --seed 2
run E7 --model engram-27b --prefill 1024 --decode 16 --batch 2 --seed 2
run E8 --model v41_flash_like --prefill 512 --decode 16 --batch 4 --seed 2
python3 "$here/exec_errors.py" "$OUT"/E?.json
