"""Compatibility shims for the OpenMMLab stack on current PyTorch.

torch >= 2.6 changed ``torch.load``'s default to ``weights_only=True``. MMEngine 0.10.x's local
checkpoint loader calls ``torch.load`` without the argument, so ``Runner.resume`` fails with
``UnpicklingError`` on the runner's own checkpoints (they pickle numpy objects,
``HistoryBuffer``, ``builtins.getattr``, ...). Allow-listing those globals would reopen the hole
that weights-only closes, and turning it off globally (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` or
re-registering MMEngine's local loader) would also load pretrained or converted weights from
elsewhere unsafely.

The narrow fix: a checkpoint-loader scheme with its own prefix, :data:`RESUME_PREFIX`, which
``tools/train.py --resume`` puts in front of the run's own resume checkpoint only. That one
file is loaded with ``weights_only=False``; every other load (``load_from``, ``init_cfg``
pretrained weights, ``tools/test.py``) keeps MMEngine's plain loader and torch's safe default.
Needed for torch >= 2.6 with mmengine <= 0.10.7; harmless on older torch.
"""
import os.path as osp
from typing import Callable, Optional, Union

import torch
from mmengine.runner import CheckpointLoader

__all__ = ['RESUME_PREFIX', 'register_resume_loader', 'resume_path']

#: Prefix that marks a path as this run's own (trusted) resume checkpoint.
RESUME_PREFIX = 'mmrnas-resume://'


def _load_own_checkpoint(filename: str,
                         map_location: Optional[Union[str, Callable]] = None) -> dict:
    """Load ``RESUME_PREFIX + path`` with ``weights_only=False`` (trusted, own checkpoint)."""
    path = osp.expanduser(filename[len(RESUME_PREFIX):])
    if not osp.isfile(path):
        raise FileNotFoundError(f'resume checkpoint {path} can not be found.')
    return torch.load(path, map_location=map_location, weights_only=False)


def register_resume_loader() -> None:
    """Register the :data:`RESUME_PREFIX` scheme in MMEngine's ``CheckpointLoader``
    (idempotent)."""
    CheckpointLoader.register_scheme(RESUME_PREFIX, _load_own_checkpoint, force=True)


def resume_path(path: str) -> str:
    """Mark ``path`` (a checkpoint written by this run) for the trusted resume loader."""
    return path if path.startswith(RESUME_PREFIX) else RESUME_PREFIX + path
