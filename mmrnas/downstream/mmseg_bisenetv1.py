"""mmseg BiSeNet (V1) with a RelativeNAS context-path backbone (docs/reference.md §6.3).

Imported by the segmentation configs through ``custom_imports``; it imports mmseg, so
``import mmrnas`` never imports it.

Two small extensions of mmseg 1.2.2, each for something its stock modules cannot express:

- :class:`RelativeNASBiSeNetV1`: mmseg's ``BiSeNetV1`` with the feature-fusion input channels
  computed from the two paths, norm / activation configs passed to every block, the reference's
  SE-style fusion attention, and a build-time check of the backbone pyramid.
- :class:`OhemCrossEntropyLoss`: cross-entropy averaged over the pixels that the OHEM sampler
  keeps, as the reference's ``OhemCELoss``.
"""
from typing import Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmseg.models.backbones.bisenetv1 import (
    AttentionRefinementModule,
    BiSeNetV1,
    ContextPath,
    FeatureFusionModule,
    SpatialPath,
)
from mmseg.models.losses import CrossEntropyLoss
from torch import nn

from mmrnas.models.utils import check_backbone_pyramid
from mmrnas.registry import MODELS

__all__ = ['RelativeNASBiSeNetV1', 'OhemCrossEntropyLoss', 'context_path_pyramid']

# ContextPath unpacks four maps (x_4, x_8, x_16, x_32); the spatial path is at stride 8.
CONTEXT_PATH_STRIDES = (4, 8, 16, 32)


def context_path_pyramid(
        backbone: nn.Module,
        context_channels: Sequence[int]) -> Tuple[Tuple[Optional[int], ...], Tuple[int, ...]]:
    """The pyramid mmseg's ``ContextPath`` needs from ``backbone``, as ``(channels, strides)``.

    ``ContextPath.forward`` unpacks exactly four maps ``x_4, x_8, x_16, x_32``: it discards
    ``x_4``, takes only the size of ``x_8`` (the stride-8 map the spatial path is fused with)
    and feeds ``x_16`` / ``x_32`` to the attention refinement modules built for
    ``context_channels[1]`` / ``context_channels[2]`` input channels. The channels of the first
    two maps are free: they are taken from the backbone's own levels at strides 4 and 8 (its
    ``stage_strides`` / ``stage_channels`` when it describes them, else its outputs), so that
    the check is on the strides and the last two channel counts. A free channel count the
    backbone does not describe is None (the backbone then lacks that stride, which fails the
    check anyway).
    """
    stages = zip(getattr(backbone, 'stage_strides', ()), getattr(backbone, 'stage_channels', ()))
    levels = dict(stages)
    for stride, channels in zip(getattr(backbone, 'out_strides', ()),
                                getattr(backbone, 'out_channels', ())):
        levels.setdefault(stride, channels)
    free = tuple(levels.get(stride) for stride in CONTEXT_PATH_STRIDES[:2])
    return free + (context_channels[1], context_channels[2]), CONTEXT_PATH_STRIDES


