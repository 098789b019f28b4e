"""The two install levels and the line that stops a run at their boundary.

- **core** (``bash tools/setup_env.sh``, ``pip install -e .[core]``): torch, mmengine,
  mmpretrain on ``mmcv-lite`` (mmcv without compiled ops), scikit-learn, ONNX: search,
  retraining, analysis and ONNX export. Nothing is compiled.
- **full** (``bash tools/setup_env.sh --full``, see docs/get_started.md): mmcv with its
  compiled ops instead of mmcv-lite, mmdet, mmsegmentation, mmpose and the COCO tools: the
  detection, segmentation and pose configs (``mmrnas.downstream``).

The checks look for files only (``importlib.util.find_spec``), so they import nothing.
"""
import importlib.machinery
import importlib.util
import os
from typing import List, Optional, Sequence

__all__ = [
    'FULL_INSTALL_COMMAND', 'TOOLBOXES', 'FullInstallRequired', 'has_mmcv_ops',
    'missing_for_full', 'require_full_install', 'full_install_error', 'full_install_cause'
]

#: The command that installs (or switches a core environment to) the full level.
FULL_INSTALL_COMMAND = 'bash tools/setup_env.sh --full'
#: The toolboxes of the full level: import name -> distribution name.
TOOLBOXES = {'mmdet': 'mmdet', 'mmseg': 'mmsegmentation', 'mmpose': 'mmpose'}
MMCV_OPS = "mmcv's compiled ops"


class FullInstallRequired(ImportError):
    """What was asked needs the full install level; the message names the command."""


def has_mmcv_ops() -> bool:
    """Whether the installed mmcv has its compiled extension ``mmcv._ext`` (full mmcv), not
    only its Python files (mmcv-lite, or mmcv built with ``MMCV_WITH_OPS=0``)."""
    spec = importlib.util.find_spec('mmcv')
    if spec is None or not spec.submodule_search_locations:
        return False
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return any(
        name.startswith('_ext.') and name.endswith(suffixes)
        for folder in spec.submodule_search_locations if os.path.isdir(folder)
        for name in os.listdir(folder))


def missing_for_full(toolboxes: Sequence[str] = tuple(TOOLBOXES)) -> List[str]:
    """What of the full level this environment lacks: mmcv's compiled ops, then the
    distribution name of each toolbox in ``toolboxes`` (import names) that is not installed."""
    missing = [] if has_mmcv_ops() else [MMCV_OPS]
    return missing + [
        TOOLBOXES.get(name, name) for name in toolboxes if importlib.util.find_spec(name) is None
    ]


def full_install_error(what: str, missing: Sequence[str]) -> FullInstallRequired:
    """The one-line error: ``what`` needs the full install, ``missing`` is not installed."""
    return FullInstallRequired(
        f'{what} needs the full install ({", ".join(missing)} not installed; this environment '
        f'has the core install at most): run {FULL_INSTALL_COMMAND} (docs/get_started.md)')


def require_full_install(what: str, toolboxes: Sequence[str] = ()) -> None:
    """Stop with one line naming :data:`FULL_INSTALL_COMMAND` unless mmcv's compiled ops and
    the given toolboxes are installed.

    Args:
        what (str): What needs them, for the message (e.g. ``'the detection configs'``).
        toolboxes (Sequence[str]): Import names of the toolboxes needed besides mmcv's ops.

    Raises:
        FullInstallRequired: if any of them is missing.
    """
    missing = missing_for_full(toolboxes)
    if missing:
        raise full_install_error(what, missing)


def full_install_cause(error: BaseException) -> Optional[FullInstallRequired]:
    """The :class:`FullInstallRequired` among ``error`` and the errors it was raised from or
    during (MMEngine's ``custom_imports`` re-raises a plain ``ImportError``), or None."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, FullInstallRequired):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None
