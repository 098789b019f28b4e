"""mmrnas registries are children of MMEngine's roots (BATCH_AUGMENTS a root of its own), scope
'mmrnas', with locations."""
import importlib
import subprocess
import sys

import mmengine.registry as root
import pytest

import mmrnas.registry as registry


@pytest.mark.parametrize(
    'name', [n for n in registry.__all__ if n not in ('ROOT_MODELS', 'BATCH_AUGMENTS')])
def test_child_of_mmengine_root(name):
    child = getattr(registry, name)
    assert child.scope == 'mmrnas'
    assert child.parent is getattr(root, name)
    assert child.parent.scope == 'mmengine'
    assert child._locations, f'{name} has no locations'
    for location in child._locations:
        importlib.import_module(location)


def test_batch_augments_is_a_root_of_its_own():
    """As mmpretrain's: batch augments never resolve to a per-sample transform of the name."""
    assert registry.BATCH_AUGMENTS.scope == 'mmrnas' and registry.BATCH_AUGMENTS.parent is None
    assert registry.BATCH_AUGMENTS.get('BatchAugment').__module__ == (
        'mmrnas.datasets.batch_augment')
    assert registry.BATCH_AUGMENTS.get('RandomCrop') is None


def test_estimators_build_by_name_from_another_scope():
    """TASK_UTILS' locations register the shipped estimator in a fresh interpreter, whatever
    the default scope."""
    code = ('from mmengine.registry import DefaultScope\n'
            'from mmrnas.search.search_part import build_search_part\n'
            'with DefaultScope.overwrite_default_scope("mmengine"):\n'
            '    part = build_search_part("estimator", dict(type="OneEpochEstimator"), object)\n'
            'print(type(part).__module__)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ['mmrnas.engine.estimators.one_epoch_estimator']


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


@pytest.mark.full_install  # imports the downstream modules
def test_registration_rule():
    """Only RelativeNASBackbone is in MMEngine's root registry as well; everything else is
    in the mmrnas scope only and resolves from other scopes as ``mmrnas.X``."""
    import mmdet.registry
    import mmpretrain.registry
    from mmdet.models.dense_heads import SSDHead

    import mmrnas.datasets.digits_cls_dataset  # noqa: F401
    import mmrnas.downstream.mmdet_ssdlite  # noqa: F401
    import mmrnas.engine  # noqa: F401
    import mmrnas.models  # noqa: F401
    import mmrnas.models.heads.relativenas_cls_head  # noqa: F401
    assert root.MODELS.get('RelativeNASBackbone') is registry.MODELS.get('RelativeNASBackbone')
    scoped = [(registry.MODELS, root.MODELS, 'RelativeNASClsHead', mmpretrain.registry.MODELS),
              (registry.HOOKS, root.HOOKS, 'DropPathScheduleHook', mmpretrain.registry.HOOKS),
              (registry.DATASETS, root.DATASETS, 'DigitsDataset', mmpretrain.registry.DATASETS),
              (registry.MODELS, root.MODELS, 'SSDLiteHead', mmdet.registry.MODELS),
              (registry.TASK_UTILS, root.TASK_UTILS, 'SSDLiteAnchorGenerator',
               mmdet.registry.TASK_UTILS)]
    for own, mmengine_root, name, toolbox in scoped:
        assert name in own.module_dict and name not in mmengine_root.module_dict, name
        assert toolbox.get(name) is None, name
        assert toolbox.get(f'mmrnas.{name}') is own.get(name)
    # the loss_cls fix of mmdet 3.3.0's SSDHead is on our subclass, not patched into mmdet
    assert not hasattr(SSDHead, 'loss_cls')
    assert registry.MODELS.get('SSDLiteHead').loss_cls is None
