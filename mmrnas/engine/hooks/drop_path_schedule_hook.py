"""Linear drop-path schedule of the RelativeNAS / DARTS retraining (docs/reference.md §1.5).

Configs (including mmpretrain ones) load this module with
``custom_imports=dict(imports=['mmrnas.engine.hooks.drop_path_schedule_hook'])``.
"""
from typing import Optional

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmrnas.registry import HOOKS

__all__ = ['DropPathScheduleHook']


class DropPathScheduleHook(Hook):
    """Set ``drop_path_rate = max_rate * epoch / max_epochs`` on the backbone before each
    training epoch (``epoch`` 0-based, as the reference: p = p_max * e / E).

    The backbone is ``model.backbone`` after unwrapping model wrappers (DDP etc.); it must
    expose a public ``drop_path_rate`` attribute, as :class:`RelativeNASBackbone` does.

    Args:
        max_rate (float): p_max. Defaults to 0.3 (CIFAR retraining).
        max_epochs (int, optional): E; None takes the runner's ``max_epochs``.
            Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self, max_rate: float = 0.3, max_epochs: Optional[int] = None) -> None:
        if isinstance(max_rate, bool) or not isinstance(max_rate, (int, float)) or not (
                0 <= max_rate < 1):
            raise ValueError(f'DropPathScheduleHook: max_rate={max_rate!r} is not a drop-path '
                             f'probability; it takes a number in [0, 1), e.g. 0.3')
        if max_epochs is not None and (isinstance(max_epochs, bool)
                                       or not isinstance(max_epochs, int) or max_epochs <= 0):
            raise ValueError(f"DropPathScheduleHook: max_epochs={max_epochs!r} is not a number "
                             f"of epochs; it takes a positive integer, or None for the runner's "
                             f"max_epochs")
        self.max_rate = max_rate
        self.max_epochs = max_epochs

    @staticmethod
    def _backbone(runner) -> nn.Module:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        if backbone is None or not hasattr(backbone, 'drop_path_rate'):
            raise AttributeError(
                f'DropPathScheduleHook needs model.backbone.drop_path_rate; '
                f'{type(model).__name__} has no such attribute')
        return backbone

    def rate(self, epoch: int, max_epochs: int) -> float:
        """The drop-path probability of the 0-based ``epoch``."""
        return self.max_rate * epoch / max_epochs

    def before_train_epoch(self, runner) -> None:
        """Update the backbone's ``drop_path_rate`` for ``runner.epoch``."""
        max_epochs = self.max_epochs or runner.max_epochs
        self._backbone(runner).drop_path_rate = self.rate(runner.epoch, max_epochs)


HOOKS.register_module(module=DropPathScheduleHook)
