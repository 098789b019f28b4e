"""mmrnas.models: ops, cells, the RelativeNAS backbone, the auxiliary heads and the search
supernet (weight set).

Needs torch and mmengine only. ``RelativeNASClsHead`` (mmpretrain) lives in
:mod:`mmrnas.models.heads.relativenas_cls_head` and is imported by configs only.
"""
from .backbones import RelativeNASBackbone
from .cells import GenotypeCell
from .heads import AuxiliaryHead, AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet
from .ops import (
    OPS,
    Conv7x1_1x7,
    DilConv,
    FactorizedReduce,
    Identity,
    OpBuilder,
    ReLUConvBN,
    SepConv,
    Zero,
)
from .supernets import CandidateCell, CandidateNetwork, RelativeNASSupernet, SupernetCell, is_op_key
from .utils import build_norm_layer, drop_path

__all__ = [
    'RelativeNASBackbone', 'GenotypeCell', 'AuxiliaryHead', 'AuxiliaryHeadCIFAR',
    'AuxiliaryHeadImageNet', 'OPS', 'OpBuilder', 'ReLUConvBN', 'DilConv', 'SepConv',
    'FactorizedReduce', 'Conv7x1_1x7', 'Identity', 'Zero', 'build_norm_layer', 'drop_path',
    'RelativeNASSupernet', 'SupernetCell', 'CandidateNetwork', 'CandidateCell', 'is_op_key'
]
