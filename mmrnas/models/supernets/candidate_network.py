"""A candidate architecture cut out of the weight set: only the modules it uses, copied."""
from typing import Dict, Sequence

import torch
import torch.nn as nn

from mmrnas.structures import Genotype
from ..cells.cell_routing import route_cell

__all__ = ['CandidateCell', 'CandidateNetwork', 'is_op_key']


def is_op_key(name: str) -> bool:
    """Whether a state-dict key of a supernet or candidate belongs to a cell op
    (``cells.<i>.ops.<k>...``) rather than to a layer every candidate shares (stem, preprocess,
    classifier) — the reference's ``"cells" in key and "_ops" in key`` test
    (docs/reference.md §4.4)."""
    parts = name.split('.')
    return len(parts) > 3 and parts[0] == 'cells' and parts[2] == 'ops'


class CandidateCell(nn.Module):
    """A search cell restricted to the ops of one genotype cell.

    ``ops`` is a ``ModuleDict`` keyed by the op's position in the supernet cell, so state-dict
    keys equal the weight set's keys; a (input, op) pair used twice in a node is one module
    run twice (shared weights, as in the reference search network).

    Args:
        preprocess0 (nn.Module): Preprocessing of state 0.
        preprocess1 (nn.Module): Preprocessing of state 1.
        ops (dict[int, nn.Module]): The distinct active ops by supernet position.
        edge_op_indices (Sequence[int]): Supernet position of each edge's op, in edge order.
        input_indices (Sequence[int]): The state each edge reads.
        concat (Sequence[int]): The states concatenated into the output.
    """

    def __init__(self, preprocess0: nn.Module, preprocess1: nn.Module, ops: Dict[int, nn.Module],
                 edge_op_indices: Sequence[int], input_indices: Sequence[int],
                 concat: Sequence[int]):
        super().__init__()
        self.preprocess0 = preprocess0
        self.preprocess1 = preprocess1
        self.ops = nn.ModuleDict({str(k): op for k, op in sorted(ops.items())})
        self.edge_keys = tuple(str(k) for k in edge_op_indices)
        self.input_indices = tuple(input_indices)
        self.concat = tuple(concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        edge_ops = [self.ops[key] for key in self.edge_keys]
        return route_cell(states, edge_ops, self.input_indices, self.concat, drop_prob,
                          self.training)


class CandidateNetwork(nn.Module):
    """The network of one population member: stem, candidate cells, pool and classifier.

    Built by :meth:`RelativeNASSupernet.extract`; its state-dict keys are a subset of the
    supernet's. ``drop_path_rate`` is the drop-path probability used in training.

    Args:
        genotype (Genotype): The decoded architecture.
        stem (nn.Module): The stem.
        cells (Sequence[CandidateCell]): The cells.
        classifier (nn.Linear): The classifier after global average pooling.
        drop_path_rate (float): Drop-path probability. Defaults to 0.
    """

    def __init__(self,
                 genotype: Genotype,
                 stem: nn.Module,
                 cells: Sequence[CandidateCell],
                 classifier: nn.Linear,
                 drop_path_rate: float = 0.):
        super().__init__()
        self.genotype = genotype
        self.stem = stem
        self.cells = nn.ModuleList(cells)
        self.classifier = classifier
        self.drop_path_rate = drop_path_rate

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits of a batch of images."""
        s0 = s1 = self.stem(inputs)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, self.drop_path_rate)
        return self.classifier(s1.mean(dim=(2, 3)))
