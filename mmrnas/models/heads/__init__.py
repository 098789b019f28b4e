"""Heads. Only the auxiliary heads are exported here: ``RelativeNASClsHead`` needs mmpretrain
and is imported by configs (``custom_imports``) from
``mmrnas.models.heads.relativenas_cls_head``."""
from .auxiliary_heads import AuxiliaryHead, AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet

__all__ = ['AuxiliaryHead', 'AuxiliaryHeadCIFAR', 'AuxiliaryHeadImageNet']
