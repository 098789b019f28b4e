"""A minimal, mmcv-free ``build_norm_layer``."""
from typing import Callable, Dict

import torch.nn as nn

from mmrnas.registry import ROOT_MODELS

__all__ = ['build_norm_layer']

_NORM_LAYERS: Dict[str, Callable[..., nn.Module]] = {
    'BN': nn.BatchNorm2d,
    'SyncBN': nn.SyncBatchNorm,
    'GN': lambda num_features, num_groups, **kwargs: nn.GroupNorm(
        num_groups, num_features, **kwargs),
    'IN': nn.InstanceNorm2d,
}


def build_norm_layer(norm_cfg: dict, num_features: int) -> nn.Module:
    """Build a 2-d normalisation layer from a config dict.

    Unlike ``mmcv.cnn.build_norm_layer`` this returns the layer only (no name) and needs no mmcv.

    Args:
        norm_cfg (dict): ``type`` is one of ``'BN'`` (``nn.BatchNorm2d``), ``'SyncBN'``
            (``nn.SyncBatchNorm``), ``'GN'`` (``nn.GroupNorm``, needs ``num_groups``),
            ``'IN'`` (``nn.InstanceNorm2d``), or any other name registered in MMEngine's root
            ``MODELS`` registry, which is called as ``cls(num_features, **kwargs)``.
            ``requires_grad`` (default True) sets ``requires_grad`` of the layer's parameters;
            every other key (``momentum``, ``eps``, ``affine``, ...) is passed to the layer.
        num_features (int): Number of channels to normalise.

    Returns:
        nn.Module: The normalisation layer.

    Raises:
        ValueError: If ``type`` is missing or names no known layer.
    """
    if not isinstance(norm_cfg, dict) or 'type' not in norm_cfg:
        raise ValueError(f'norm_cfg must be a dict with a "type" key, got {norm_cfg!r}')
    kwargs = dict(norm_cfg)
    norm_type = kwargs.pop('type')
    requires_grad = kwargs.pop('requires_grad', True)
    if isinstance(norm_type, str) and norm_type in _NORM_LAYERS:
        layer_cls = _NORM_LAYERS[norm_type]
    elif isinstance(norm_type, type):
        layer_cls = norm_type
    else:
        layer_cls = ROOT_MODELS.get(norm_type)
        if layer_cls is None:
            raise ValueError(
                f'Unknown norm layer type {norm_type!r}: use one of {sorted(_NORM_LAYERS)} or a '
                'type registered in mmengine.registry.MODELS')
    layer = layer_cls(num_features, **kwargs)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return layer
