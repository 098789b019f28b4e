#!/usr/bin/env bash
# The whole GPU speed check in one command, on the GPU machine (repository root there, with
# .gpu-wheels/ copied along):
#   MMRNAS_COMMIT=<commit> bash benchmarks/gpu_check.sh
# Installs .gpu-wheels (made here by benchmarks/prepare_gpu_wheels.sh) into a private folder,
# records nvidia-smi, then runs benchmarks/gpu_check.py under a time limit. Results go to $OUT
# (when set) or benchmarks/results/gpu_check: gpu_check_cuda.json,
# search_decisions_cuda.json, profile_search.txt, gpu_check.log, nvidia_smi.txt.
#
# Environment: GPU_CHECK_SECONDS (time limit of the benchmarks, default 500),
#              MMRNAS_COMMIT (the commit measured, for a copy without .git).
# Arguments are passed to gpu_check.py (e.g. --smoke, --stages search retrain).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${OUT:-$ROOT/benchmarks/results/gpu_check}"
WHEELS="$ROOT/.gpu-wheels"
SITE="${TMPDIR:-/tmp}/mmrnas-gpu-site"
mkdir -p "$OUT_DIR"
if ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  echo "gpu_check: no wheels in $WHEELS: run 'bash benchmarks/prepare_gpu_wheels.sh' on a" \
       "machine with a package registry and copy .gpu-wheels here" >&2
  exit 2
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SITE" "$WHEELS"/*.whl || { echo "gpu_check: installing $WHEELS failed" >&2; exit 1; }
export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
FALLBACK="$WHEELS/fallback"
if ! python3 -c 'import pkg_resources' >/dev/null 2>&1; then  # setuptools >= 82 dropped it
  echo "gpu_check: the image lacks pkg_resources (mmengine's package:: configs need it):" \
       "installing setuptools from $FALLBACK"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$FALLBACK"/setuptools-*.whl \
    || { echo "gpu_check: no setuptools wheel in $FALLBACK: rerun prepare_gpu_wheels.sh" >&2
         exit 1; }
fi
(nvidia-smi && nvidia-smi -q -d CLOCK) >"$OUT_DIR/nvidia_smi.txt" 2>&1 || true
cd "$ROOT"
timeout "${GPU_CHECK_SECONDS:-500}" python3 benchmarks/gpu_check.py --out "$OUT_DIR" "$@" 2>&1 \
  | tee "$OUT_DIR/gpu_check.log"
rc=${PIPESTATUS[0]}
[[ $rc -eq 124 ]] && echo "gpu_check: stopped at the ${GPU_CHECK_SECONDS:-500} s limit;" \
                         "the JSON holds the stages that finished"
exit "$rc"
