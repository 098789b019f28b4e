"""The RelativeNAS search supernet (weight set) and the candidate networks cut from it."""
from .candidate_network import CandidateCell, CandidateNetwork, is_op_key
from .relativenas_supernet import RelativeNASSupernet
from .supernet_cell import SupernetCell

__all__ = ['RelativeNASSupernet', 'SupernetCell', 'CandidateNetwork', 'CandidateCell',
           'is_op_key']
