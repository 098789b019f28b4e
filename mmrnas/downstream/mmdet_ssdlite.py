"""mmdet integration for SSDLite with a RelativeNAS backbone (docs/reference.md §6.3).

Imported by the detection configs through ``custom_imports``; it imports mmdet, so
``import mmrnas`` never imports it. It registers into the ``mmrnas`` scope (configs name the
classes ``mmrnas.X``, see :mod:`mmrnas.registry`):

- ``SSDLiteNeck``: the reference's extra layers (InvertedResidual blocks with fractional
  expand ratios), which mmdet's ``SSDNeck`` cannot express;
- ``SSDLiteHead``: mmdet's ``SSDHead`` with the reference's last level (a plain 1x1 conv) and
  depthwise-conv bias;
- ``SSDLiteAnchorGenerator``: mmdet's ``SSDAnchorGenerator`` with the reference's clamping of
  the prior sizes to the input size;
- ``PyramidCheckedSingleStageDetector``: mmdet's ``SingleStageDetector`` that checks at build
  time that the backbone's pyramid fits the neck (or head);

"""
import warnings
from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import SSDHead
from mmdet.models.detectors import SingleStageDetector
from mmdet.models.layers import InvertedResidual
from mmdet.models.task_modules.prior_generators import SSDAnchorGenerator
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmrnas.models.utils import check_backbone_pyramid
from mmrnas.registry import MODELS, TASK_UTILS

__all__ = [
    'SSDLiteNeck', 'SSDLiteHead', 'SSDLiteAnchorGenerator', 'PyramidCheckedSingleStageDetector'
]

@MODELS.register_module()
class SSDLiteNeck(BaseModule):
    """The backbone features followed by a chain of stride-2 InvertedResidual blocks.

    The reference's ``extras`` (TL, the official transfer code, docs/reference.md §0:
    ``ssd_mobile.py``): each block is 1x1 expand conv + BN + act, 3x3 depthwise stride-2
    conv + BN + act, 1x1 linear conv + BN (mmdet's ``InvertedResidual``), with
    ``mid_channels = round(in_channels * expand_ratio)``; the first block reads the last
    backbone feature. The output is the backbone features followed by the output of every
    block.

    Args:
        in_channels (Sequence[int]): Channels of the backbone features.
        out_channels (Sequence[int]): Output channels of the extra blocks.
        expand_ratios (Sequence[float]): Expand ratio of each extra block.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU6')``.
        init_cfg (dict | list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 expand_ratios: Sequence[float],
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(out_channels) != len(expand_ratios):
            raise ValueError(f'out_channels {tuple(out_channels)} and expand_ratios '
                             f'{tuple(expand_ratios)} must have the same length')
        self.in_channels = tuple(in_channels)
        self.out_channels = tuple(out_channels)
        self.expand_ratios = tuple(expand_ratios)
        self.extra_layers = nn.ModuleList()
        channels = self.in_channels[-1]
        for out, ratio in zip(self.out_channels, self.expand_ratios):
            # The reference: hidden_dim = int(round(inp * expand_ratio)).
            self.extra_layers.append(
                InvertedResidual(
                    channels,
                    out,
                    mid_channels=int(round(channels * ratio)),
                    kernel_size=3,
                    stride=2,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
            channels = out

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Return the backbone features, then the extra blocks' outputs."""
        outs = list(inputs)
        feat = outs[-1]
        for layer in self.extra_layers:
            feat = layer(feat)
            outs.append(feat)
        return tuple(outs)