@MODELS.register_module()
class RelativeNASBiSeNetV1(BiSeNetV1):
    """mmseg's ``BiSeNetV1`` as the RelativeNAS transfer code builds it (``BiSeNet.py`` of TL,
    docs/reference.md §0).

    It differs from mmseg 1.2.2's ``BiSeNetV1`` in four ways; ``forward`` is mmseg's:

    - The feature fusion module takes ``spatial_channels[-1] + context_channels[0]`` input
      channels: the concatenation it receives. mmseg builds it with ``context_channels[1]``,
      which equals that sum only for its ResNet configs (256 = 128 + 128); with a RelativeNAS
      C46 backbone (``context_channels[1]`` = 368) the first forward pass would fail.
    - ``conv_cfg`` / ``norm_cfg`` / ``act_cfg`` reach the spatial path, the context path
      (including its attention refinement modules) and the fusion module; mmseg drops them and
      uses BN + ReLU there. The reference uses InPlaceABNSync with leaky ReLU (0.01) everywhere.
    - ``ffm_attention_channels`` gives the fusion module the reference's SE-style attention
      (1x1 ``out -> ffm_attention_channels``, ReLU, 1x1 back, sigmoid, no BN, no bias) instead
      of mmseg's single 1x1 conv + norm + activation. None keeps mmseg's.
    - When it is built, it checks that the context-path backbone gives the four maps
      ``ContextPath`` unpacks (strides 4 / 8 / 16 / 32, with ``context_channels[1]`` and
      ``context_channels[2]`` channels at strides 16 and 32), so a wrong ``out_indices`` fails
      with one clear message instead of a shape error in the first forward pass (see
      :func:`context_path_pyramid` and :func:`mmrnas.models.utils.check_backbone_pyramid`).

    Args:
        ffm_attention_channels (int, optional): Hidden channels of the SE-style fusion attention
            (the reference: ``out_channels // 4`` = 64). Defaults to None (mmseg's attention).
        Others: as mmseg's ``BiSeNetV1``.

    Raises:
        ValueError: When ``spatial_channels`` / ``context_channels`` do not have 4 / 3 entries,
            or when the backbone's pyramid does not fit the context path.
    """

    def __init__(self,
                 backbone_cfg: dict,
                 in_channels: int = 3,
                 spatial_channels: Sequence[int] = (64, 64, 64, 128),
                 context_channels: Sequence[int] = (128, 256, 512),
                 out_indices: Sequence[int] = (0, 1, 2),
                 align_corners: bool = False,
                 out_channels: int = 256,
                 ffm_attention_channels: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None) -> None:
        # BiSeNetV1.__init__ is skipped on purpose: it would build the context path (and its
        # backbone) and the fusion module the way described above. The attributes set here are
        # those BiSeNetV1.__init__ sets, which its forward reads.
        BaseModule.__init__(self, init_cfg=init_cfg)
        if len(spatial_channels) != 4:
            raise ValueError(f'spatial_channels must have 4 entries, got {spatial_channels}')
        if len(context_channels) != 3:
            raise ValueError(f'context_channels must have 3 entries, got {context_channels}')
        self.out_indices = out_indices
        self.align_corners = align_corners
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.context_path = ContextPath(backbone_cfg, context_channels, align_corners, **cfgs)
        channels, strides = context_path_pyramid(self.context_path.backbone, context_channels)
        check_backbone_pyramid(
            self.context_path.backbone,
            f'BiSeNetV1 context path (it unpacks 4 maps x_4, x_8, x_16, x_32 and reads x_16 / '
            f'x_32 with context_channels[1:] = {tuple(context_channels[1:])})',
            channels, strides)
        # ContextPath builds its refinement modules with BN + ReLU whatever its configs.
        self.context_path.arm16 = AttentionRefinementModule(context_channels[1],
                                                            context_channels[0], **cfgs)
        self.context_path.arm32 = AttentionRefinementModule(context_channels[2],
                                                            context_channels[0], **cfgs)
        self.spatial_path = SpatialPath(in_channels, spatial_channels, **cfgs)
        self.ffm = FeatureFusionModule(spatial_channels[-1] + context_channels[0], out_channels,
                                       **cfgs)
        if ffm_attention_channels is not None:
            self.ffm.conv_atten = _se_attention(out_channels, ffm_attention_channels)


def _se_attention(channels: int, hidden_channels: int) -> nn.Sequential:
    """The reference FFM's attention branch: 1x1 (no bias), ReLU, 1x1 (no bias), sigmoid, with
    its ``kaiming_normal_(a=1)`` initialisation. It acts on the globally pooled map."""
    squeeze = nn.Conv2d(channels, hidden_channels, 1, bias=False)
    excite = nn.Conv2d(hidden_channels, channels, 1, bias=False)
    for conv in (squeeze, excite):
        nn.init.kaiming_normal_(conv.weight, a=1)
    return nn.Sequential(squeeze, nn.ReLU(inplace=True), excite, nn.Sigmoid())


@MODELS.register_module()
class OhemCrossEntropyLoss(CrossEntropyLoss):
    """Cross-entropy averaged over the pixels an OHEM sampler keeps (the reference's
    ``OhemCELoss``: ``mean(loss[kept])``).

    mmseg's decode heads pass the ``OHEMPixelSampler`` selection as a 0/1 ``weight`` and its
    ``CrossEntropyLoss`` then averages over *all* pixels, which scales the loss (and the
    gradient) by the kept fraction: down to 1/16 with the reference's ``min_kept``. Here the
    average is over the kept pixels (``avg_factor = weight.sum()``). Without a weight, or with
    an explicit ``avg_factor`` or reduction, it is mmseg's ``CrossEntropyLoss``.

    Args: as mmseg's ``CrossEntropyLoss``.
    """

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        reduction = reduction_override or self.reduction
        if weight is not None and avg_factor is None and reduction == 'mean':
            avg_factor = weight.sum().clamp(min=1.)
        return super().forward(cls_score, label, weight=weight, avg_factor=avg_factor,
                               reduction_override=reduction_override, **kwargs)
