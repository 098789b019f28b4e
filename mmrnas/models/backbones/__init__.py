"""Backbones."""
from .relativenas import RelativeNASBackbone

__all__ = ['RelativeNASBackbone']
