"""Cells: the shared DARTS data flow, preprocessing and channel plan, and the fixed
(retraining / transfer) cell."""
from .cell_routing import route_cell
from .cell_stack import CellSpec, cell_channel_plan, cell_preprocess, reduction_cell_indices
from .genotype_cell import GenotypeCell

__all__ = [
    'CellSpec', 'GenotypeCell', 'cell_channel_plan', 'cell_preprocess', 'reduction_cell_indices',
    'route_cell'
]
