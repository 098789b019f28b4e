"""Small utilities shared by every layer of mmrnas (standard library only at import time).

The stack's compatibility shims live in :mod:`mmrnas.utils.compat` (torch + mmengine); import
them from there.
"""
from .fileio import atomic_write

__all__ = ['atomic_write']
