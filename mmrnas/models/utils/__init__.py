"""Small building blocks shared by mmrnas models (no mmcv needed)."""
from .drop_path import batch_shard, drop_path, is_compiling
from .global_batch_norm import GlobalBatchNorm2d, convert_to_global_batch_norm
from .module_copy import copy_module
from .norm import build_norm_layer
from .pyramid_check import check_backbone_pyramid

__all__ = [
    'GlobalBatchNorm2d', 'batch_shard', 'build_norm_layer', 'check_backbone_pyramid',
    'convert_to_global_batch_norm', 'copy_module', 'drop_path', 'is_compiling'
]
