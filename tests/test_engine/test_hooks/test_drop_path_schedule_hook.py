"""DropPathScheduleHook: p = max_rate * e / E before each training epoch."""
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.registry import HOOKS as ROOT_HOOKS

from mmrnas.engine.hooks.drop_path_schedule_hook import DropPathScheduleHook
from mmrnas.registry import HOOKS


class Classifier(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.drop_path_rate = 0.0


@pytest.mark.parametrize('wrap', [False, True])
def test_schedule(wrap):
    model = Classifier()
    runner = SimpleNamespace(model=nn.DataParallel(model) if wrap else model, max_epochs=600)
    hook = DropPathScheduleHook(max_rate=0.3)
    for epoch, expected in [(0, 0.0), (1, 0.3 / 600), (300, 0.15), (599, 0.3 * 599 / 600)]:
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        assert model.backbone.drop_path_rate == pytest.approx(expected)


def test_explicit_max_epochs():
    model = Classifier()
    runner = SimpleNamespace(model=model, max_epochs=3, epoch=5)
    DropPathScheduleHook(max_rate=0.2, max_epochs=50).before_train_epoch(runner)
    assert model.backbone.drop_path_rate == pytest.approx(0.02)


def test_errors():
    with pytest.raises(ValueError, match='max_rate'):
        DropPathScheduleHook(max_rate=1.5)
    with pytest.raises(ValueError, match='max_epochs'):
        DropPathScheduleHook(max_epochs=0)
    runner = SimpleNamespace(model=nn.Linear(2, 2), max_epochs=3, epoch=0)
    with pytest.raises(AttributeError, match='backbone.drop_path_rate'):
        DropPathScheduleHook().before_train_epoch(runner)


def test_registries():
    """In mmrnas's registry only; from mmpretrain's by its scoped name (the registration rule
    of mmrnas/registry.py)."""
    from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS
    assert HOOKS.get('DropPathScheduleHook') is DropPathScheduleHook
    assert ROOT_HOOKS.get('DropPathScheduleHook') is None
    hook = MMPRETRAIN_HOOKS.build(dict(type='mmrnas.DropPathScheduleHook', max_rate=0.3))
    assert isinstance(hook, DropPathScheduleHook)
