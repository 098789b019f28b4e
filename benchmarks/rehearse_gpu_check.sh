#!/usr/bin/env bash
# Rehearse the GPU check on this machine, without a GPU, in a Python environment shaped like the
# GPU machine's image (Python 3.12, torch 2.11.0 / torchvision 0.26.0, numpy 2.5.2 and the
# image's packages that mmrnas, mmengine, mmcv-lite and mmpretrain import; no OpenMMLab package):
# then `gpu_check.sh` installs .gpu-wheels into it exactly as on the GPU machine and runs every
# stage small (--smoke; GPU-only variants are recorded as skipped). It finds what the GPU
# machine's torch, Python or packages would break before any GPU time is spent. Needs a package registry and
# about 6 GB of disk (torch with its CUDA libraries) the first time.
#
# Usage: bash benchmarks/rehearse_gpu_check.sh [gpu_check.py arguments; default --smoke]
# Environment:
#   REHEARSAL_PYTHON  a Python 3.12 interpreter (default: python3.12, else pyenv's 3.12)
#   REHEARSAL_VENV    the environment (default: ${TMPDIR:-/tmp}/mmrnas-device-rehearsal; reused
#                     while its packages are unchanged)
#   DEVICE_PACKAGES   what the image holds (default below; update it when the image changes)
#   OUT               results (default: $REHEARSAL_VENV/out)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REHEARSAL_VENV:-${TMPDIR:-/tmp}/mmrnas-device-rehearsal}"
PACKAGES="${DEVICE_PACKAGES:-torch==2.11.0 torchvision==0.26.0 numpy==2.5.2 setuptools<82
  matplotlib opencv-python-headless scikit-learn pyyaml rich einops markdown click pillow
  packaging zipp pytest}"
find_python() {  # REHEARSAL_PYTHON, else the first Python 3.12 that runs: PATH, then pyenv's
  local root candidate
  root="$(pyenv root 2>/dev/null || true)"
  for candidate in ${REHEARSAL_PYTHON:-python3.12 $(find "${root:-/nonexistent}/versions" \
      -maxdepth 3 -path '*/3.12*/bin/python3.12' 2>/dev/null | sort -rV)}; do
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1
    then echo "$candidate"; return; fi
  done
}
PY="$(find_python)"
if [[ -z "$PY" ]]; then
  echo "rehearse_gpu_check: no Python 3.12 found (the GPU image runs 3.12): set" \
       "REHEARSAL_PYTHON=/path/to/python3.12" >&2
  exit 2
fi
MARKER="$VENV/.rehearsal-packages"
if [[ ! -f "$MARKER" || "$(cat "$MARKER")" != "$PY $PACKAGES" ]]; then
  echo "==> environment like the GPU image in $VENV ($("$PY" --version))"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q $PACKAGES 2> >(grep -v "is neither a file" >&2)
  echo "$PY $PACKAGES" >"$MARKER"
fi
if ! ls "$ROOT"/.gpu-wheels/*.whl >/dev/null 2>&1; then
  bash "$ROOT/benchmarks/prepare_gpu_wheels.sh"
fi
OUT="${OUT:-$VENV/out}"
rm -rf "$OUT" && mkdir -p "$OUT"
echo "==> gpu_check.sh ${*:---smoke} with torch" \
     "$("$VENV/bin/python" -c 'import torch; print(torch.__version__)'); results in $OUT"
export OUT TMPDIR="$VENV"  # gpu_check.sh installs the wheels under $TMPDIR
PATH="$VENV/bin:$PATH" GPU_CHECK_SECONDS="${GPU_CHECK_SECONDS:-1800}" \
  bash "$ROOT/benchmarks/gpu_check.sh" "${@:---smoke}"
"$VENV/bin/python" - "$OUT" <<'EOF'
import glob, json, sys
path = glob.glob(f'{sys.argv[1]}/gpu_check_*.json')[0]
data = json.load(open(path))
errors = [f'{stage}/{name}: {run["error"]}' for stage, runs in data.items()
          if isinstance(runs, dict) for name, run in runs.items()
          if isinstance(run, dict) and 'error' in run]
failed = data.get('cuda_tests', {}).get('pytest', {}).get('returncode', 0)
print(f'rehearse_gpu_check: {path}: torch {data["torch"]}, Python {data.get("python")}: '
      f'{len(errors)} failed variants, CUDA test file returncode {failed}')
print('\n'.join(errors))
sys.exit(1 if errors or failed else 0)
EOF
