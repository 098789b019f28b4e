"""Test isolation: MMEngine runners leave their default registry scope behind."""
import copy

import pytest
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
