#!/usr/bin/env bash
# cached_export.sh PYTHON OUT.onnx EXPORT-ARGS...: exports a torchvision EfficientNet once and
# reuses it while the export script and its arguments are unchanged (the stamp records both).
set -euo pipefail
py=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
stamp="$out.stamp"
want="$(sha256sum "$here/export_efficientnet.py" | cut -d' ' -f1) $*"
if [[ -f $out && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  echo "cached: $out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
"$py" "$here/export_efficientnet.py" "$@" -o "$out"
printf '%s' "$want" > "$stamp"
echo "exported: $out"
