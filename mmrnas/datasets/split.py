"""The seeded train/validation split of the search (docs/reference.md §4.2 "Data split", §9.4)."""
from __future__ import annotations

import math

import numpy as np

__all__ = ['split_indices']


def split_indices(num_samples: int,
                  train_portion: float = 0.5,
                  seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(num_samples)`` and cut it into train and validation indices.

    The reference shuffles with unseeded Python ``random``; here the permutation comes from
    ``numpy.random.default_rng(seed)`` and the caller saves the indices. The first
    ``floor(train_portion * num_samples)`` shuffled indices are the training half.

    Args:
        num_samples: size of the dataset (50 000 for the CIFAR-10 training set).
        train_portion: fraction used for training, in (0, 1) (reference: 0.5).
        seed: seed of the permutation (an int or a ``SeedSequence``: the search passes
            its own stream, independent of the population's).

    Returns:
        ``(train_idx, val_idx)``, int64 arrays.

    Raises:
        ValueError: ``train_portion`` outside (0, 1) or either side would be empty.
    """
    if not 0.0 < train_portion < 1.0:
        raise ValueError(f'train_portion must be in (0, 1), got {train_portion!r}')
    num_train = math.floor(train_portion * num_samples)
    if num_train < 1 or num_train >= num_samples:
        raise ValueError(f'train_portion={train_portion} of {num_samples} samples leaves an '
                         f'empty side ({num_train} train / {num_samples - num_train} val)')
    order = np.random.default_rng(seed).permutation(num_samples).astype(np.int64)
    return order[:num_train], order[num_train:]
