"""Drop-path (stochastic depth over cell edges) as used by DARTS-style cells."""
import threading
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple, Union

import torch

__all__ = ['drop_path', 'batch_shard', 'is_compiling']


def is_compiling() -> bool:
    """Whether ``torch.compile`` is tracing the caller (False on PyTorch without it)."""
    compiler = getattr(torch, 'compiler', None)
    return bool(compiler is not None and getattr(compiler, 'is_compiling', lambda: False)())

_state = threading.local()


@contextmanager
def batch_shard(total: int, start: int, stop: int) -> Iterator[None]:
    """Within the block, inputs of :func:`drop_path` are rows ``start:stop`` of a batch of
    ``total`` samples.

    Data-parallel training uses this so that every process draws the whole batch's mask from
    the same random stream and keeps its own rows: the masks, and so the result, are those of
    one process training the whole batch.

    Args:
        total (int): Size of the whole (global) batch.
        start (int): First row of this process's shard.
        stop (int): One past its last row.
    """
    if not 0 <= start <= stop <= total:
        raise ValueError(f'invalid shard {start}:{stop} of a batch of {total}')
    previous = getattr(_state, 'shard', None)
    _state.shard = (total, start, stop)
    try:
        yield
    finally:
        _state.shard = previous


def _current_shard() -> Optional[Tuple[int, int, int]]:
    return getattr(_state, 'shard', None)


def drop_path(x: torch.Tensor, p: Union[float, torch.Tensor], training: bool) -> torch.Tensor:
    """Zero whole samples of ``x`` with probability ``p`` and rescale the rest by ``1 / (1 - p)``.

    Same distribution as the reference (docs/reference.md §1.5), but out of place and
    device-agnostic (docs/reference.md §9.1 item 2): the reference multiplies the op output in
    place and draws the mask with ``torch.cuda.FloatTensor``. Inside :func:`batch_shard` the
    mask of the whole batch is drawn and this shard's rows are used.

    Args:
        x (Tensor): Input of shape (N, C, H, W).
        p (float | Tensor): Drop probability in [0, 1). A 0-dim tensor (what a backbone passes
            under ``torch.compile``, so that a new rate is not a new graph) always draws a
            mask, since branching on its value would read it back; with ``p = 0`` the mask is
            all ones and the result equals ``x``.
        training (bool): Apply only when True; otherwise ``x`` is returned unchanged.

    Returns:
        Tensor: ``x`` itself when not training or a float ``p == 0``, else a new tensor.
    """
    if not training or (not isinstance(p, torch.Tensor) and p <= 0.):
        return x
    keep = 1. - p
    shard = _current_shard()
    if shard is None:
        mask = x.new_empty(x.size(0), 1, 1, 1).bernoulli_(keep)
    else:
        total, start, stop = shard
        if x.size(0) != stop - start:
            raise ValueError(f'drop_path got {x.size(0)} samples inside a batch shard of '
                             f'{stop - start}')
        mask = x.new_empty(total, 1, 1, 1).bernoulli_(keep)[start:stop]
    return x / keep * mask
