"""What every DARTS-style cell stack shares: the preprocessing of a cell's two inputs and the
channel plan of the stack (docs/reference.md §1.2-1.4), for the fixed network and the weight
set alike."""
from typing import List, NamedTuple, Tuple

import torch.nn as nn

from ..ops import FactorizedReduce, ReLUConvBN

__all__ = ['CellSpec', 'cell_channel_plan', 'cell_preprocess', 'reduction_cell_indices']


class CellSpec(NamedTuple):
    """One cell of a stack: its channels and kind, in the order every cell class takes them."""
    in_channels_prev_prev: int
    in_channels_prev: int
    channels: int
    reduction: bool
    reduction_prev: bool


def reduction_cell_indices(num_cells: int) -> Tuple[int, int]:
    """The reduction cells of a stack of ``num_cells``: ``L // 3`` and ``2 * L // 3``."""
    if num_cells < 3:
        raise ValueError(f'num_cells must be at least 3 (two reduction cells and one cell '
                         f'before them), got {num_cells}')
    return num_cells // 3, 2 * num_cells // 3


def cell_channel_plan(base_channels: int, num_cells: int, stem_channels: int,
                      multipliers: Tuple[int, int],
                      reduction_prev: bool = False) -> List[CellSpec]:
    """The :class:`CellSpec` of every cell of a stack, in order.

    Both inputs of the first cell have ``stem_channels``; C starts at ``base_channels`` and
    doubles at each reduction cell (:func:`reduction_cell_indices`); a cell outputs
    ``multiplier * C`` channels.

    Args:
        base_channels (int): C of the first cells.
        num_cells (int): Number of cells L (at least 3).
        stem_channels (int): Channels of the first cell's two inputs.
        multipliers (tuple[int, int]): Output states concatenated by a normal and by a
            reduction cell.
        reduction_prev (bool): Whether the first cell's state 0 has twice the resolution of
            its state 1 (the ImageNet stem). Defaults to False.
    """
    reductions = reduction_cell_indices(num_cells)
    plan = []
    channels_prev_prev = channels_prev = stem_channels
    channels = base_channels
    for index in range(num_cells):
        reduction = index in reductions
        if reduction:
            channels *= 2
        plan.append(CellSpec(channels_prev_prev, channels_prev, channels, reduction,
                             reduction_prev))
        reduction_prev = reduction
        channels_prev_prev, channels_prev = channels_prev, multipliers[reduction] * channels
    return plan


def cell_preprocess(in_channels_prev_prev: int, in_channels_prev: int, channels: int,
                    reduction_prev: bool, norm_cfg: dict) -> Tuple[nn.Module, nn.Module]:
    """``(preprocess0, preprocess1)``: bring states 0 and 1 to ``channels``.

    State 0 goes through a :class:`FactorizedReduce` when the previous cell reduced (it then has
    twice the resolution of state 1), else through a 1 x 1 :class:`ReLUConvBN`; state 1
    always through a 1 x 1 :class:`ReLUConvBN`. Built in this order (same initialisation).
    """
    if reduction_prev:
        preprocess0 = FactorizedReduce(in_channels_prev_prev, channels, norm_cfg=norm_cfg)
    else:
        preprocess0 = ReLUConvBN(in_channels_prev_prev, channels, 1, 1, 0, norm_cfg=norm_cfg)
    return preprocess0, ReLUConvBN(in_channels_prev, channels, 1, 1, 0, norm_cfg=norm_cfg)
