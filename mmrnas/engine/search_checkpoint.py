"""Atomic, exactly resumable checkpoints of a RelativeNAS search."""
import os.path as osp
import random
from typing import Any, Dict, Optional

import numpy as np
import torch

from mmrnas.utils.fileio import atomic_write

__all__ = [
    'save_search_checkpoint', 'load_search_checkpoint', 'last_checkpoint_path',
    'capture_rng_states', 'restore_rng_states', 'LAST_CHECKPOINT_FILE'
]

#: Name of the file in the work dir that holds the path of the newest checkpoint.
LAST_CHECKPOINT_FILE = 'last_search_checkpoint'


def save_search_checkpoint(state: Dict[str, Any], path: str, work_dir: str) -> None:
    """Save ``state`` to ``path`` atomically, then point ``work_dir/last_search_checkpoint`` at
    it (also atomically): an interrupted write leaves the previous checkpoint intact and
    current."""
    atomic_write(path, lambda f: torch.save(state, f))
    pointer = osp.relpath(osp.abspath(path), osp.abspath(work_dir))
    atomic_write(osp.join(work_dir, LAST_CHECKPOINT_FILE), pointer)


def last_checkpoint_path(work_dir: str) -> Optional[str]:
    """The newest checkpoint of the search in ``work_dir``, or None."""
    pointer = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = osp.join(work_dir, f.read().strip())
    return path if osp.isfile(path) else None


def load_search_checkpoint(path: str, map_location: Any = 'cpu') -> Dict[str, Any]:
    """Load a checkpoint written by :func:`save_search_checkpoint`.

    It holds numpy arrays and RNG states next to tensors, which PyTorch's weights-only
    unpickler rejects, so this loads with ``weights_only=False`` — for the run's own resume
    checkpoints only (a pickle can execute code: never point this at files from elsewhere).
    Weights-only loading stays the default everywhere else.
    """
    return torch.load(path, map_location=map_location, weights_only=False)


def capture_rng_states() -> Dict[str, Any]:
    """States of Python's, NumPy's and PyTorch's global RNGs (CPU and every CUDA device)."""
    states = dict(python=random.getstate(), numpy=np.random.get_state(),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: Dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_states` captured."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])
