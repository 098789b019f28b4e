"""The cell operations of DARTS-style search spaces (docs/reference.md §1.1).

Layouts mirror the DARTS / RelativeNAS ``operations.py`` module by module, so an official
checkpoint converts to these modules by renaming prefixes only:

- ``ReLUConvBN.op`` = Sequential(ReLU, Conv, BN);
- ``DilConv.op`` = Sequential(ReLU, depthwise Conv, pointwise Conv, BN);
- ``SepConv.op`` = Sequential(ReLU, dw, pw, BN, ReLU, dw, pw, BN) (``DilConv`` twice, flattened);
- ``FactorizedReduce`` has ``relu``, ``conv_1``, ``conv_2``, ``bn``;
- ``Conv7x1_1x7`` is itself the Sequential(ReLU, Conv 1x7, Conv 7x1, BN);
- pools, ``Identity`` and ``Zero`` have no parameters.

All convolutions have ``bias=False``; ReLUs are not in place, because a cell state feeds
several edges. Norm layers come from ``norm_cfg`` (default BN) with the op's ``affine`` flag,
so a custom norm type must accept an ``affine`` argument.
"""
from typing import List

import torch
import torch.nn as nn
from torch.nn import Identity

from ..utils import build_norm_layer

__all__ = [
    'ReLUConvBN', 'DilConv', 'SepConv', 'FactorizedReduce', 'Conv7x1_1x7', 'Identity', 'Zero'
]


def _norm(norm_cfg: dict, num_features: int, affine: bool) -> nn.Module:
    """A norm layer from ``norm_cfg`` with the op's ``affine`` flag."""
    return build_norm_layer(dict(norm_cfg, affine=affine), num_features)


def _relu_dw_pw_norm(in_channels: int, out_channels: int, kernel_size: int, stride: int,
                     padding: int, dilation: int, affine: bool,
                     norm_cfg: dict) -> List[nn.Module]:
    """ReLU -> depthwise k x k conv -> pointwise 1 x 1 conv -> norm, as a list of modules."""
    return [
        nn.ReLU(inplace=False),
        nn.Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
            bias=False),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        _norm(norm_cfg, out_channels, affine),
    ]


class ReLUConvBN(nn.Module):
    """ReLU -> Conv -> norm (the cell preprocessing; a 1 x 1 conv by default).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Conv kernel size. Defaults to 1.
        stride (int): Conv stride. Defaults to 1.
        padding (int): Conv padding. Defaults to 0.
        affine (bool): Whether the norm layer has affine parameters. Defaults to True.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 1,
                 stride: int = 1,
                 padding: int = 0,
                 affine: bool = True,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                bias=False),
            _norm(norm_cfg, out_channels, affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """ReLU -> dilated depthwise conv -> 1 x 1 conv -> norm.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Depthwise kernel size.
        stride (int): Depthwise conv stride.
        padding (int): Depthwise conv padding.
        dilation (int): Depthwise conv dilation.
        affine (bool): Whether the norm layer has affine parameters. Defaults to True.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int,
                 padding: int,
                 dilation: int,
                 affine: bool = True,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.op = nn.Sequential(*_relu_dw_pw_norm(
            in_channels, out_channels, kernel_size, stride, padding, dilation, affine, norm_cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """Separable conv applied twice: [ReLU -> dw (stride s) -> pw -> norm] then the same with
    stride 1 and ``out_channels`` outputs; the first block keeps ``in_channels``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Depthwise kernel size.
        stride (int): Stride of the first depthwise conv.
        padding (int): Depthwise conv padding.
        affine (bool): Whether the norm layers have affine parameters. Defaults to True.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int,
                 padding: int,
                 affine: bool = True,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.op = nn.Sequential(
            *_relu_dw_pw_norm(in_channels, in_channels, kernel_size, stride, padding, 1, affine,
                              norm_cfg),
            *_relu_dw_pw_norm(in_channels, out_channels, kernel_size, 1, padding, 1, affine,
                              norm_cfg),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset 1 x 1 stride-2 convs, concatenated on channels.

    ReLU, then ``conv_1`` on ``x`` and ``conv_2`` on ``x[:, :, 1:, 1:]`` (each
    ``out_channels // 2`` outputs), concatenated, then norm. As in the reference, the input
    height and width must be even.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels (even).
        affine (bool): Whether the norm layer has affine parameters. Defaults to True.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 affine: bool = True,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        if out_channels % 2 != 0:
            raise ValueError(f'FactorizedReduce needs even out_channels, got {out_channels}')
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        self.bn = _norm(norm_cfg, out_channels, affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Conv7x1_1x7(nn.Sequential):
    """ReLU -> 1 x 7 conv (stride (1, s)) -> 7 x 1 conv (stride (s, 1)) -> norm.

    A Sequential itself, like the DARTS lambda it mirrors (used by the NASNet / AmoebaNet
    baselines only).

    Args:
        channels (int): Input and output channels.
        stride (int): Overall stride.
        affine (bool): Whether the norm layer has affine parameters. Defaults to True.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 channels: int,
                 stride: int,
                 affine: bool = True,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(channels, channels, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            _norm(norm_cfg, channels, affine),
        )


class Zero(nn.Module):
    """The ``'none'`` op: zeros shaped like the (strided) input.

    Args:
        stride (int): Spatial subsampling of the output.
    """

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, ::self.stride, ::self.stride].mul(0.)
