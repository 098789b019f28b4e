"""Data-parallel pieces of the search: shards, gradient sums and rank-0 decisions.

Every process holds the whole data split and the whole weight set, draws the same global
batch (order and augmentation) from the same random state, and trains its contiguous shard
of it; gradients and statistics are summed over processes (MMEngine's ``all_reduce`` and
``all_reduce_params``, in place, ``op='sum'``, no-ops in one process), so each step is the step
of one process training the whole batch, up to floating-point order.
"""
from typing import Any, Tuple

import torch
from mmengine.dist import broadcast_object_list, get_dist_info

__all__ = ['shard_bounds', 'broadcast_from_rank0', 'broadcast_random_states']


def shard_bounds(batch_size: int, rank: int, world_size: int) -> Tuple[int, int]:
    """Rows ``[start, stop)`` of a batch that process ``rank`` trains (contiguous shards whose
    sizes differ by at most one, larger ones first).

    Args:
        batch_size: rows of the global batch.
        rank: the process.
        world_size: the number of processes.
    """
    base, extra = divmod(batch_size, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def broadcast_from_rank0(obj: Any) -> Any:
    """Rank 0's ``obj`` on every process (``obj`` itself in one process).

    Args:
        obj: any picklable object.
    """
    if get_dist_info()[1] == 1:
        return obj
    holder = [obj]
    broadcast_object_list(holder, src=0)
    return holder[0]


def broadcast_random_states(generator: torch.Generator) -> None:
    """Give every process rank 0's state of ``generator`` and of torch's global RNGs (CPU and
    the current CUDA device), so that all draw the same batches, augmentation and masks.

    Args:
        generator: the search's data generator.
    """
    if get_dist_info()[1] == 1:
        return
    states = dict(cpu=torch.get_rng_state(), data=generator.get_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state()
    states = broadcast_from_rank0(states)
    torch.set_rng_state(states['cpu'])
    generator.set_state(states['data'])
    if 'cuda' in states:
        torch.cuda.set_rng_state(states['cuda'])
