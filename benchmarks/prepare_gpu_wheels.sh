#!/usr/bin/env bash
# Fill .gpu-wheels/ (ignored by git) with what benchmarks/gpu_check.sh installs on the GPU
# machine, which has no package registry: the pure-Python wheels of requirements/gpu_check.txt
# and mmcv 2.1.0 built here from its sdist without compiled ops (mmcv-lite, any platform); and in
# fallback/ setuptools<82, which gpu_check.sh installs only where the image's Python lacks
# pkg_resources (mmengine's `package::` configs need it; setuptools 82 removed it).
# Run it where pip reaches a registry, then copy .gpu-wheels to the GPU machine with the
# repository.
#
# Usage: bash benchmarks/prepare_gpu_wheels.sh
# Environment: PYTHON (default .venv/bin/python, made by tools/setup_env.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
DEST="$ROOT/.gpu-wheels"
if [[ ! -x "$PYTHON" ]]; then
  echo "prepare_gpu_wheels: no python at $PYTHON: run bash tools/setup_env.sh or set PYTHON" >&2
  exit 2
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/wheels" "$WORK/src"
echo "==> pure-Python wheels (requirements/gpu_check.txt)"
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux2014_x86_64 -d "$WORK/wheels" \
  -r "$ROOT/requirements/gpu_check.txt"
echo "==> mmcv 2.1.0 without compiled ops"
"$PYTHON" -m pip download -q --no-deps --no-binary=:all: -d "$WORK/src" mmcv==2.1.0
MMCV_WITH_OPS=0 "$PYTHON" -m pip wheel -q --no-deps --no-build-isolation \
  -w "$WORK/wheels" "$WORK/src"/mmcv-2.1.0.tar.gz
echo "==> fallback: setuptools 81 (pkg_resources)"
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$WORK/wheels/fallback" \
  setuptools==81.0.0
rm -rf "$DEST.tmp" && mv "$WORK/wheels" "$DEST.tmp" && rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
(cd "$DEST" && ls -1 ./*.whl fallback/*.whl)
echo "prepare_gpu_wheels: $(find "$DEST" -name '*.whl' | wc -l) wheels in $DEST" \
     "($(du -sh "$DEST" | cut -f1))"
