"""Small building blocks shared by mmrnas models (no mmcv needed)."""
from .drop_path import drop_path
from .norm import build_norm_layer

__all__ = ['build_norm_layer', 'drop_path']
