"""mmpose integration for SimpleBaseline with a RelativeNAS backbone (docs/reference.md §6.3).

Imported by the pose configs through ``custom_imports``; it imports mmpose, so ``import mmrnas``
never imports it.
"""
import math
from typing import Optional, Tuple

from mmpose.models.heads import HeatmapHead
from mmpose.models.pose_estimators import TopdownPoseEstimator
from torch import nn

from mmrnas.models.utils import check_backbone_pyramid
from mmrnas.registry import MODELS

__all__ = ['PyramidCheckedTopdownPoseEstimator', 'heatmap_head_pyramid']


def _backbone_stride(head: HeatmapHead) -> Optional[int]:
    """The backbone stride that ``head`` fits: its codec's input / heatmap size ratio times
    the upsampling of its deconvolutions. None when the head has no codec or the ratio is not
    the same integer in both directions (then only the channels are checked)."""
    codec = head.decoder
    input_size = getattr(codec, 'input_size', None)
    heatmap_size = getattr(codec, 'heatmap_size', None)
    if input_size is None or heatmap_size is None:
        return None
    ratios = {input_size[i] / heatmap_size[i] for i in range(2)}
    if len(ratios) != 1:
        return None
    ratio = ratios.pop()
    if ratio != int(ratio):
        return None
    upsampling = math.prod(
        module.stride[0] for module in head.modules() if isinstance(module, nn.ConvTranspose2d))
    return int(ratio) * upsampling


def heatmap_head_pyramid(
        head: HeatmapHead) -> Optional[Tuple[Tuple[int, ...], Optional[Tuple[int, ...]]]]:
    """The pyramid a ``HeatmapHead`` expects from the backbone, as ``(channels, strides)``.

    ``HeatmapHead.forward`` reads ``feats[-1]`` only, and its first (de)convolution takes
    ``in_channels``, so: one map of ``in_channels`` channels, at the stride the codec and the
    deconvolutions imply (SimpleBaseline at 256x192: 64x48 heatmaps after three stride-2
    deconvolutions, so 4 * 8 = 32). None when ``in_channels`` is not one integer.
    """
    if not isinstance(head.in_channels, int):
        return None
    stride = _backbone_stride(head)
    return (head.in_channels, ), None if stride is None else (stride, )


@MODELS.register_module()
class PyramidCheckedTopdownPoseEstimator(TopdownPoseEstimator):
    """mmpose's ``TopdownPoseEstimator`` that checks, when it is built, that the backbone's
    feature pyramid fits the head.

    A head does not see the backbone, and ``HeatmapHead`` only reads ``feats[-1]``. Without
    this check, wrong ``out_indices`` surface late and far from their cause: a convolution
    shape error in the first forward pass (wrong channels), a heatmap / target shape mismatch
    in the loss (right channels, wrong stride), or nothing at all (extra maps before the right
    one). Here building the model fails, with a message naming the expected and the actual
    pyramid and the ``out_indices`` that would fit
    (:func:`mmrnas.models.utils.check_backbone_pyramid`).

    The check requires *exactly* the maps the head reads: for ``HeatmapHead``, one map of
    ``in_channels`` channels at the stride its codec and deconvolutions imply. Extra maps would
    run, but ``HeatmapHead`` never reads any map but the last, so extra ``out_indices`` are a
    config mistake (copied from a detection config, say, or expecting a multi-level fusion that
    does not happen), not a choice; SimpleBaseline uses the stride-32 feature alone
    (docs/reference.md §6.3).

    Not checked: models with a neck (the neck reshapes the pyramid; it is the neck's inputs
    that must fit), heads other than ``HeatmapHead`` (and its subclasses), and backbones that
    do not describe their pyramid (``out_channels`` / ``out_strides``), as in the helper.

    Args: as ``TopdownPoseEstimator``.

    Raises:
        ValueError: When the backbone's pyramid does not fit the head.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.with_neck or not isinstance(getattr(self, 'head', None), HeatmapHead):
            return
        pyramid = heatmap_head_pyramid(self.head)
        if pyramid is None:
            return
        channels, strides = pyramid
        check_backbone_pyramid(self.backbone, type(self.head).__name__, channels, strides)
