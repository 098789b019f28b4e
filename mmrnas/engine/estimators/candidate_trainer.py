"""Low-fidelity estimate of one candidate: one epoch of training, then validation."""
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from typing import (
    Callable,
    ContextManager,
    Dict,
    Generator,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce, all_reduce_params, get_dist_info
from mmengine.registry import OPTIMIZERS

from mmrnas.datasets import BatchSource
from mmrnas.datasets.batch_source import Augment
from mmrnas.models.utils import batch_shard, convert_to_global_batch_norm
from mmrnas.search.slow_fast import estimate_is_finite
from ..data_parallel import broadcast_random_states, shard_bounds
from .concurrent import finish, run_concurrently
from .cuda_graph import iter_steps

__all__ = ['CandidateResult', 'CandidateTrainer', 'PRECISIONS']

PRECISIONS = ('fp32', 'bf16')
# Eager training steps before a candidate's step is captured (PyTorch's whole-network capture
# recipe): optimizer state and cuDNN/allocator warm-up happen outside the graph.
GRAPH_WARMUP_STEPS = 3


@dataclass
class CandidateResult:
    """What the search keeps of one candidate estimate.

    Attributes:
        train_loss (float): Mean cross-entropy over the training epoch.
        val_loss (float): Mean per-sample cross-entropy on the validation half.
        val_accuracy (float): Top-1 accuracy (%) on the validation half.
        state (dict, optional): The trained candidate's state dict (weight-set keys); None
            when the estimate is not finite.
    """
    train_loss: float
    val_loss: float
    val_accuracy: float
    state: Optional[Dict[str, torch.Tensor]]

    @property
    def finite(self) -> bool:
        """Whether the estimate is usable (:func:`~mmrnas.search.slow_fast.estimate_is_finite`:
        training and validation losses are finite numbers)."""
        return estimate_is_finite(self.train_loss, self.val_loss)


class CandidateTrainer:
    """Trains a candidate for one epoch and validates it (docs/reference.md §4.2-4.3).

    Each candidate gets a fresh optimizer (no momentum carried over), the generation's lr,
    global grad-norm clipping and cross-entropy; validation runs in eval mode (BN running
    statistics just refreshed by the epoch) under ``no_grad``. Losses are accumulated on the
    device and read back once per epoch, so a CUDA epoch does not synchronise per step.

    In a process group of several processes (``tools/dist_search.sh``) the candidate trains
    data-parallel: every process starts from rank 0's random states, draws the same global
    batch, trains its shard (:func:`~mmrnas.engine.data_parallel.shard_bounds`) with batch
    statistics and drop-path masks of the whole batch
    (:class:`~mmrnas.models.utils.GlobalBatchNorm2d`, :func:`~mmrnas.models.utils.batch_shard`)
    and sums gradients, losses and accuracies over processes: the result is that of one
    process, up to floating-point order.

    Args:
        train_set (BatchSource): The training half.
        val_set (BatchSource): The validation half.
        generator (torch.Generator): RNG for sample order and augmentation, on the data's
            device.
        batch_size (int): Training batch size (reference: 256).
        val_batch_size (int): Validation batch size (reference: 256).
        optimizer (dict): Optimizer config without ``lr`` and ``params``, built from MMEngine's
            ``OPTIMIZERS`` (reference: SGD, momentum 0.9, weight decay 3e-4).
        max_grad_norm (float, optional): Global grad-norm clip (reference: 5); None
            disables clipping.
        grad_norm_type (float): Norm of the clip (reference: 2, the L2 norm; ``inf`` for
            the max norm). Defaults to 2.
        train_augment (Augment, optional): Training augmentation, e.g. a
            :class:`~mmrnas.datasets.BatchAugment` (reference: crop pad 4, flip, cutout 16).
        val_augment (Augment, optional): Validation augmentation; the reference validates
            with the training augmentation, the library default is none.
        precision (str): ``'fp32'`` (reference) or ``'bf16'``: forward passes (training and
            validation) under bfloat16 autocast; losses, gradients, optimizer and weight set
            stay float32. Changes numbers, not the algorithm. Defaults to ``'fp32'``.
        channels_last (bool): Run candidates and batches in channels-last memory format (the
            weight set and its checkpoints keep the default format). Same arithmetic, other
            kernels; on a CPU it warns (slower there, and PyTorch's channels-last BatchNorm
            was measured less accurate, see ``benchmarks/README.md``). Defaults to False.
        cuda_graph (bool): Capture one full-batch training step of each candidate in a CUDA
            graph after :data:`GRAPH_WARMUP_STEPS` eager steps and replay it for the remaining
            full batches (the last, smaller batch runs eagerly); validation likewise after one
            eager batch (:func:`~mmrnas.engine.estimators.iter_steps`). Needs the data on a CUDA
            device and a single process. Drop-path masks come from the same generator but at
            other offsets than eager steps. Defaults to False.
        concurrent_pairs (bool): :meth:`estimate_many` trains and validates the members of
            a pair at the same time, each on its own CUDA stream with its own data generator
            (seeded from ``generator``), so that the GPU overlaps their kernels: they are
            independent until write-back. Other random numbers than one after the other
            (each member's data order and augmentation come from its own generator, drop-path
            masks from the shared global RNG in interleaved order), reproducible for a seed.
            Single process only; on a CPU it warns (no streams there, the members only
            interleave). Defaults to False.
        bn_recalibration_batches (int): Before validating, re-estimate every BatchNorm's
            running statistics as the plain average over this many training batches (train
            mode, training augmentation, no gradients, no drop path on a candidate with a
            ``drop_path_rate``; momentum and rate restored afterwards), instead
            of the running averages the epoch left (a deviation from the reference, which
            validates with the latter; 0, the default, keeps the reference). The recalibrated
            statistics are part of the state written back.
    """

    def __init__(self,
                 train_set: BatchSource,
                 val_set: BatchSource,
                 generator: torch.Generator,
                 batch_size: int = 256,
                 val_batch_size: int = 256,
                 optimizer: dict = dict(type='SGD', momentum=0.9, weight_decay=3e-4),
                 max_grad_norm: Optional[float] = 5.0,
                 grad_norm_type: float = 2.0,
                 train_augment: Optional[Augment] = None,
                 val_augment: Optional[Augment] = None,
                 precision: str = 'fp32',
                 channels_last: bool = False,
                 cuda_graph: bool = False,
                 concurrent_pairs: bool = False,
                 bn_recalibration_batches: int = 0):
        if bn_recalibration_batches < 0:
            raise ValueError(f'bn_recalibration_batches must be >= 0 (0: no recalibration), '
                             f'got {bn_recalibration_batches}')
        if 'lr' in optimizer or 'params' in optimizer:
            raise ValueError('the candidate optimizer config must not set lr or params: the '
                             'search sets them per candidate')
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')
        if channels_last and train_set.device.type == 'cpu':
            warnings.warn(
                'channels_last=True on a CPU: measured slower for the quickstart and with '
                'larger rounding errors in BatchNorm (gradients up to 17% off float64 on digits '
                'against 0.4% in the default layout, see benchmarks/README.md); it is meant '
                'for GPUs', stacklevel=2)
        if cuda_graph and train_set.device.type != 'cuda':
            raise ValueError(f'cuda_graph=True needs the search data on a CUDA device, but it '
                             f'is on {train_set.device}: run the search on a GPU or set '
                             f'cuda_graph=False')
        if concurrent_pairs and train_set.device.type == 'cpu':
            warnings.warn('concurrent_pairs=True on a CPU: without CUDA streams the members of '
                          'a pair only interleave, nothing runs at the same time; it is meant '
                          'for GPUs', stacklevel=2)
        self.train_set = train_set
        self.val_set = val_set
        self.generator = generator
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size
        self.optimizer = dict(optimizer)
        self.max_grad_norm = max_grad_norm
        self.grad_norm_type = grad_norm_type
        self.train_augment = train_augment
        self.val_augment = val_augment
        self.precision = precision
        self.channels_last = channels_last
        self.cuda_graph = cuda_graph
        self.concurrent_pairs = concurrent_pairs
        self.bn_recalibration_batches = bn_recalibration_batches
        # One CUDA stream per concurrent member, kept: cached memory serves only its stream.
        self._member_streams: List[torch.cuda.Stream] = []

    def _autocast(self) -> ContextManager:
        """bfloat16 autocast for ``precision='bf16'`` (its weight-cast cache is off when steps
        are captured in a graph), else nothing."""
        if self.precision == 'fp32':
            return nullcontext()
        return torch.autocast(self.train_set.device.type, dtype=torch.bfloat16,
                              cache_enabled=not self.cuda_graph)

    def _layout(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.contiguous(memory_format=torch.channels_last) if self.channels_last \
            else inputs

    def _shards(self, batches: Iterator[Tuple[torch.Tensor, torch.Tensor]]):
        """Yield ``(inputs, labels, batch size, drop-path context)`` of this process's shard of
        every global batch (the whole batch in one process), inputs in the run's layout."""
        rank, world_size = get_dist_info()
        if world_size > 1 and self.cuda_graph:
            raise ValueError('cuda_graph=True runs in a single process; set cuda_graph=False '
                             'for a distributed search')
        for inputs, labels in batches:
            size = labels.shape[0]
            if world_size == 1:
                yield self._layout(inputs), labels, size, nullcontext()
                continue
            start, stop = shard_bounds(size, rank, world_size)
            yield (self._layout(inputs[start:stop]), labels[start:stop], size,
                   batch_shard(size, start, stop))

    def _step_fn(self, candidate: nn.Module, optimizer, params: List[nn.Parameter],
                 total: torch.Tensor) -> Callable:
        """One training step on a batch shard: forward, loss, backward, gradient all-reduce,
        grad-norm clip, optimizer step; adds ``loss * global batch size`` to ``total``. The
        same function runs eagerly and inside a CUDA graph."""

        def step(inputs: torch.Tensor, labels: torch.Tensor, size: int,
                 shard: ContextManager) -> None:
            with shard, self._autocast():
                logits = candidate(inputs)
            logits = logits.float()
            if labels.shape[0] == size:
                loss = F.cross_entropy(logits, labels)
            else:  # a shard: its sum / the global batch size sums to the mean over processes
                loss = F.cross_entropy(logits, labels, reduction='sum') / size
            loss.backward()
            # summed over processes, one flat buffer (a no-op in one process)
            all_reduce_params([p.grad for p in params if p.grad is not None], op='sum')
            if self.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(params, self.max_grad_norm, self.grad_norm_type)
            optimizer.step()
            total.add_(loss.detach() * size)

        return step

    def _train_steps(self, candidate: nn.Module, lr: float,
                     generator: torch.Generator) -> Generator[None, None, torch.Tensor]:
        """Train ``candidate`` in place for one epoch, yielding after every step; return the
        training loss summed over samples (on the device, this process's part)."""
        if self.channels_last:
            candidate.to(memory_format=torch.channels_last)
        candidate.train()
        params = [p for p in candidate.parameters() if p.requires_grad]
        optimizer = OPTIMIZERS.build(dict(self.optimizer, params=params, lr=lr))
        total = torch.zeros((), device=self.train_set.device)
        step = self._step_fn(candidate, optimizer, params, total)
        batches = self._shards(
            self.train_set.batches(self.batch_size, generator, augment=self.train_augment))
        yield from iter_steps(step, batches, self.batch_size, self.cuda_graph, GRAPH_WARMUP_STEPS,
                              before_step=lambda: optimizer.zero_grad(set_to_none=True))
        return total

    def _evaluate_steps(self, candidate: nn.Module,
                        generator: torch.Generator) -> Generator[None, None, torch.Tensor]:
        """Validate ``candidate`` in eval mode, yielding after every batch; return the
        validation loss sum and the number of correct predictions (on the device)."""
        candidate.eval()
        summary = torch.zeros(2, device=self.val_set.device)  # loss sum, correct predictions
        shuffle = self.val_augment is not None
        batches = self.val_set.batches(
            self.val_batch_size, generator if shuffle else None, shuffle=shuffle,
            augment=self.val_augment)

        @torch.no_grad()  # per step: grad mode is global, and steps of runs interleave
        def step(inputs: torch.Tensor, labels: torch.Tensor, *_) -> None:
            with self._autocast():
                logits = candidate(inputs).float()
            summary[0] += F.cross_entropy(logits, labels, reduction='sum')
            summary[1] += (logits.argmax(dim=1) == labels).sum()

        yield from iter_steps(step, self._shards(batches), self.val_batch_size, self.cuda_graph,
                              warmup_steps=1)
        return summary

    def _recalibrate_steps(self, candidate: nn.Module,
                           generator: torch.Generator) -> Generator[None, None, None]:
        """Reset the running statistics of ``candidate``'s BatchNorms and average them over
        ``bn_recalibration_batches`` training batches (eagerly, drop path off, as validation
        runs), yielding after every batch. Batch ``i`` enters with momentum ``1 / (i + 1)``:
        the plain average, without reading a counter back from the device; the momenta and
        the drop-path rate are restored however the steps end."""
        norms = [module for module in candidate.modules()
                 if isinstance(module, nn.modules.batchnorm._BatchNorm)
                 and module.track_running_stats]
        momenta = [norm.momentum for norm in norms]
        drop_path_rate = getattr(candidate, 'drop_path_rate', None)
        batches = self._shards(
            self.train_set.batches(self.batch_size, generator, augment=self.train_augment))
        try:
            if drop_path_rate is not None:
                candidate.drop_path_rate = 0.0
            for norm in norms:
                norm.reset_running_stats()
            candidate.train()
            for index, (inputs, _labels, _size, shard) in zip(
                    range(self.bn_recalibration_batches), batches):
                for norm in norms:
                    norm.momentum = 1.0 / (index + 1)
                with torch.no_grad(), shard, self._autocast():
                    candidate(inputs)
                yield
        finally:
            for norm, momentum in zip(norms, momenta):
                norm.momentum = momentum
            if drop_path_rate is not None:
                candidate.drop_path_rate = drop_path_rate

    def _estimate_steps(self, candidate: nn.Module, lr: float, generator: torch.Generator
                        ) -> Generator[None, None, Tuple[torch.Tensor, torch.Tensor]]:
        total = yield from self._train_steps(candidate, lr, generator)
        if self.bn_recalibration_batches:
            yield from self._recalibrate_steps(candidate, generator)
        summary = yield from self._evaluate_steps(candidate, generator)
        return total, summary

    def _mean_train_loss(self, total: torch.Tensor) -> float:
        all_reduce(total, op='sum')  # in place, over processes
        return (total / len(self.train_set)).item()

    def _val_metrics(self, summary: torch.Tensor) -> Tuple[float, float]:
        all_reduce(summary, op='sum')
        loss_sum, correct = summary.tolist()
        return loss_sum / len(self.val_set), 100.0 * correct / len(self.val_set)

    def train_epoch(self, candidate: nn.Module, lr: float) -> float:
        """Train ``candidate`` in place for one epoch; return the mean training loss."""
        return self._mean_train_loss(finish(self._train_steps(candidate, lr, self.generator)))

    def evaluate(self, candidate: nn.Module) -> tuple:
        """Mean validation loss and top-1 accuracy (%) of ``candidate`` in eval mode."""
        return self._val_metrics(finish(self._evaluate_steps(candidate, self.generator)))

    def _result(self, candidate: nn.Module, total: torch.Tensor,
                summary: torch.Tensor) -> CandidateResult:
        result = CandidateResult(self._mean_train_loss(total), *self._val_metrics(summary),
                                 None)
        if result.finite:
            result.state = candidate.state_dict()
        return result

    def estimate(self, candidate: nn.Module, lr: float) -> CandidateResult:
        """Train one epoch, validate, and return the result with the trained state."""
        if get_dist_info()[1] > 1:
            broadcast_random_states(self.generator)
            candidate = convert_to_global_batch_norm(candidate)
        return self._result(candidate,
                            *finish(self._estimate_steps(candidate, lr, self.generator)))

    def estimate_many(self, candidates: Sequence[nn.Module], lr: float) -> List[CandidateResult]:
        """Estimate several independent candidates (a pair; the final members two by two).

        By default one after the other with :meth:`estimate`. With ``concurrent_pairs`` every
        candidate gets its own data generator, seeded from the trainer's generator (one draw
        per candidate, in order), and its own CUDA stream (the same streams for every call),
        and their steps are queued in turn (:func:`~mmrnas.engine.estimators.run_concurrently`).
        """
        if not self.concurrent_pairs:
            return [self.estimate(candidate, lr) for candidate in candidates]
        if get_dist_info()[1] > 1:
            raise ValueError('concurrent_pairs=True runs in a single process; set '
                             'concurrent_pairs=False for a distributed search')
        device = self.train_set.device
        seeds = torch.randint(0, 2**62, (len(candidates), ), generator=self.generator,
                              device=device).tolist()
        generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds]
        streams = None
        if device.type == 'cuda':
            while len(self._member_streams) < len(candidates):
                self._member_streams.append(torch.cuda.Stream(device))
            streams = self._member_streams[:len(candidates)]
        outputs = run_concurrently(
            [self._estimate_steps(c, lr, g) for c, g in zip(candidates, generators)], streams)
        return [self._result(c, *output) for c, output in zip(candidates, outputs)]
