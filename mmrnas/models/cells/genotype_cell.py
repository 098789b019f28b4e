"""A fixed (retraining / transfer) cell built from one cell of a :class:`Genotype`."""
from typing import Tuple, Union

import torch
import torch.nn as nn

from mmrnas.structures import Genotype
from ..ops import OPS
from .cell_routing import route_cell
from .cell_stack import cell_preprocess

__all__ = ['GenotypeCell']


class GenotypeCell(nn.Module):
    """A DARTS-style cell with the ops and inputs fixed by a genotype (docs/reference.md §1.2-1.3).

    The two inputs (states 0 and 1, the outputs of the cells k-2 and k-1) are preprocessed to
    ``channels``; every intermediate node sums the outputs of its two edges; the cell outputs
    the channel concatenation of the ``concat`` states, ``multiplier * channels`` channels.

    Each edge gets its own op module (``ops``, in edge order), also when a node has the same
    (op, input) twice: as in the reference evaluation network, duplicates do not share weights.
    In a reduction cell, edges reading state 0 or 1 have stride 2 and edges reading an
    intermediate node stride 1.

    Args:
        genotype (Genotype): The architecture; the normal or the reduce cell is used.
        in_channels_prev_prev (int): Channels of state 0 (the output of cell k-2).
        in_channels_prev (int): Channels of state 1 (the output of cell k-1).
        channels (int): Channels of every node inside the cell.
        reduction (bool): Build the reduction cell (halves the resolution).
        reduction_prev (bool): Whether cell k-1 is a reduction cell; then state 0 has twice the
            resolution of state 1 and is preprocessed by a :class:`FactorizedReduce`.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 genotype: Genotype,
                 in_channels_prev_prev: int,
                 in_channels_prev: int,
                 channels: int,
                 reduction: bool,
                 reduction_prev: bool,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = cell_preprocess(
            in_channels_prev_prev, in_channels_prev, channels, reduction_prev, norm_cfg)

        edges, concat = genotype.cell('reduce' if reduction else 'normal')
        self.input_indices: Tuple[int, ...] = tuple(index for _, index in edges)
        self.concat: Tuple[int, ...] = tuple(concat)
        self.multiplier = len(self.concat)
        self.out_channels = self.multiplier * channels
        self.ops = nn.ModuleList(
            OPS[name](channels, 2 if reduction and index < 2 else 1, norm_cfg=norm_cfg)
            for name, index in edges)
        # A cell input that no edge reads and the output does not concatenate is still
        # preprocessed, as in the reference (its parameters count, its BN statistics update),
        # but can never get a gradient: mark its parameters as not trainable, so that
        # DistributedDataParallel needs no find_unused_parameters (a reference-layout
        # RelativeNAS reduction cell never reads state 0).
        for index, preprocess in enumerate((self.preprocess0, self.preprocess1)):
            if index not in self.input_indices and index not in self.concat:
                preprocess.requires_grad_(False)

    def forward(self,
                s0: torch.Tensor,
                s1: torch.Tensor,
                drop_prob: Union[float, torch.Tensor] = 0.) -> torch.Tensor:
        """Run the cell.

        Args:
            s0 (Tensor): Output of cell k-2 (state 0).
            s1 (Tensor): Output of cell k-1 (state 1).
            drop_prob (float | Tensor): Drop-path probability, applied in training to every
                edge output except :class:`~torch.nn.Identity` ones (a 0-dim tensor under
                ``torch.compile``, see :func:`~mmrnas.models.utils.drop_path`). Defaults to 0.

        Returns:
            Tensor: The concatenated ``concat`` states.
        """
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        return route_cell(states, self.ops, self.input_indices, self.concat, drop_prob,
                          self.training)
