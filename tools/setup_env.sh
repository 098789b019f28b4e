#!/usr/bin/env bash
# Create (or refresh) the virtualenv .venv/ in the repository root at one of two install levels:
#
#   core (default for a new .venv): torch + torchvision, mmengine, mmpretrain on mmcv-lite (no
#        compiled ops), scikit-learn, ONNX, mmrnas (editable): search, retraining, analysis,
#        ONNX export. Nothing is compiled: a few minutes on a fresh machine.
#   full (--full): mmcv with compiled ops instead of mmcv-lite, mmdet, mmsegmentation, mmpose,
#        pycocotools / xtcocotools and the test requirements: the detection, segmentation and
#        pose configs and the test suite.
#
# Usage: bash tools/setup_env.sh [--core | --full] [--wheel-cache DIR] [--force] [--print-level]
#
# Without --core / --full the .venv keeps the level it has (core for a new one), so the
# quickstart's command never downgrades a full .venv. --core on a full .venv removes mmcv and the
# toolboxes and installs mmcv-lite; --full on a core .venv removes mmcv-lite first (both install
# the package `mmcv`: never both). --print-level prints the level a run would install and what
# it would remove, and changes nothing.
#
# Environment:
#   PYTHON               interpreter to build the venv from (default: python3.11, else python3)
#   MMRNAS_TORCH         torch/torchvision requirement pair
#                        (default on x86_64: "torch==2.14.1 torchvision==0.29.1")
#   MMRNAS_WHEEL_CACHE   an extra folder of prebuilt wheels (mmcv, xtcocotools), laid out as
#                        torch<ver>-<flavour>-cp<py>-<arch>/mmcv-*.whl (flavour: cpu, or
#                        cu<version> for CUDA kernels; a folder without the flavour holds
#                        CPU-only wheels) and any-cp<py>-<arch>/*.whl; --wheel-cache DIR
#                        overrides it (default: none). The script's own cache,
#                        ${XDG_CACHE_HOME:-~/.cache}/mmrnas/wheels (same layout), is always
#                        searched after it and keeps the wheels this script builds.
#   MMRNAS_MMCV_CPU_ONLY set to 1 to build CPU-only mmcv ops on a GPU machine knowingly; by
#                        default mmcv gets CUDA kernels when PyTorch sees a GPU (or
#                        FORCE_CUDA=1), which needs the CUDA toolkit (nvcc, CUDA_HOME): without
#                        it the script stops with what to install before the long build
#   MAX_JOBS             parallel compile jobs for mmcv (default: number of cores)
#
# Idempotent: when a previous run finished (marker .venv/.mmrnas-setup-ok with the same inputs
# and level) and the level still imports, it returns in seconds. The marker is written only
# after every step succeeded, and removed before a (re)install starts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
MARKER="$VENV/.mmrnas-setup-ok"
FORCE=0
PRINT_LEVEL=0
LEVEL=""  # core | full; empty: the level the .venv has, core for a new one
WHEEL_CACHE="${MMRNAS_WHEEL_CACHE:-}"
WHEEL_CACHE_FROM="MMRNAS_WHEEL_CACHE"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --wheel-cache)
      [[ $# -ge 2 && -n "$2" ]] || { echo "setup_env: --wheel-cache needs a folder (see --help)" >&2; exit 2; }
      WHEEL_CACHE="$2"; WHEEL_CACHE_FROM="--wheel-cache"; shift 2 ;;
    --core|--full)
      [[ -z "$LEVEL" || "$LEVEL" == "${1#--}" ]] || { echo "setup_env: --core and --full exclude each other (see --help)" >&2; exit 2; }
      LEVEL="${1#--}"; shift ;;
    --force) FORCE=1; shift ;;
    --print-level) PRINT_LEVEL=1; shift ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "setup_env: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -n "$WHEEL_CACHE" ]]; then
  [[ -d "$WHEEL_CACHE" ]] || { echo "setup_env: $WHEEL_CACHE_FROM: no folder '$WHEEL_CACHE'" >&2; exit 2; }
  WHEEL_CACHE="$(cd "$WHEEL_CACHE" && pwd)"
fi

