"""A search cell holding every (edge, op) module: one cell of the RelativeNAS weight set."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn

from mmrnas.structures import SEARCH_PRIMITIVES
from ..cells import cell_preprocess, route_cell
from ..ops import OPS

__all__ = ['SupernetCell']

Edge = Tuple[str, int]


class SupernetCell(nn.Module):
    """All ``len(primitives)`` ops on every edge of a DARTS cell (docs/reference.md §4.1).

    Node ``j`` may read states ``0 .. j + 1``; the op for (node ``j``, input ``i``, op ``o``)
    is ``ops[(edge_offset(j) + i) * len(primitives) + o]`` with
    ``edge_offset(j) = sum(2 + t for t < j)`` (0, 2, 5, 9), the reference's module index. For
    C=16 that is 14 edges x 7 ops = 98 modules per cell. Ops reading state 0 or 1 of a reduction
    cell have stride 2. BN layers are affine, as in the reference search.

    Args:
        in_channels_prev_prev (int): Channels of state 0.
        in_channels_prev (int): Channels of state 1.
        channels (int): Channels of every node.
        reduction (bool): Whether this is a reduction cell.
        reduction_prev (bool): Whether the previous cell is a reduction cell.
        num_nodes (int): Intermediate nodes. Defaults to 4.
        primitives (Sequence[str]): Candidate ops, in encoding order. Defaults to the 7
            RelativeNAS primitives.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels_prev_prev: int,
                 in_channels_prev: int,
                 channels: int,
                 reduction: bool,
                 reduction_prev: bool,
                 num_nodes: int = 4,
                 primitives: Sequence[str] = SEARCH_PRIMITIVES,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.reduction = reduction
        self.num_nodes = num_nodes
        self.primitives = tuple(primitives)
        self.preprocess0, self.preprocess1 = cell_preprocess(
            in_channels_prev_prev, in_channels_prev, channels, reduction_prev, norm_cfg)
        self.concat = tuple(range(2, num_nodes + 2))
        self.out_channels = num_nodes * channels
        self.ops = nn.ModuleList()
        for node in range(num_nodes):
            for index in range(node + 2):
                stride = 2 if reduction and index < 2 else 1
                for name in self.primitives:
                    self.ops.append(OPS[name](channels, stride, norm_cfg=norm_cfg))

    def op_index(self, node: int, input_index: int, op_name: str) -> int:
        """Position in ``ops`` of the op ``op_name`` reading state ``input_index`` in ``node``."""
        edge_offset = node * (node + 3) // 2  # sum(2 + t for t < node)
        return (edge_offset + input_index) * len(self.primitives) + self.primitives.index(op_name)

    def edge_op_indices(self, edges: Sequence[Edge]) -> Tuple[int, ...]:
        """``ops`` positions of a genotype cell's edges (two per node, in edge order); a
        duplicated (input, op) in a node maps to the same module twice, as in the reference."""
        if len(edges) != 2 * self.num_nodes:
            raise ValueError(f'a cell with {self.num_nodes} nodes needs {2 * self.num_nodes} '
                             f'edges, got {len(edges)}')
        return tuple(
            self.op_index(k // 2, index, name) for k, (name, index) in enumerate(edges))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, edges: Sequence[Edge],
                drop_prob: float = 0.) -> torch.Tensor:
        """Run the cell with the ops chosen by ``edges`` (the other ops stay idle)."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        edge_ops = [self.ops[i] for i in self.edge_op_indices(edges)]
        return route_cell(states, edge_ops, [index for _, index in edges], self.concat,
                          drop_prob, self.training)
