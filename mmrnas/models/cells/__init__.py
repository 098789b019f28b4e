"""Cells: the shared DARTS data flow and the fixed (retraining / transfer) cell."""
from .cell_routing import route_cell
from .genotype_cell import GenotypeCell

__all__ = ['GenotypeCell', 'route_cell']
