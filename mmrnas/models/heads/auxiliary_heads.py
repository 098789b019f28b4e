"""The DARTS / RelativeNAS auxiliary classifiers (docs/reference.md §1.4)."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmrnas.registry import MODELS
from ..utils import build_norm_layer

__all__ = ['AuxiliaryHead', 'AuxiliaryHeadCIFAR', 'AuxiliaryHeadImageNet']


class AuxiliaryHead(BaseModule):
    """ReLU -> AvgPool 5x5 -> 1x1 conv (128) -> BN -> ReLU -> 2x2 conv (768) [-> BN] -> ReLU ->
    Linear, on the output of the second reduction cell.

    ``features`` (Sequential) and ``classifier`` (Linear) have the module layout of the
    reference, so its weights convert by renaming prefixes. The first ReLU is not in place
    (the reference rectifies the backbone feature in place; the values are the same).

    Args:
        in_channels (int): Channels of the input feature.
        num_classes (int): Number of classes.
        pool_stride (int): Stride of the 5x5 average pool (no padding, padding excluded).
        norm_after_last_conv (bool): Whether a norm layer follows the 768-channel conv.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 pool_stride: int,
                 norm_after_last_conv: bool,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        layers = [
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False),
            nn.Conv2d(in_channels, 128, 1, bias=False),
            build_norm_layer(norm_cfg, 128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
        ]
        if norm_after_last_conv:
            layers.append(build_norm_layer(norm_cfg, 768))
        layers.append(nn.ReLU(inplace=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the auxiliary logits of shape (N, num_classes)."""
        x = self.features(x)
        return self.classifier(x.flatten(1))


@MODELS.register_module()
class AuxiliaryHeadCIFAR(AuxiliaryHead):
    """CIFAR auxiliary head: pool stride 3 (8x8 -> 2x2), BN after both convs.

    Args:
        in_channels (int): Channels of the input feature (576 for C36 L20).
        num_classes (int): Number of classes.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(in_channels, num_classes, pool_stride=3, norm_after_last_conv=True,
                         norm_cfg=norm_cfg, init_cfg=init_cfg)


@MODELS.register_module()
class AuxiliaryHeadImageNet(AuxiliaryHead):
    """ImageNet auxiliary head: pool stride 2 (7x7 -> 2x2) and, as in the reference (a DARTS
    legacy kept on purpose), no BN after the 768-channel conv.

    Args:
        in_channels (int): Channels of the input feature (736 for C46 L14).
        num_classes (int): Number of classes.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(in_channels, num_classes, pool_stride=2, norm_after_last_conv=False,
                         norm_cfg=norm_cfg, init_cfg=init_cfg)
