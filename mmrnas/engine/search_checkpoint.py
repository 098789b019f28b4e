"""Atomic, exactly resumable checkpoints of a RelativeNAS search, safe to load from anyone."""
import os
import os.path as osp
import pickle
import random
import re
from typing import Any, Dict, Optional

import numpy as np
import torch

from mmrnas.utils.fileio import atomic_write

__all__ = [
    'save_search_checkpoint', 'load_search_checkpoint', 'last_checkpoint_path',
    'resume_checkpoint_path', 'capture_rng_states', 'restore_rng_states', 'to_tensors',
    'to_arrays', 'LAST_CHECKPOINT_FILE', 'CHECKPOINT_KIND', 'CHECKPOINT_FORMAT'
]

#: Name of the file in the work dir that holds the path of the newest checkpoint.
LAST_CHECKPOINT_FILE = 'last_search_checkpoint'
#: ``meta['kind']`` of a search checkpoint.
CHECKPOINT_KIND = 'mmrnas RelativeNAS search'
#: ``meta['format']``: 2 records the search settings (``meta['settings']``) and numbers
#: generations from 1; 3 draws every random stream of the search from one
#: ``numpy.random.SeedSequence`` of the seed, holds only types that PyTorch's weights-only
#: unpickler reads (numpy arrays stored as tensors), and records the device type and the
#: checkpoint files the search wrote.
CHECKPOINT_FORMAT = 3


def save_search_checkpoint(state: Dict[str, Any], path: str, work_dir: str) -> None:
    """Save ``state`` to ``path`` atomically, then point ``work_dir/last_search_checkpoint`` at
    it (also atomically): an interrupted write leaves the previous checkpoint intact and
    current."""
    atomic_write(path, lambda f: torch.save(state, f))
    pointer = osp.relpath(osp.abspath(path), osp.abspath(work_dir))
    atomic_write(osp.join(work_dir, LAST_CHECKPOINT_FILE), pointer)


def _pointed_path(work_dir: str) -> Optional[str]:
    """The path ``work_dir/last_search_checkpoint`` holds (existing or not), or None."""
    pointer = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        return osp.join(work_dir, f.read().strip())


def last_checkpoint_path(work_dir: str) -> Optional[str]:
    """The newest checkpoint of the search in ``work_dir``, or None."""
    path = _pointed_path(work_dir)
    return path if path is not None and osp.isfile(path) else None


def resume_checkpoint_path(work_dir: str) -> str:
    """The checkpoint a resume of the search in ``work_dir`` continues from.

    Raises:
        FileNotFoundError: there is no pointer (no search to continue), or it points at a
            file that is gone (one line naming the checkpoints that are there).
    """
    path = _pointed_path(work_dir)
    if path is None:
        raise FileNotFoundError(
            f'resume: no search to continue in {work_dir} (no {LAST_CHECKPOINT_FILE} file); '
            f'start a new search without --resume (and train_cfg.resume=False), or give a '
            f'checkpoint with --resume PATH')
    if not osp.isfile(path):
        folder = osp.join(work_dir, 'checkpoints')
        there = sorted(f for f in os.listdir(folder) if f.endswith('.pth')) if osp.isdir(
            folder) else []
        raise FileNotFoundError(
            f'resume: {osp.join(work_dir, LAST_CHECKPOINT_FILE)} points at {path}, which does '
            f'not exist; give a checkpoint with --resume PATH (in {folder}: '
            f'{", ".join(there) or "none"})')
    return path


def to_tensors(value: Any) -> Any:
    """``value`` with every numpy array made a tensor and every numpy scalar a Python number
    (recursively through dicts, lists and tuples): what the weights-only unpickler reads."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: to_tensors(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_tensors(item) for item in value)
    return value


def to_arrays(value: Any) -> Any:
    """The inverse of :func:`to_tensors` for state that was numpy: tensors back to arrays."""
    if isinstance(value, torch.Tensor):
        return value.numpy().copy()
    if isinstance(value, dict):
        return {key: to_arrays(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_arrays(item) for item in value)
    return value


def load_search_checkpoint(path: str) -> Dict[str, Any]:
    """Load a checkpoint written by :func:`save_search_checkpoint`, to the CPU.

    Always to the CPU, whatever device the search runs on: the RNG states it holds (PyTorch's
    CPU and CUDA states, the data generator's) must stay CPU ``ByteTensor`` for
    ``torch.set_rng_state``, ``torch.cuda.set_rng_state_all`` and ``Generator.set_state``;
    the weight set is copied into the model on its device by ``load_state_dict``.

    It loads with PyTorch's weights-only unpickler: a search checkpoint holds tensors,
    numbers, strings, lists, tuples and dicts only (numpy state is stored as tensors, see
    :func:`to_tensors`), so a checkpoint from anyone can be resumed without running code it
    might carry; a file that needs more is refused.

    Raises:
        ValueError: the file is not a search checkpoint of this format, or holds objects the
            weights-only unpickler refuses (one message saying what it is instead).
    """
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # any unreadable file: pickle, zip or torch errors
        refused = re.search(r'GLOBAL ([\w.]+)', str(error))
        if isinstance(error, pickle.UnpicklingError) and refused:
            what = ('an MMEngine training checkpoint (resume it with tools/train.py --resume)'
                    if refused.group(1).startswith('mmengine.') else
                    'a checkpoint of an older mmrnas (format 2 or earlier: finish it with the '
                    'version that wrote it) or not a search checkpoint')
            raise ValueError(
                f'resume: {path} holds Python objects that the weights-only loader refuses '
                f'(the global {refused.group(1)}): {what}; not loaded, since unpickling it '
                f'could run code') from error
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
        raise ValueError(f'resume: {path} was written by another mmrnas (checkpoint format '
                         f'{meta.get("format", 1)}, this version reads {CHECKPOINT_FORMAT}: '
                         f'random streams from one SeedSequence, weights-only loadable); '
                         f'finish it with the version that wrote it or start a new search')
    return state


def capture_rng_states() -> Dict[str, Any]:
    """States of Python's, NumPy's and PyTorch's global RNGs (CPU and every CUDA device), in
    checkpoint types."""
    states = dict(python=random.getstate(), numpy=to_tensors(np.random.get_state()),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: Dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_states` captured. PyTorch's states are CPU
    ``ByteTensor`` whatever the device they seed (:func:`load_search_checkpoint` keeps them
    there)."""
    random.setstate(states['python'])
    np.random.set_state(to_arrays(states['numpy']))
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])
