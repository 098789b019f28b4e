"""Small utilities shared by mmrnas: atomic file writes and the stack's compatibility shims."""
from .compat import RESUME_PREFIX, register_resume_loader, resume_path
from .fileio import atomic_write

__all__ = ['atomic_write', 'RESUME_PREFIX', 'register_resume_loader', 'resume_path']
