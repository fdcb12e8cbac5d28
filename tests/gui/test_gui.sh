#!/usr/bin/env bash
# test_gui.sh — end-to-end GUI tests under Xvfb (registered by tests/gui/CMakeLists.txt when V4LAB_GUI
# is ON and xvfb-run exists). Each mode launches the real v4lab-gui in scripted mode and checks its
# screenshot / dumped state / database with check_gui.py (standard-library Python, no numpy).
#   test_gui.sh panels|knob|validation|execute GUI_BIN CLI_BIN SOURCE_DIR WORK_DIR
set -euo pipefail
mode=$1 gui=$2 cli=$3 src=$4 work=$5
rm -rf "$work"
mkdir -p "$work/home"
export HOME="$work/home"          # the state file goes to $HOME/.config/v4lab/gui.ini
unset XDG_CONFIG_HOME
export V4LAB_DATA_DIR="$src/data"
export OMP_WAIT_POLICY=passive    # the kernel test shares 2 cores with llvmpipe and parallel ctest jobs
check=(/usr/bin/python3 "$src/tests/gui/check_gui.py")
xv=(xvfb-run -a -s "-screen 0 1600x1000x24")
db="$work/gui.db"

case "$mode" in
  panels)
    # A database with stored runs, as after `make demo`, so the Runs panel has rows to show.
    "$cli" --quiet --db "$db" predict --model deepseek_v4_flash --hw h800_sxm > /dev/null
    "$cli" --quiet --db "$db" predict --model deepseek_v4_pro --hw h800_sxm --phase prefill > /dev/null
    "$cli" --quiet --db "$db" validate > /dev/null
    "${xv[@]}" "$gui" --db "$db" --scenario "$src/scenarios/quickstart.toml" --frames 20 \
      --screenshot "$work/shot.png" --dump-state "$work/state.json"
    "${check[@]}" panels "$work/shot.png" "$work/state.json"
    ;;
  knob)
    # Knobs move at frame N/2 through App::apply (the widgets' path); the shown prediction must equal
    # `v4lab predict` for the same flags, and the state file must keep them.
    "${xv[@]}" "$gui" --db "$db" --scenario "$src/scenarios/quickstart.toml" --frames 12 \
      --set model=deepseek_v4_pro --set batch=64 --set tp=2 --set context=8192 \
      --screenshot "$work/shot.png" --dump-state "$work/state.json"
    "${check[@]}" knob "$work/state.json" "$cli" "$work/cli.db"
    grep -qx 'batch=64' "$HOME/.config/v4lab/gui.ini" || { echo "FAIL: state not saved on exit"; exit 1; }
    grep -qx 'model=deepseek_v4_pro' "$HOME/.config/v4lab/gui.ini" || { echo "FAIL: state not saved on exit"; exit 1; }
    echo "state saved: $HOME/.config/v4lab/gui.ini"
    ;;
  validation)
    # An invalid deployment is reported live under the knob that causes it; nothing is predicted for it.
    "${xv[@]}" "$gui" --db "$db" --no-state --frames 8 --set tp=3 --set gpus=9 --dump-state "$work/state.json"
    "${check[@]}" validation "$work/state.json" tp "must divide num_attention_heads"
    ;;
  execute)
    "${xv[@]}" "$gui" --db "$db" --no-state --frames 12 --execute op=rmsnorm,n_tokens=64 \
      --set exec_min_time=0.02 --set exec_predict=h800_sxm --set exec_backend=cpu \
      --screenshot "$work/shot.png" --dump-state "$work/state.json"
    "${check[@]}" execute "$work/state.json" "$cli" "$db"
    ;;
  *)
    echo "usage: test_gui.sh panels|knob|validation|execute GUI CLI SOURCE_DIR WORK_DIR" >&2
    exit 2
    ;;
esac