STEP="start"
REPORTED=0
fail() {
  echo "setup_env: FAILED at step '$STEP'. $*" >&2
  REPORTED=1
  exit 1
}
on_exit() {
  local rc=$?
  if [[ $rc -ne 0 && $REPORTED -eq 0 && "$STEP" != "start" ]]; then
    echo "setup_env: FAILED at step '$STEP' (exit $rc): fix the error above and run tools/setup_env.sh --$LEVEL again." >&2
  fi
}
trap on_exit EXIT
step() {
  STEP="$1"
  echo "==> [setup_env] $1"
}

# ---------------------------------------------------------------------------------------------
step "check python"
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi
fi
command -v "$PY" >/dev/null 2>&1 || fail "No Python interpreter '$PY' found: install Python 3.11 or set PYTHON=/path/to/python3.11."
PYVER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" \
  || fail "The Python interpreter '$PY' does not run: install Python 3.11 or set PYTHON=/path/to/python3.11."
case "$PYVER" in
  3.10|3.11|3.12) ;;
  *) fail "Python $PYVER is not supported: mmrnas needs Python 3.10-3.12 (3.11 recommended); set PYTHON=/path/to/python3.11." ;;
esac
ARCH="$(uname -m)"
if [[ -z "${MMRNAS_TORCH:-}" ]]; then
  case "$ARCH" in
    x86_64) MMRNAS_TORCH="torch==2.14.1 torchvision==0.29.1" ;;
    aarch64) MMRNAS_TORCH="torch==2.9.1 torchvision==0.24.1" ;;
    *) fail "No default torch pair for $ARCH: set MMRNAS_TORCH='torch==X torchvision==Y'." ;;
  esac
fi
pin() {  # pin NAME -> NAME==VERSION as written in requirements/{mmcv_lite,core,downstream}.txt
  cat "$ROOT"/requirements/{mmcv_lite,core,downstream}.txt | grep -E "^$1==" \
    || fail "requirements/mmcv_lite.txt, core.txt and downstream.txt have no pin for $1."
}
MMCV_OPS="$ROOT/tools/misc/mmcv_ops.py"  # which mmcv ops this machine needs (CPU or CUDA)
FINGERPRINT="$(cat "$0" "$MMCV_OPS" "$ROOT"/requirements/*.txt "$ROOT/setup.py" | sha256sum | cut -c1-16) $PYVER $ARCH $MMRNAS_TORCH"

installed() {  # installed DIST: the .venv has the distribution DIST
  [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c \
    "import importlib.metadata as m, sys; m.distribution(sys.argv[1])" "$1" >/dev/null 2>&1
}
if [[ -z "$LEVEL" ]]; then  # keep the .venv's level
  # The marker's last word is the level of the last run, finished or not (a finished run's
  # marker starts with its fingerprint, an unfinished one's with "incomplete"). A finished
  # run's level yields to the mmcv installed since (by hand); without a marker, what it holds.
  MARKED="$( [[ -f "$MARKER" ]] && awk '{print $1, $NF}' "$MARKER" || true)"
  HELD=""  # the level of the one mmcv installed
  if installed mmcv && ! installed mmcv-lite; then HELD=full
  elif installed mmcv-lite && ! installed mmcv; then HELD=core
  fi
  case "$MARKED" in
    "incomplete core"|"incomplete full") LEVEL="${MARKED#incomplete }" ;;
    *" core"|*" full") LEVEL="${HELD:-${MARKED##* }}" ;;
    *) if [[ -z "$HELD" ]] && installed mmdet; then HELD=full; fi
       LEVEL="${HELD:-core}" ;;
  esac
fi
# What the level must not have: the other level's mmcv (mmcv-lite and mmcv install the same
# files, so removing one deletes the other's: both go, and the level's own is reinstalled), and
# for core the toolboxes that need mmcv's compiled ops.
REMOVE=()
if [[ "$LEVEL" == core ]]; then
  for dist in mmcv mmdet mmsegmentation mmpose xtcocotools; do
    if installed "$dist"; then REMOVE+=("$dist"); fi
  done
  if [[ "${REMOVE[0]:-}" == mmcv ]] && installed mmcv-lite; then REMOVE+=(mmcv-lite); fi
elif installed mmcv-lite; then
  REMOVE=(mmcv-lite)
  if installed mmcv; then REMOVE+=(mmcv); fi
