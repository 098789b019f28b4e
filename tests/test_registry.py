"""mmrnas registries are children of MMEngine's roots, scope 'mmrnas', with locations."""
import importlib

import mmengine.registry as root
import pytest

import mmrnas.registry as registry


@pytest.mark.parametrize('name', [n for n in registry.__all__ if n != 'ROOT_MODELS'])
def test_child_of_mmengine_root(name):
    child = getattr(registry, name)
    assert child.scope == 'mmrnas'
    assert child.parent is getattr(root, name)
    assert child.parent.scope == 'mmengine'
    assert child._locations, f'{name} has no locations'
    for location in child._locations:
        importlib.import_module(location)


def test_root_models_is_mmengine_root():
    assert registry.ROOT_MODELS is root.MODELS


def test_scoped_lookup_from_root():
    """A module registered in a child is reachable from the root by its scoped name."""
    import torch.nn as nn

    @registry.MODELS.register_module(name='_RegistryProbe')
    class Probe(nn.Module):
        pass

    try:
        assert root.MODELS.get('mmrnas._RegistryProbe') is Probe
        assert registry.MODELS.get('_RegistryProbe') is Probe
    finally:
        registry.MODELS._module_dict.pop('_RegistryProbe')
