"""Small utilities shared by every layer of mmrnas (standard library only at import time).

The stack's compatibility shims live in :mod:`mmrnas.utils.compat` (torch + mmengine); import
them from there.
"""
from .config_keys import check_number, check_unknown_keys
from .fileio import atomic_write
from .input_size import config_input_size

__all__ = ['atomic_write', 'check_number', 'check_unknown_keys', 'config_input_size']