fi
if [[ $PRINT_LEVEL -eq 1 ]]; then
  echo "level: $LEVEL"
  echo "remove: ${REMOVE[*]:-nothing}"
  STEP="done"
  exit 0
fi
echo "==> [setup_env] install level: $LEVEL"

quick_check() {  # the level imports (and for full, mmcv's ops have the kernels this machine needs)
  if [[ "$LEVEL" == core ]]; then
    installed mmcv-lite && ! installed mmcv && "$VENV/bin/python" - <<'PYCHECK' >/dev/null 2>&1
import mmcv, mmengine, mmpretrain, torch, torchvision, sklearn, onnx, onnxscript, onnxruntime, mmrnas
PYCHECK
  else
    ! installed mmcv-lite && "$VENV/bin/python" - <<'PYCHECK' >/dev/null 2>&1 && "$VENV/bin/python" "$MMCV_OPS" installed
import mmcv.ops, mmdet, mmseg, mmpose, mmpretrain, mmengine, torch, torchvision, sklearn, xtcocotools, pycocotools
import onnx, onnxscript, onnxruntime, mmrnas
PYCHECK
  fi
}

if [[ $FORCE -eq 0 && ${#REMOVE[@]} -eq 0 && -f "$MARKER" && "$(cat "$MARKER")" == "$FINGERPRINT $LEVEL" ]]; then
  step "verify existing environment ($LEVEL level)"
  if quick_check; then
    echo "==> [setup_env] .venv is up to date at the $LEVEL level (remove it or pass --force to reinstall)"
    STEP="done"
    exit 0
  fi
  echo "==> [setup_env] .venv marker present but the $LEVEL level does not import: reinstalling"
fi

# ---------------------------------------------------------------------------------------------
step "create virtualenv .venv ($PY $PYVER)"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PY" -m venv "$VENV" || fail "Could not create .venv: install the venv module (Debian: apt-get install python3-venv)."
fi
echo "incomplete $LEVEL" > "$MARKER"  # a failed run leaves the level it was asked for
VPY="$VENV/bin/python"
pip_q() {  # quiet pip; drops the noise of find-links folders that lack a package
  "$VPY" -m pip --disable-pip-version-check "$@" -q \
    2> >(grep -v -E "is neither a file nor a directory|Skipping .* as it is not installed" >&2)
}

step "install setuptools<82 (mmengine still imports pkg_resources) and wheel"
pip_q install "setuptools>=77.0.3,<82" wheel \
  || fail "pip could not install setuptools and wheel: check the network / package index."

step "install $MMRNAS_TORCH"
# shellcheck disable=SC2086
pip_q install $MMRNAS_TORCH || fail "pip could not install '$MMRNAS_TORCH': set MMRNAS_TORCH to a pair available for your platform."
"$VPY" -c "import torch, torchvision.ops; torchvision.ops.nms" \
  || fail "torch and torchvision do not import together: set MMRNAS_TORCH to a matching pair."

if [[ ${#REMOVE[@]} -gt 0 ]]; then
  step "switch to the $LEVEL level: remove ${REMOVE[*]}"
  pip_q uninstall -y "${REMOVE[@]}" || fail "pip could not remove ${REMOVE[*]}."
fi
if [[ "$LEVEL" == core ]]; then
  step "install mmengine (requirements/runtime.txt), $(pin mmcv-lite) (mmcv without compiled ops) and requirements/core.txt"
  pip_q install -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/mmcv_lite.txt" \
    -r "$ROOT/requirements/core.txt" \
    || fail "pip could not install requirements/runtime.txt, mmcv_lite.txt and core.txt."
else
  step "install mmengine (requirements/runtime.txt) and the build tools of mmcv and xtcocotools"
  pip_q install -r "$ROOT/requirements/runtime.txt" ninja cython "numpy>=1.26" \
    || fail "pip could not install requirements/runtime.txt and the build tools."

  # --- mmcv with compiled ops ------------------------------------------------------------------
  # mmcv's setup.py compiles CUDA kernels whenever PyTorch sees a GPU (or FORCE_CUDA=1): the wheel
  # cache keys mmcv wheels by that flavour, 'cpu' or 'cu<version>' (tools/misc/mmcv_ops.py).
  MMCV_FLAVOUR="$("$VPY" "$MMCV_OPS" flavour)" || fail "Could not tell which mmcv ops this machine needs (see above)."
  TORCH_TAG="$("$VPY" -c 'import sys, platform, torch; print("torch%s-'"$MMCV_FLAVOUR"'-cp%d%d-%s" % (torch.__version__.split("+")[0], *sys.version_info[:2], platform.machine()))')"
  LEGACY_TAG="${TORCH_TAG/-$MMCV_FLAVOUR-/-}"  # caches keyed without a flavour hold CPU-only wheels
  ANY_TAG="$("$VPY" -c 'import sys, platform; print("any-cp%d%d-%s" % (*sys.version_info[:2], platform.machine()))')"
  LOCAL_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mmrnas/wheels"  # the script's own wheel cache
  find_wheel() {  # find_wheel TAG GLOB -> first matching wheel in the given cache or the own one
    local d
    for d in ${WHEEL_CACHE:+"$WHEEL_CACHE/$1"} "$LOCAL_CACHE/$1"; do
      [[ -d "$d" ]] || continue
      compgen -G "$d/$2" | head -n 1 && return 0
    done
    return 0
  }
  need_compiler() {
    command -v "${CXX:-g++}" >/dev/null 2>&1 \
      || fail "$1 must be compiled but there is no C++ compiler: install one (Debian: apt-get install build-essential) or pass --wheel-cache DIR (with --full) holding a prebuilt wheel."
    "$VPY" -c "import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
      || fail "$1 must be compiled but the Python headers are missing: install them (Debian: apt-get install python3-dev)."
  }

  MMCV_PIN="$(pin mmcv)"
  MMCV_VER="${MMCV_PIN#mmcv==}"
  step "install $MMCV_PIN with compiled ops ($MMCV_FLAVOUR)"
  if "$VPY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VER')" >/dev/null 2>&1 \
      && "$VPY" "$MMCV_OPS" installed; then
    echo "    already installed"
  else
    WHL="$(find_wheel "$TORCH_TAG" "mmcv-$MMCV_VER-*.whl")"
    if [[ -z "$WHL" && "$MMCV_FLAVOUR" == cpu ]]; then
      WHL="$(find_wheel "$LEGACY_TAG" "mmcv-$MMCV_VER-*.whl")"
    fi
    if [[ -z "$WHL" ]]; then
      if [[ "$MMCV_FLAVOUR" != cpu ]]; then
        TOOLKIT="$("$VPY" "$MMCV_OPS" toolkit 2>&1)" || fail "$TOOLKIT"
      fi
      echo "    no cached wheel for $TORCH_TAG: building mmcv $MMCV_VER from source (about 35 min on 2 cores)"
      need_compiler "mmcv"
      BUILD="$(mktemp -d)"
      pip_q download --no-deps --no-binary :all: "$MMCV_PIN" -d "$BUILD" \
        || fail "Could not download the mmcv $MMCV_VER source: check the network / package index."
      tar -xzf "$BUILD"/mmcv-"$MMCV_VER".tar.gz -C "$BUILD"
      # torch >= 2.6 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
      sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-$MMCV_VER/setup.py"
      # A CPU build on a GPU machine (MMRNAS_MMCV_CPU_ONLY=1) hides the GPU from mmcv's setup.py.
      [[ "$MMCV_FLAVOUR" == cpu ]] && BUILD_ENV=(CUDA_VISIBLE_DEVICES= FORCE_CUDA=0) || BUILD_ENV=()
      env ${BUILD_ENV[@]+"${BUILD_ENV[@]}"} MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "$VPY" -m pip \
        --disable-pip-version-check -q wheel --no-build-isolation --no-deps \
        "$BUILD/mmcv-$MMCV_VER" -w "$BUILD/dist" || fail "Building mmcv $MMCV_VER failed (see the compiler output above)."
      mkdir -p "$LOCAL_CACHE/$TORCH_TAG"
      cp "$BUILD"/dist/mmcv-*.whl "$LOCAL_CACHE/$TORCH_TAG/"
      WHL="$(find_wheel "$TORCH_TAG" "mmcv-$MMCV_VER-*.whl")"
      rm -rf "$BUILD"
    fi
    echo "    using $WHL"
    pip_q install --no-deps "$WHL" || fail "Could not install $WHL."
    pip_q install addict packaging Pillow pyyaml yapf opencv-python-headless || fail "Could not install mmcv's dependencies."
    "$VPY" -c "import mmcv.ops" || fail "mmcv.ops does not import: the wheel does not match this torch; delete it from the cache and rerun."
  fi

  # --- xtcocotools (PyPI wheels are built against numpy 1.x) -------------------------------------
  XTC_PIN="$(pin xtcocotools)"
  step "install $XTC_PIN (built against the installed numpy)"
  if "$VPY" -c "import xtcocotools.coco" >/dev/null 2>&1; then
    echo "    already installed"
  else
    WHL="$(find_wheel "$ANY_TAG" "xtcocotools-${XTC_PIN#xtcocotools==}-*.whl")"
    if [[ -n "$WHL" ]]; then
      pip_q install --no-deps "$WHL" || fail "Could not install $WHL."
    else
      need_compiler "xtcocotools"
      pip_q install --no-build-isolation --no-binary xtcocotools --no-deps "$XTC_PIN" \
        || fail "Building $XTC_PIN from source failed."
    fi
    "$VPY" -c "import xtcocotools.coco" || fail "xtcocotools does not import."
  fi

  step "install requirements/core.txt"
  pip_q install -r "$ROOT/requirements/core.txt" || fail "pip could not install requirements/core.txt."

  # --- the toolboxes ------------------------------------------------------------------------------
  step "install $(pin mmdet), $(pin mmsegmentation)"
  pip_q install "$(pin mmdet)" "$(pin mmsegmentation)" \
    pycocotools ftfy regex "setuptools>=77.0.3,<82" || fail "pip could not install the toolboxes."

  step "install $(pin mmpose) (--no-deps: chumpy is SMPL-only and does not import on Python 3.11)"
  pip_q install --no-deps "$(pin mmpose)" || fail "pip could not install mmpose."
  echo "    (pip may report 'mmpose requires chumpy, which is not installed': expected, see above)"
  pip_q install json_tricks munkres scipy || fail "pip could not install mmpose's dependencies."

  step "install test requirements"
  pip_q install -r "$ROOT/requirements/tests.txt" || fail "pip could not install requirements/tests.txt."
fi

step "install mmrnas (editable)"
pip_q install --no-deps --no-build-isolation -e "$ROOT" || fail "pip could not install mmrnas from $ROOT."

step "verify the $LEVEL level imports"
if [[ "$LEVEL" == core ]]; then
  "$VPY" - <<'PYCHECK' || fail "The core level does not import (see the traceback above)."
import mmcv, mmengine, mmpretrain, torch, torchvision, sklearn, onnx, onnxscript, onnxruntime, mmrnas
from mmrnas.utils.install_level import has_mmcv_ops
assert not has_mmcv_ops(), 'the core level has compiled mmcv ops'
print(f"    torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv-lite {mmcv.__version__} "
      f"(no compiled ops), mmpretrain {mmpretrain.__version__}, mmrnas {mmrnas.__version__}")
PYCHECK
  echo "    detection, segmentation, pose and the test suite need the full level: bash tools/setup_env.sh --full"
else
  "$VPY" - <<'PYCHECK' || fail "The full level does not import (see the traceback above)."
import mmcv, mmcv.ops, mmdet, mmseg, mmpose, mmpretrain, mmengine, torch, torchvision
import sklearn, onnx, onnxscript, onnxruntime, xtcocotools.coco, pycocotools.coco, mmrnas
print(f"    torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}, "
      f"mmdet {mmdet.__version__}, mmseg {mmseg.__version__}, mmpose {mmpose.__version__}, "
      f"mmpretrain {mmpretrain.__version__}, mmrnas {mmrnas.__version__}")
PYCHECK
  echo "    $("$VPY" "$MMCV_OPS" report)"
fi

echo "$FINGERPRINT $LEVEL" > "$MARKER"
STEP="done"
echo "==> [setup_env] done: activate with 'source .venv/bin/activate' or call .venv/bin/python"
