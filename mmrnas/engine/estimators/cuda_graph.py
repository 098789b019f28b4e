"""Running a per-batch step over an epoch, optionally replayed from a CUDA graph."""
from typing import Callable, Dict, Iterable, Iterator, Optional, Tuple

import torch

__all__ = ['iter_steps']

Batch = Tuple[torch.Tensor, torch.Tensor, int, object]  # inputs, labels, global size, context
_SIDE_STREAMS: Dict[Tuple[torch.device, int], torch.cuda.Stream] = {}


def _side_stream() -> torch.cuda.Stream:
    """The warm-up stream of the current stream, created once and then reused.

    PyTorch's caching allocator keeps freed memory for the stream that allocated it, and
    ``torch.cuda.Stream()`` hands out a pool's streams in turn, so a new side stream per epoch
    would leave each epoch's warm-up memory cached where no later epoch can use it.
    """
    current = torch.cuda.current_stream()
    key = (current.device, current.cuda_stream)
    if key not in _SIDE_STREAMS:
        _SIDE_STREAMS[key] = torch.cuda.Stream(current.device)
    return _SIDE_STREAMS[key]


def iter_steps(step: Callable[..., None],
               batches: Iterable[Batch],
               batch_size: int,
               use_graph: bool = False,
               warmup_steps: int = 3,
               before_step: Optional[Callable[[], None]] = None) -> Iterator[None]:
    """Call ``step(inputs, labels, size, context)`` on every batch of ``batches``, yielding
    after each batch (so that a caller can interleave the steps of several runs, see
    :func:`~mmrnas.engine.estimators.run_concurrently`). Work is queued on the stream that is
    current when the generator resumes.

    With ``use_graph`` (PyTorch's whole-network capture recipe), the first ``warmup_steps``
    full batches run eagerly on a side stream (lazy state such as optimizer buffers and cuDNN
    workspaces is created outside the graph), the next full batch is captured in a CUDA graph
    and every later full batch is copied into the captured input tensors and replayed: one
    launch instead of one per kernel. Batches of another size (the epoch's last) run eagerly.
    ``step`` must then keep its results on the device (no host reads) and accumulate into
    tensors created before the call.

    Args:
        step: The per-batch work (e.g. forward, backward and optimizer step).
        batches: ``(inputs, labels, global batch size, context)`` tuples, as the candidate
            trainer yields them.
        batch_size: Size of a full batch, the one that is captured.
        use_graph: Replay full batches from a CUDA graph (inputs on a CUDA device).
        warmup_steps: Eager full batches before the capture.
        before_step: Called before every eager step and before the capture (e.g.
            ``optimizer.zero_grad(set_to_none=True)``, so the captured backward owns the
            gradients), never before a replay.
    """
    before = before_step or (lambda: None)
    if not use_graph:
        for batch in batches:
            before()
            step(*batch)
            yield
        return
    graph, static, warmed = None, None, 0
    side = _side_stream()
    for inputs, labels, size, context in batches:
        if graph is not None and size == batch_size:
            static[0].copy_(inputs)
            static[1].copy_(labels)
            graph.replay()
            yield
            continue
        if size != batch_size or warmed < warmup_steps:
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                before()
                step(inputs, labels, size, context)
            torch.cuda.current_stream().wait_stream(side)
            warmed += size == batch_size
        else:
            static = (inputs.clone(), labels.clone())
            before()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                step(static[0], static[1], size, context)
            graph.replay()  # capturing records the step without running it
        yield
