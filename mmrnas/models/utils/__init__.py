"""Small building blocks shared by mmrnas models (no mmcv needed)."""
from .drop_path import drop_path
from .norm import build_norm_layer
from .pyramid_check import check_backbone_pyramid

__all__ = ['build_norm_layer', 'check_backbone_pyramid', 'drop_path']
