"""Test isolation: MMEngine runners leave their default registry scope behind."""
import copy

import pytest
import torch
from mmengine.registry import DefaultScope


def _restore_default_scope():
    saved = copy.copy(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict = saved


# Restored after each module (around module-scoped fixtures that build runners) and after each
# test, so a test never builds in the scope a previous runner set (e.g. mmrnas instead of
# mmpretrain). MMEngine's own DefaultScope.overwrite_default_scope restores the same way.
restore_default_scope_per_module = pytest.fixture(scope='module', autouse=True)(
    _restore_default_scope)
restore_default_scope_per_test = pytest.fixture(autouse=True)(_restore_default_scope)


@pytest.fixture
def one_thread():
    """One intra-op thread: the runs are tiny and two threads oversubscribe a busy 2-core box.
    Modules of small integration runs use it with ``pytest.mark.usefixtures('one_thread')``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
