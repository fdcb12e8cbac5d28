#!/usr/bin/env bash
# report_screenshots.sh — regenerates docs/images/report-run.png, report-predict.png, report-sweep.png
# and report-plan.png: a small measured run (three kernels, ref + cpu, predicted on this machine and an
# H800), a V4-Flash decode prediction, a V4-Flash batch x context x TP predict sweep and a V4-Flash
# capacity plan, their HTML reports, and headless-Chromium screenshots of them (1200 px wide).
# Usage: scripts/report_screenshots.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/build}/bin/v4lab"
chromium="$(command -v chromium || command -v chromium-browser || true)"
[ -x "$bin" ] || { echo "report_screenshots: no v4lab binary at $bin (build first)" >&2; exit 1; }
[ -n "$chromium" ] || { echo "report_screenshots: chromium is not installed (scripts/install-deps.sh)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/s.toml" <<'TOML'
[scenario]
name = "report-screenshot"
model = "deepseek_v4_flash"
hardware = ["local", "h800_sxm"]
seed = 7
backends = ["ref", "cpu"]
verify = true
[timing]
warmup = 1
min_time_s = 0.05
min_reps = 3
max_reps = 200
[[kernel]]
op = "mhc_pre"
n_tokens = 64
[[kernel]]
op = "rmsnorm"
n_tokens = 64
[[kernel]]
op = "moe_gate"
n_tokens = 64
TOML
export OMP_WAIT_POLICY=passive
"$bin" --db "$work/r.db" --quiet run "$work/s.toml" --report-dir "$work/reports" >/dev/null
"$bin" --db "$work/r.db" --quiet predict --model deepseek_v4_flash --hw h800_sxm --batch 64 --overlap >/dev/null
"$bin" --db "$work/r.db" --quiet report 2 -o "$work/predict.html" >/dev/null
cat > "$work/sweep.toml" <<'TOML'
[sweep]
name = "flash_decode"
description = "DeepSeek-V4-Flash decode on one H800 node: batch x context x TP"
kind = "predict"
[sweep.base]
model = "deepseek_v4_flash"
hw = "h800_sxm"
gpus = 8
[[sweep.axis]]
field = "batch"
log = {start = 1, stop = 256, num = 9}
[[sweep.axis]]
field = "tp"
values = [1, 2, 4, 8]
[[sweep.axis]]
field = "context"
values = [4096, 65536]
TOML
"$bin" --db "$work/r.db" --quiet sweep "$work/sweep.toml" >/dev/null
"$bin" --db "$work/r.db" --quiet report 3 -o "$work/sweep.html" >/dev/null
"$bin" --db "$work/r.db" --quiet plan --model deepseek_v4_flash --hw h800_sxm --context 8192 \
  --target-tokens-per-s 50000 --tpot-ms 40 --ttft-ms 3000 >/dev/null
"$bin" --db "$work/r.db" --quiet report 4 -o "$work/plan.html" >/dev/null
shot() {  # html png height
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$2" --window-size="1200,$3" \
    "file://$1" >/dev/null 2>&1
}
mkdir -p "$root/docs/images"
shot "$work/reports/1/report.html" "$root/docs/images/report-run.png" 2950
shot "$work/predict.html" "$root/docs/images/report-predict.png" 2950
shot "$work/sweep.html" "$root/docs/images/report-sweep.png" 2600
shot "$work/plan.html" "$root/docs/images/report-plan.png" 2950
ls -l "$root"/docs/images/report-{run,predict,sweep,plan}.png
