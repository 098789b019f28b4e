"""``type='RelativeNASBackbone'`` resolves by bare name from every OpenMMLab toolbox."""
import importlib

import pytest
from mmengine.registry import DefaultScope

from mmrnas.models import RelativeNASBackbone


@pytest.mark.slow
@pytest.mark.parametrize('scope', [
    *(pytest.param(scope, marks=pytest.mark.full_install)
      for scope in ('mmdet', 'mmseg', 'mmpose')),
    'mmpretrain',
])
def test_bare_name_from_toolbox_registry(scope):
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        backbone = registry.build(
            dict(type='RelativeNASBackbone', stem='cifar', base_channels=4, num_cells=3,
                 out_indices=(1, 2, 3)))
    assert type(backbone) is RelativeNASBackbone
    assert backbone.out_channels == (16, 32, 64)
    assert registry.scope == scope
