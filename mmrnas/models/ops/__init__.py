"""Cell operations and the ``OPS`` name -> builder table."""
from .factory import OPS, OpBuilder
from .op_modules import Conv7x1_1x7, DilConv, FactorizedReduce, Identity, ReLUConvBN, SepConv, Zero

__all__ = [
    'OPS', 'OpBuilder', 'ReLUConvBN', 'DilConv', 'SepConv', 'FactorizedReduce', 'Conv7x1_1x7',
    'Identity', 'Zero'
]