@MODELS.register_module()
class SSDLiteHead(SSDHead):
    """mmdet's ``SSDHead`` (``use_depthwise=True``) with the reference's head layers.

    The reference (TL ``ssd_mobile.py``) uses, per level, for both classification and
    regression, ``SeperableConv2d`` = depthwise 3x3 conv (with bias) + BN + ReLU6 + 1x1 conv,
    except on the last level: a plain 1x1 conv. mmdet's depthwise head has no conv bias
    before BN and the separable block on every level.

    Args:
        plain_levels (Sequence[int]): Levels predicted by a plain 1x1 conv. Defaults to ().
        depthwise_bias (bool): Give the depthwise convs a bias, as the reference does.
            Defaults to False.
        **kwargs: As ``SSDHead``; ``use_depthwise`` must be True and ``stacked_convs`` 0.
    """

    # mmdet 3.3.0's SSDHead skips AnchorHead.__init__, so it never sets ``loss_cls``, yet
    # BaseDenseHead._predict_by_feat_single reads ``self.loss_cls``: prediction stops with
    # "AttributeError: 'SSDHead' object has no attribute 'loss_cls'" (mmdet issues #11063,
    # #11305). SSDHead computes its losses itself (softmax CE + smooth L1), so None is right.
    # Set here, on this class only: mmdet's own SSDHead is left as mmdet ships it.
    loss_cls = None

    def __init__(self,
                 *args,
                 plain_levels: Sequence[int] = (),
                 depthwise_bias: bool = False,
                 **kwargs) -> None:
        # Read by _init_layers, which SSDHead.__init__ calls.
        self.plain_levels = tuple(plain_levels)
        self.depthwise_bias = depthwise_bias
        super().__init__(*args, **kwargs)
        if not self.use_depthwise or self.stacked_convs:
            raise ValueError('SSDLiteHead needs use_depthwise=True and stacked_convs=0')

    def _branch(self, channels: int, out_channels: int, plain: bool) -> nn.Sequential:
        if plain:
            return nn.Sequential(nn.Conv2d(channels, out_channels, 1))
        with warnings.catch_warnings():
            # ConvModule warns about a conv bias before BN: the reference has one.
            warnings.filterwarnings('ignore', 'Unnecessary conv bias before batch')
            depthwise = ConvModule(
                channels,
                channels,
                3,
                padding=1,
                groups=channels,
                bias=self.depthwise_bias,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg)
        return nn.Sequential(depthwise, nn.Conv2d(channels, out_channels, 1))

    def _init_layers(self) -> None:
        """One classification and one regression branch per level."""
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for level, (channels, num_priors) in enumerate(
                zip(self.in_channels, self.num_base_priors)):
            plain = level in self.plain_levels
            self.cls_convs.append(
                self._branch(channels, num_priors * self.cls_out_channels, plain))
            self.reg_convs.append(self._branch(channels, num_priors * 4, plain))


@TASK_UTILS.register_module()
class SSDLiteAnchorGenerator(SSDAnchorGenerator):
    """mmdet's ``SSDAnchorGenerator`` whose anchor widths and heights are clamped.

    The reference (TL ``generate_ssd_priors(..., clamp=True)``) clamps its centre-form priors,
    normalised by the input size, to [0, 1]: the 1:2 / 1:3 priors of the coarse levels keep
    their centre but are at most as wide and as high as the input.

    Args:
        max_anchor_size (float, optional): Clamp anchor widths and heights to this size in
            pixels (the input size); None does not clamp. Defaults to None.
        **kwargs: As ``SSDAnchorGenerator``.
    """

    def __init__(self, *args, max_anchor_size: Optional[float] = None, **kwargs) -> None:
        self.max_anchor_size = max_anchor_size
        super().__init__(*args, **kwargs)

    def gen_base_anchors(self) -> List[Tensor]:
        """SSD base anchors, clamped to ``max_anchor_size``."""
        anchors = super().gen_base_anchors()
        if self.max_anchor_size is None:
            return anchors
        clamped = []
        for level in anchors:
            centre = (level[:, :2] + level[:, 2:]) / 2
            half = (level[:, 2:] - level[:, :2]).clamp(max=self.max_anchor_size) / 2
            clamped.append(torch.cat([centre - half, centre + half], dim=1))
        return clamped


@MODELS.register_module()
class PyramidCheckedSingleStageDetector(SingleStageDetector):
    """mmdet's ``SingleStageDetector`` that checks, when it is built, that the backbone's
    feature pyramid fits the neck (or, without a neck, the head).

    Neither the neck nor the head sees the backbone, so without this check a backbone with
    the wrong ``out_indices`` fails at the first forward pass with a convolution shape error,
    or, when the channels happen to match, trains on maps whose strides do not match the
    anchors. Here building the model fails instead, with a message naming the expected and
    the actual pyramid (:func:`mmrnas.models.utils.check_backbone_pyramid`).

    Expected: the channels of ``neck.in_channels`` (or ``bbox_head.in_channels``), at the
    strides of the head's first anchor levels (the levels the backbone features feed). Only
    backbones that describe their pyramid (``out_channels`` / ``out_strides``) are checked.

    Args: as ``SingleStageDetector``.

    Raises:
        ValueError: When the backbone's pyramid does not fit.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        consumer = self.neck if self.with_neck else self.bbox_head
        channels = tuple(consumer.in_channels)
        strides = None
        prior_generator = getattr(self.bbox_head, 'prior_generator', None)
        if prior_generator is not None and len(prior_generator.strides) >= len(channels):
            level_strides = prior_generator.strides[:len(channels)]
            if all(stride_w == stride_h for stride_w, stride_h in level_strides):
                strides = tuple(int(stride_w) for stride_w, _ in level_strides)
        check_backbone_pyramid(self.backbone, type(consumer).__name__, channels, strides)
