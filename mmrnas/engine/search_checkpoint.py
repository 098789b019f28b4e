"""Atomic, exactly resumable checkpoints of a RelativeNAS search."""
import os.path as osp
import random
from typing import Any, Dict, Optional

import numpy as np
import torch

from mmrnas.utils.fileio import atomic_write

__all__ = [
    'save_search_checkpoint', 'load_search_checkpoint', 'last_checkpoint_path',
    'capture_rng_states', 'restore_rng_states', 'LAST_CHECKPOINT_FILE', 'CHECKPOINT_KIND',
    'CHECKPOINT_FORMAT'
]

#: Name of the file in the work dir that holds the path of the newest checkpoint.
LAST_CHECKPOINT_FILE = 'last_search_checkpoint'
#: ``meta['kind']`` of a search checkpoint.
CHECKPOINT_KIND = 'mmrnas RelativeNAS search'
#: ``meta['format']``: 2 records the search settings (``meta['settings']``) and numbers
#: generations from 1.
CHECKPOINT_FORMAT = 2


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


def load_search_checkpoint(path: str) -> Dict[str, Any]:
    """Load a checkpoint written by :func:`save_search_checkpoint`, to the CPU.

    Always to the CPU, whatever device the search runs on: the RNG states it holds (PyTorch's
    CPU and CUDA states, the data generator's) must stay CPU ``ByteTensor`` for
    ``torch.set_rng_state``, ``torch.cuda.set_rng_state_all`` and ``Generator.set_state``;
    the weight set is copied into the model on its device by ``load_state_dict``.

    It holds numpy arrays and RNG states next to tensors, which PyTorch's weights-only
    unpickler rejects, so this loads with ``weights_only=False`` — for the run's own resume
    checkpoints only (a pickle can execute code: never point this at files from elsewhere).
    Weights-only loading stays the default everywhere else.

    Raises:
        ValueError: the file is not a search checkpoint of this format (one message saying
            what it is instead).
    """
    try:
        state = torch.load(path, map_location='cpu', weights_only=False)
    except Exception as error:  # any unreadable file: pickle, zip or torch errors
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(f'resume: {path} is not a search checkpoint (torch.load: '
                         f'{first})') from error
    meta = state.get('meta') if isinstance(state, dict) else None
    if not isinstance(meta, dict) or meta.get('kind') != CHECKPOINT_KIND:
        what = ('a training checkpoint (resume it with tools/train.py --resume)'
                if isinstance(state, dict) and 'state_dict' in state else 'something else')
        raise ValueError(f'resume: {path} is not a search checkpoint of mmrnas, it is {what}; '
                         f'give a checkpoints/search_*.pth file of a search work dir')
    if meta.get('format') != CHECKPOINT_FORMAT:
        raise ValueError(f'resume: {path} was written by an older mmrnas (checkpoint format '
                         f'{meta.get("format", 1)}, this version reads {CHECKPOINT_FORMAT}, '
                         f'which records the settings checked on resume); finish it with the '
                         f'version that wrote it or start a new search')
    return state


def capture_rng_states() -> Dict[str, Any]:
    """States of Python's, NumPy's and PyTorch's global RNGs (CPU and every CUDA device)."""
    states = dict(python=random.getstate(), numpy=np.random.get_state(),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: Dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_states` captured. PyTorch's states are CPU
    ``ByteTensor`` whatever the device they seed (:func:`load_search_checkpoint` keeps them
    there)."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])
