#!/usr/bin/env bash
# install-deps.sh — idempotent installation of every Debian package v4lab needs.
# Skips what is installed; works as root or through sudo; fails with a clear message otherwise.
# Usage: scripts/install-deps.sh [--check]   (--check: only report what is missing, exit 1 if any)
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git          # toolchain (usually present)
  libeigen3-dev                                 # calibration fits, CPU GEMMs
  libboost-graph-dev                            # layer/model DAG
  libimgui-dev libglfw3-dev libgl-dev libgl1-mesa-dri  # GUI (ImGui + GLFW + OpenGL3)
  xvfb xauth                                    # headless GUI tests and screenshots
  libsqlite3-dev sqlite3                        # results store
  catch2                                        # unit tests
  clang                                         # make fuzz (libFuzzer + sanitizer runtimes)
  libcli11-dev                                  # command line
  libtomlplusplus-dev                           # scenario and preset files
  nlohmann-json3-dev                            # JSON output and config snapshots
  libfmt-dev                                    # formatting
  openmpi-bin libopenmpi-dev                    # distributed sweeps (optional at build time)
  python3 python3-numpy                         # outside-script recomputation of dumped kernels (tests)
  fortunes                                      # real English text for the Engram cache simulator (corpus trace)
  chromium libpng-dev                           # headless screenshots of the HTML report (test, docs/images)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "install-deps: missing: ${missing[*]}"; exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"
  else echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || { echo "install-deps: apt-get update failed (no network to the Debian mirror?)" >&2; exit 1; }
for p in "${missing[@]}"; do
  if ! apt-cache show "$p" >/dev/null 2>&1; then
    echo "install-deps: package '$p' is not available from the configured Debian sources" >&2; exit 1
  fi
done
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/v4lab-apt.log 2>&1; then
  tail -20 /tmp/v4lab-apt.log >&2
  echo "install-deps: apt-get install failed for: ${missing[*]} (log: /tmp/v4lab-apt.log)" >&2; exit 1
fi
echo "install-deps: done"
