"""mmpretrain classification head with the RelativeNAS auxiliary classifier.

This module imports mmpretrain; configs load it with
``custom_imports=dict(imports=['mmrnas.models.heads.relativenas_cls_head'])``. It is not
imported by ``import mmrnas`` or ``mmrnas.models``.
"""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from mmrnas.registry import MODELS
from .auxiliary_heads import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet

__all__ = ['RelativeNASClsHead']

_AUX_HEADS = {'cifar': AuxiliaryHeadCIFAR, 'imagenet': AuxiliaryHeadImageNet}


@MODELS.register_module()
class RelativeNASClsHead(ClsHead):
    """Global average pool -> Linear on the last feature, plus the auxiliary loss in training.

    Pair it with ``RelativeNASBackbone(with_aux_feature=True)``: ``feats[0]`` (the output of
    the second reduction cell) feeds the auxiliary head, ``feats[-1]`` the classifier.
    With an auxiliary head, :meth:`loss` refuses a ``feats[0]`` that cannot be that feature:
    a single feature, a channel count other than ``aux_in_channels``, or a higher resolution
    than ``feats[-1]`` (the auxiliary feature has the backbone's last stride). Without
    ``with_aux_feature`` the first of several pyramid levels always fails one of these: level 0
    (the stem) has C or 3C channels, never the auxiliary feature's 4C per concatenated node,
    and levels 1 and 2 have a higher resolution than every later level.
    :meth:`loss` returns ``{'loss': main loss, 'loss_aux': aux_weight * aux loss}`` with the
    same loss module for both (docs/reference.md §1.4, §6.1-6.2: weight 0.4, label smoothing on
    ImageNet); :meth:`predict` and :meth:`forward` use only the main logits.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the last feature.
        aux_in_channels (int, optional): Channels of the auxiliary feature ``feats[0]``; None
            builds no auxiliary head. Defaults to None.
        aux_head (str): ``'cifar'`` (:class:`AuxiliaryHeadCIFAR`) or ``'imagenet'``
            (:class:`AuxiliaryHeadImageNet`). Defaults to ``'cifar'``.
        aux_weight (float): Weight of the auxiliary loss. Defaults to 0.4.
        pool (str): ``'adaptive'`` (global average pool, any input size, the reference CIFAR
            head) or ``'avg7'`` (the reference ImageNet head, ``AvgPool2d(7)``, which needs a
            7x7 last feature, i.e. 224x224 input). Defaults to ``'adaptive'``.
        loss (dict): Config of the classification loss, built by mmpretrain's ``MODELS``.
            Defaults to ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        topk (int | Tuple[int]): Top-k accuracy. Defaults to ``(1, )``.
        cal_acc (bool): Whether to compute the training accuracy. Defaults to False.
        init_cfg (dict, optional): Initialisation config; None keeps the PyTorch default, as the
            reference does. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 aux_in_channels: Optional[int] = None,
                 aux_head: str = 'cifar',
                 aux_weight: float = 0.4,
                 pool: str = 'adaptive',
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 topk: Union[int, Tuple[int]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        if aux_head not in _AUX_HEADS:
            raise ValueError(f'aux_head must be one of {sorted(_AUX_HEADS)}, got {aux_head!r}')
        if pool == 'adaptive':
            self.global_pool = nn.AdaptiveAvgPool2d(1)
        elif pool == 'avg7':
            self.global_pool = nn.AvgPool2d(7)
        else:
            raise ValueError(f"pool must be 'adaptive' or 'avg7', got {pool!r}")
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.pool = pool
        self.aux_weight = aux_weight
        self.aux_in_channels = aux_in_channels
        self.classifier = nn.Linear(in_channels, num_classes)
        self.aux_head = None if aux_in_channels is None else _AUX_HEADS[aux_head](
            aux_in_channels, num_classes)

    def _check_aux_feature(self, feats: Tuple[torch.Tensor, ...]) -> None:
        """Raise ValueError unless ``feats[0]`` can be the auxiliary feature (class docstring)."""
        if len(feats) < 2:
            found = f'got {len(feats)} feature map'
        else:
            aux, last = feats[0], feats[-1]
            if (aux.shape[1] == self.aux_in_channels and aux.shape[-2] <= last.shape[-2]
                    and aux.shape[-1] <= last.shape[-1]):
                return
            found = (f'feats[0] has {aux.shape[1]} channels at {aux.shape[-2]}x{aux.shape[-1]}, '
                     f'the last feature is {last.shape[-2]}x{last.shape[-1]}')
        raise ValueError(
            'The auxiliary head reads the auxiliary feature as feats[0] '
            f'(aux_in_channels={self.aux_in_channels} channels, at the resolution of the last '
            f'feature), {found}: build the backbone with with_aux_feature=True and set '
            'aux_in_channels to its aux_channels, or aux_in_channels=None for no auxiliary head.')

    def pre_logits(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Globally pooled last feature, shape (N, in_channels)."""
        x = feats[-1]
        if self.pool == 'avg7' and x.shape[-2:] != (7, 7):
            height, width = x.shape[-2:]
            raise ValueError(
                "pool='avg7' is the reference ImageNet head (AvgPool2d(7)), which needs "
                f'224x224 input (a 7x7 last feature map); got a {height}x{width} feature map '
                f'(about {32 * height}x{32 * width} input). Use pool=\'adaptive\' for other '
                'input sizes.')
        return self.global_pool(x).flatten(1)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Main logits from ``feats[-1]``."""
        return self.classifier(self.pre_logits(feats))

    def loss(self, feats: Tuple[torch.Tensor, ...], data_samples: List[DataSample],
             **kwargs) -> dict:
        """Main loss (``'loss'``, plus accuracies with ``cal_acc``) and, with an auxiliary
        head, ``'loss_aux'`` = ``aux_weight`` x the same loss on the logits of ``feats[0]``."""
        losses = self._get_loss(self(feats), data_samples, **kwargs)
        if self.aux_head is not None:
            self._check_aux_feature(feats)
            # Same target unpacking and loss call as the main loss; only 'loss' is kept.
            aux_loss = self._get_loss(self.aux_head(feats[0]), data_samples, **kwargs)['loss']
            losses['loss_aux'] = self.aux_weight * aux_loss
        return losses
