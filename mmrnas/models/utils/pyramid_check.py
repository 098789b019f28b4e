"""Build-time check that a backbone's feature pyramid fits the module that consumes it."""
from itertools import combinations
from typing import Optional, Sequence, Tuple

from torch import nn

__all__ = ['check_backbone_pyramid']


def _suggest_out_indices(backbone: nn.Module, channels: Tuple[int, ...],
                         strides: Optional[Tuple[int, ...]]) -> Optional[Tuple[int, ...]]:
    """Out indices of ``backbone`` whose levels have ``channels`` (and ``strides``), if any."""
    stage_channels = getattr(backbone, 'stage_channels', None)
    stage_strides = getattr(backbone, 'stage_strides', None)
    if stage_channels is None or stage_strides is None:
        return None
    for indices in combinations(range(len(stage_channels)), len(channels)):
        if tuple(stage_channels[i] for i in indices) != channels:
            continue
        if strides is None or tuple(stage_strides[i] for i in indices) == strides:
            return indices
    return None


def check_backbone_pyramid(backbone: nn.Module,
                           consumer: str,
                           channels: Sequence[int],
                           strides: Optional[Sequence[int]] = None) -> None:
    """Raise one clear error when ``backbone``'s outputs do not fit ``consumer``.

    Backbones that do not describe their pyramid (no ``out_channels`` / ``out_strides``
    attributes, e.g. most third-party backbones) are not checked.

    Args:
        backbone (nn.Module): The built backbone, e.g. a ``RelativeNASBackbone``.
        consumer (str): Who reads the features, for the message (e.g. ``'SSD neck'``).
        channels (Sequence[int]): Channels the consumer expects, one per feature map.
        strides (Sequence[int], optional): Strides it expects; None checks channels only.

    Raises:
        ValueError: Naming the actual and the expected pyramid, and the ``out_indices`` that
            would fit when the backbone has such levels.
    """
    actual_channels = getattr(backbone, 'out_channels', None)
    actual_strides = getattr(backbone, 'out_strides', None)
    if actual_channels is None or actual_strides is None:
        return
    actual_channels, actual_strides = tuple(actual_channels), tuple(actual_strides)
    channels = tuple(channels)
    strides = None if strides is None else tuple(strides)
    if actual_channels == channels and (strides is None or actual_strides == strides):
        return
    name = type(backbone).__name__
    out_indices = getattr(backbone, 'out_indices', None)
    expected = f'{len(channels)} feature map(s) with channels {channels}'
    if strides is not None:
        expected += f' at strides {strides}'
    message = (f'{name}(out_indices={out_indices}) gives {len(actual_channels)} feature map(s) '
               f'with channels {actual_channels} at strides {actual_strides}, but the '
               f'{consumer} expects {expected}.')
    suggestion = _suggest_out_indices(backbone, channels, strides)
    if suggestion is not None:
        message += f' Set the backbone out_indices={suggestion}, or change the {consumer}.'
    else:
        message += f' Change the backbone (out_indices, base_channels) or the {consumer}.'
    raise ValueError(message)
