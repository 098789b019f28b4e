"""Interleaving independent runs from one host thread, each on its own CUDA stream."""
from contextlib import nullcontext
from typing import Any, Generator, List, Optional, Sequence

import torch

__all__ = ['finish', 'run_concurrently']

Run = Generator[None, None, Any]


def finish(run: Run) -> Any:
    """Advance ``run`` to its end on the current stream and return its result."""
    return run_concurrently([run])[0]


def run_concurrently(runs: Sequence[Run],
                     streams: Optional[Sequence[Optional[torch.cuda.Stream]]] = None) -> List[Any]:
    """Advance ``runs`` round-robin, one step each in turn, until all have finished.

    Every run resumes with its stream as the current stream, so its kernels queue on that
    stream and the GPU can overlap the runs (useful when one run's kernels are too small to
    fill the device, or are replayed from CUDA graphs and cost the host almost nothing). Each
    stream first waits for the work queued so far on the caller's stream (e.g. the copies that
    created the runs' tensors), and the caller's stream waits for every run's stream at the
    end, so results can be used on it directly. The order in which runs queue work is fixed
    (run 0, run 1, ..., step by step), so random draws from shared generators are
    reproducible. Without streams (on a CPU) the runs interleave on the host only.

    Args:
        runs: Generators that yield after each step and return their result.
        streams: One stream per run (None entries: current stream); None for no streams.

    Returns:
        list: The runs' return values, in order.
    """
    streams = list(streams) if streams is not None else [None] * len(runs)
    if len(streams) != len(runs):
        raise ValueError(f'run_concurrently got {len(runs)} runs but {len(streams)} streams')
    caller = torch.cuda.current_stream() if any(s is not None for s in streams) else None
    for stream in streams:
        if stream is not None:
            stream.wait_stream(caller)
    results: List[Any] = [None] * len(runs)
    active = list(range(len(runs)))
    while active:
        for index in list(active):
            stream = streams[index]
            with torch.cuda.stream(stream) if stream is not None else nullcontext():
                try:
                    next(runs[index])
                except StopIteration as stop:
                    results[index] = stop.value
                    active.remove(index)
    for stream in streams:
        if stream is not None:
            caller.wait_stream(stream)
    return results
