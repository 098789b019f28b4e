"""How mmrnas times a network or a part of one: a stated protocol on one backend and device.

The protocol: inference (eval mode, no autograd) on a fixed random input of ``batch_size``
images, ``WARMUP`` untimed runs, then the median of ``REPEATS`` timed runs, each from the call
to the output being ready (``torch.cuda.synchronize`` on CUDA), with the thread count pinned
for the measurement (PyTorch's ``torch.set_num_threads``, ONNX Runtime's
``intra_op_num_threads``). CPU frequency scaling and other processes are not controlled: time
on an otherwise idle machine.
"""
import contextlib
import importlib.util
import platform
import statistics
import time
from typing import Callable, Iterator, Optional, Tuple

import torch
import torch.nn as nn

__all__ = [
    'BACKENDS', 'DEVICES', 'WARMUP', 'REPEATS', 'check_backend', 'device_name', 'pinned_threads',
    'time_module'
]

#: ``latency.backend`` values: PyTorch eager, ONNX Runtime (CPU) on the exported network.
BACKENDS = ('torch', 'onnxruntime')
#: ``latency.device`` values.
DEVICES = ('cpu', 'cuda')
#: Untimed runs before the timed ones.
WARMUP = 10
#: Timed runs; their median is the latency.
REPEATS = 30


def check_backend(backend: str, device: str, name: str = 'latency',
                  here: bool = True) -> None:
    """One ValueError, before any work, when ``backend`` on ``device`` is not a choice or, with
    ``here``, cannot run on this machine.

    Args:
        backend: One of :data:`BACKENDS`.
        device: One of :data:`DEVICES`.
        name: Where the setting is in the config (named by messages).
        here: Also check that this machine runs it (not needed to predict from a stored
            table).
    """
    if backend not in BACKENDS:
        raise ValueError(f'{name}.backend must be one of {BACKENDS}, got {backend!r}')
    if device not in DEVICES:
        raise ValueError(f'{name}.device must be one of {DEVICES}, got {device!r}')
    if not here:
        return
    if device == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f"{name}.device='cuda' but this machine has no CUDA device: time on "
                         f"device='cpu', or run on the machine you will deploy on")
    if backend == 'onnxruntime':
        if device != 'cpu':
            raise ValueError(f"{name}: backend='onnxruntime' times on the CPU here; set "
                             f"device='cpu'")
        missing = [package for package in ('onnxruntime', 'onnx', 'onnxscript')
                   if importlib.util.find_spec(package) is None]
        if missing:
            raise ValueError(f"{name}.backend='onnxruntime' but {', '.join(missing)} "
                             f"{'is' if len(missing) == 1 else 'are'} not installed (the "
                             f'export and its runtime): bash tools/setup_env.sh (they are in '
                             f'the core level), or pip install {" ".join(missing)}')


def device_name(backend: str, device: str) -> str:
    """The hardware the numbers belong to: the CUDA device's name, or the CPU's model."""
    if device == 'cuda':
        return torch.cuda.get_device_name()
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    return platform.processor() or platform.machine()


@contextlib.contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """PyTorch's intra-op thread count set to ``threads`` inside, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _median_ms(run: Callable[[], object], sync: Callable[[], None]) -> float:
    for _ in range(WARMUP):
        run()
    sync()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def _onnxruntime_run(module: nn.Module, inputs: torch.Tensor,
                     threads: int) -> Callable[[], object]:
    from mmrnas.models.utils.onnx_export import export_onnx, onnxruntime_session
    session = onnxruntime_session(export_onnx(module, inputs), threads)
    feed = {session.get_inputs()[0].name: inputs.numpy()}
    return lambda: session.run(None, feed)


def time_module(module: nn.Module, input_shape: Tuple[int, ...], backend: str, device: str,
                threads: int, seed: Optional[int] = 0) -> float:
    """The latency of ``module`` on one input of ``input_shape`` (batch first), in ms, by the
    protocol above.

    Args:
        module: The network or part; put in eval mode (the caller's copy is not moved back).
            On ONNX Runtime a module that returns its input (an identity) takes 0 ms: its
            export has no node to run.
        input_shape: ``(batch, channels, height, width)``.
        backend: ``'torch'`` or ``'onnxruntime'``.
        device: ``'cpu'`` or ``'cuda'`` (where the module and input go, torch only).
        threads: Intra-op threads during the measurement.
        seed: Seeds the random input.
    """
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(input_shape, generator=generator)
    module = module.eval()
    with pinned_threads(threads), torch.no_grad():
        if backend == 'onnxruntime':
            if module(inputs) is inputs:  # an identity exports to no node: nothing runs
                return 0.0
            return _median_ms(_onnxruntime_run(module, inputs, threads), lambda: None)
        target = torch.device(device)
        module = module.to(target)
        inputs = inputs.to(target)
        sync = torch.cuda.synchronize if target.type == 'cuda' else (lambda: None)
        return _median_ms(lambda: module(inputs), sync)
