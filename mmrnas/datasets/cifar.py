"""CIFAR-10 / CIFAR-100 from the standard python-pickle batches, as uint8 tensors.

The search (docs/reference.md §4.2) splits the 50 000 CIFAR-10 training images 25k/25k; the
normalisation constants below are the reference's (§4.2 "Data augmentation").
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

__all__ = [
    'load_cifar', 'CIFAR10_MEAN', 'CIFAR10_STD', 'CIFAR100_MEAN', 'CIFAR100_STD'
]

CIFAR10_MEAN: tuple[float, float, float] = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD: tuple[float, float, float] = (0.24703233, 0.24348505, 0.26158768)
CIFAR100_MEAN: tuple[float, float, float] = (0.5071, 0.4867, 0.4408)
CIFAR100_STD: tuple[float, float, float] = (0.2675, 0.2565, 0.2761)

# name -> (folder, train files, test files, label key, archive URL)
_LAYOUT = {
    'cifar10': ('cifar-10-batches-py', [f'data_batch_{i}' for i in range(1, 6)], ['test_batch'],
                b'labels', 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'),
    'cifar100': ('cifar-100-python', ['train'], ['test'], b'fine_labels',
                 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'),
}


def _resolve_folder(root: Path, folder: str) -> Path:
    """Accept either the folder holding ``folder`` or ``folder`` itself."""
    return root if root.name == folder else root / folder


def _download(root: Path, name: str, folder: str, train: bool) -> None:
    """Fetch and extract the archive with torchvision (imported here only)."""
    from torchvision import datasets

    parent = root.parent if root.name == folder else root
    cls = datasets.CIFAR10 if name == 'cifar10' else datasets.CIFAR100
    cls(str(parent), train=train, download=True)


def load_cifar(root: str | os.PathLike,
               name: str = 'cifar10',
               train: bool = True,
               download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a CIFAR split as ``(images uint8 N×3×32×32, labels int64 N)`` on the CPU.

    Args:
        root: the folder containing ``cifar-10-batches-py`` / ``cifar-100-python``, or that
            folder itself.
        name: ``'cifar10'`` or ``'cifar100'`` (CIFAR-100 uses the 100 fine labels).
        train: the 50 000 training images if True, else the 10 000 test images.
        download: fetch the archive with torchvision first if the files are missing
            (needs internet).

    Raises:
        FileNotFoundError: a batch file is missing (the message says how to get it).
        ValueError: unknown ``name``.
    """
    if name not in _LAYOUT:
        raise ValueError(f'name must be one of {sorted(_LAYOUT)}, got {name!r}')
    folder, train_files, test_files, label_key, url = _LAYOUT[name]
    root = Path(root).expanduser()
    base = _resolve_folder(root, folder)
    files = [base / f for f in (train_files if train else test_files)]
    if download and not all(f.is_file() for f in files):
        _download(root, name, folder, train)
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f'{name}: expected the python-pickle batches in {base} (missing {missing[0]}). '
            f'Download {url} and extract it into {base.parent}, or pass download=True.')
    images, labels = [], []
    for path in files:
        with open(path, 'rb') as f:
            entry = pickle.load(f, encoding='bytes')
        images.append(np.asarray(entry[b'data'], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(entry[label_key], dtype=np.int64))
    return (torch.from_numpy(np.concatenate(images)),
            torch.from_numpy(np.concatenate(labels)))
