"""Seeded train/validation split (docs/reference.md §4.2 "Data split")."""
import numpy as np
import pytest

from mmrnas.datasets import split_indices


def test_cifar_search_split():
    train, val = split_indices(50000)
    assert train.dtype == np.int64 and val.dtype == np.int64
    assert len(train) == 25000 and len(val) == 25000
    assert np.intersect1d(train, val).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(50000))


def test_seeded():
    a = split_indices(1000, 0.3, seed=7)
    b = split_indices(1000, 0.3, seed=7)
    c = split_indices(1000, 0.3, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert len(a[0]) == 300 and len(a[1]) == 700
    perm = np.random.default_rng(7).permutation(1000)
    assert np.array_equal(np.concatenate(a), perm)


def test_floor():
    train, val = split_indices(7, 0.5)
    assert len(train) == 3 and len(val) == 4


@pytest.mark.parametrize('num_samples, portion', [(10, 0.0), (10, 1.0), (10, -0.5), (10, 1.5),
                                                  (1, 0.5), (10, 0.05), (0, 0.5)])
def test_errors(num_samples, portion):
    with pytest.raises(ValueError):
        split_indices(num_samples, portion)
