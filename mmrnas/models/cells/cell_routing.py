"""The data flow shared by every DARTS-style cell: nodes sum two edge outputs, output concat."""
from typing import List, Sequence, Union

import torch
import torch.nn as nn

from ..utils import drop_path

__all__ = ['route_cell']


def route_cell(states: List[torch.Tensor], edge_ops: Sequence[nn.Module],
               input_indices: Sequence[int], concat: Sequence[int],
               drop_prob: Union[float, torch.Tensor], training: bool) -> torch.Tensor:
    """Run the intermediate nodes of a cell and concatenate its output states.

    Node ``j`` (state ``j + 2``) sums the outputs of edges ``2j`` and ``2j + 1``; edge ``k``
    applies ``edge_ops[k]`` to ``states[input_indices[k]]``. Drop-path (docs/reference.md §1.5) is
    applied to every edge output except :class:`~torch.nn.Identity` ones; an op listed for two
    edges runs twice and draws two masks, as in the reference search network.

    Args:
        states (list[Tensor]): The two preprocessed cell inputs (states 0 and 1); the node
            outputs are appended to it.
        edge_ops (Sequence[nn.Module]): One op per edge, in edge order.
        input_indices (Sequence[int]): The state each edge reads.
        concat (Sequence[int]): The states concatenated into the output.
        drop_prob (float | Tensor): Drop-path probability.
        training (bool): Drop-path is active only in training.

    Returns:
        Tensor: The channel concatenation of the ``concat`` states.
    """
    for first in range(0, len(edge_ops), 2):
        node = 0
        for edge in (first, first + 1):
            op = edge_ops[edge]
            out = op(states[input_indices[edge]])
            if not isinstance(op, nn.Identity):
                out = drop_path(out, drop_prob, training)
            node = node + out
        states.append(node)
    return torch.cat([states[i] for i in concat], dim=1)
