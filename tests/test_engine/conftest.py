"""Fixtures shared by the engine tests."""
import pytest
import torch

from .test_search_loop import run_search

#: A search of one pair over two generations.
ONE_PAIR = {'train_cfg.max_generations': 2, 'train_cfg.population_size': 2}


@pytest.fixture(scope='module')
def searched(tmp_path_factory):
    """A finished two-generation search of one pair (one per test module)."""
    torch.set_num_threads(1)
    return run_search(tmp_path_factory.mktemp('searched'), **ONE_PAIR)
