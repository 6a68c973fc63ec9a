#!/usr/bin/env bash
# Install every dependency effc's build and tests need on Debian bookworm.
# Idempotent: when everything is present it changes nothing and prints
# "setup: all dependencies present".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

pkgs=(
  build-essential cmake pkg-config
  libxnnpack-dev libpthreadpool-dev
  libprotobuf-c-dev protobuf-c-compiler
  libonnx-dev libonnx-testdata
  python3-torch python3-torchvision python3-onnx python3-numpy
  clang valgrind time
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
)
# A Node/npm from elsewhere (e.g. Node 20) is fine; Debian's only if absent.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi

# The aarch64 test downloads Debian's arm64 XNNPACK packages (unpacked, not installed).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
  "${SUDO[@]}" dpkg --add-architecture arm64
  "${SUDO[@]}" apt-get update -q >/dev/null 2>&1 || { echo "setup: apt-get update failed" >&2; exit 1; }
fi

missing=()
for p in "${pkgs[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "installed" ]] || missing+=("$p")
done

did=()
if ((${#missing[@]})); then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
  log="$(mktemp)"
  if ! { "${SUDO[@]}" apt-get update -q &&
         "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup: apt-get install failed for: ${missing[*]}" >&2
    exit 1
  fi
  rm -f "$log"
  did+=("apt: ${missing[*]}")
fi

# onnxruntime-node ships its CPU binary inside the npm package, so the
# postinstall download step is skipped.
if [[ ! -d node_modules/onnxruntime-node ||
      ! -f node_modules/.package-lock.json ||
      package-lock.json -nt node_modules/.package-lock.json ]]; then
  log="$(mktemp)"
  if ! ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup: npm ci failed" >&2
    exit 1
  fi
  rm -f "$log"
  did+=("npm ci")
fi

if ((${#did[@]})); then
  msg="${did[0]}"
  for d in "${did[@]:1}"; do msg+="; $d"; done
  echo "setup: installed $msg"
else
  echo "setup: all dependencies present"
fi
