"""``OPS``: op name -> ``builder(channels, stride, affine=True, norm_cfg=dict(type='BN'))``.

Covers every name in :data:`mmrnas.structures.ALL_OPS` (docs/reference.md §1.1). Every op keeps the
channel count. A stride-2 ``skip_connect`` is a :class:`FactorizedReduce`; pools carry no norm
layer, pad by 1, and ``avg_pool_3x3`` excludes the padding from its average; separable convs
pad by ``k // 2``; dilated convs use dilation 2 and pad by ``k - 1``.
"""
from typing import Callable, Dict

import torch.nn as nn

from .op_modules import Conv7x1_1x7, DilConv, FactorizedReduce, Identity, SepConv, Zero

__all__ = ['OPS', 'OpBuilder']

#: ``builder(channels, stride, affine=True, norm_cfg=dict(type='BN')) -> nn.Module``
OpBuilder = Callable[..., nn.Module]

_BN = dict(type='BN')


def _zero(channels: int, stride: int, affine: bool = True, norm_cfg: dict = _BN) -> nn.Module:
    return Zero(stride)


def _max_pool_3x3(channels: int,
                  stride: int,
                  affine: bool = True,
                  norm_cfg: dict = _BN) -> nn.Module:
    return nn.MaxPool2d(3, stride=stride, padding=1)


def _avg_pool_3x3(channels: int,
                  stride: int,
                  affine: bool = True,
                  norm_cfg: dict = _BN) -> nn.Module:
    return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)


def _skip_connect(channels: int,
                  stride: int,
                  affine: bool = True,
                  norm_cfg: dict = _BN) -> nn.Module:
    if stride == 1:
        return Identity()
    return FactorizedReduce(channels, channels, affine=affine, norm_cfg=norm_cfg)


def _conv_7x1_1x7(channels: int,
                  stride: int,
                  affine: bool = True,
                  norm_cfg: dict = _BN) -> nn.Module:
    return Conv7x1_1x7(channels, stride, affine=affine, norm_cfg=norm_cfg)


def _sep_conv(kernel_size: int) -> OpBuilder:
    """Builder of a k x k :class:`SepConv`."""

    def build(channels: int, stride: int, affine: bool = True, norm_cfg: dict = _BN) -> nn.Module:
        return SepConv(channels, channels, kernel_size, stride, kernel_size // 2, affine=affine,
                       norm_cfg=norm_cfg)

    return build


def _dil_conv(kernel_size: int) -> OpBuilder:
    """Builder of a k x k :class:`DilConv` with dilation 2."""

    def build(channels: int, stride: int, affine: bool = True, norm_cfg: dict = _BN) -> nn.Module:
        return DilConv(channels, channels, kernel_size, stride, kernel_size - 1, 2,
                       affine=affine, norm_cfg=norm_cfg)

    return build


OPS: Dict[str, OpBuilder] = {
    'none': _zero,
    'max_pool_3x3': _max_pool_3x3,
    'avg_pool_3x3': _avg_pool_3x3,
    'skip_connect': _skip_connect,
    'sep_conv_3x3': _sep_conv(3),
    'sep_conv_5x5': _sep_conv(5),
    'sep_conv_7x7': _sep_conv(7),
    'dil_conv_3x3': _dil_conv(3),
    'dil_conv_5x5': _dil_conv(5),
    'conv_7x1_1x7': _conv_7x1_1x7,
}
