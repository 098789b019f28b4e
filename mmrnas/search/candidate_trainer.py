"""Low-fidelity estimate of one candidate: one epoch of training, then validation."""
import math
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_dist_info
from mmengine.registry import OPTIMIZERS

from mmrnas.datasets import BatchAugment, DeviceDataset
from mmrnas.models.utils import batch_shard, convert_to_global_batch_norm
from .data_parallel import (all_reduce_gradients, all_reduce_sum, broadcast_random_states,
                            shard_bounds)

__all__ = ['CandidateResult', 'CandidateTrainer']


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
        """Whether training and validation losses are finite numbers."""
        return math.isfinite(self.train_loss) and math.isfinite(self.val_loss)


class CandidateTrainer:
    """Trains a candidate for one epoch and validates it (REFERENCE.md §4.2-4.3).

    Each candidate gets a fresh optimizer (no momentum carried over), the generation's lr,
    global grad-norm clipping and cross-entropy; validation runs in eval mode (BN running
    statistics just refreshed by the epoch) under ``no_grad``. Losses are accumulated on the
    device and read back once per epoch, so a CUDA epoch does not synchronise per step.

    In a process group of several processes (``tools/dist_search.sh``) the candidate trains
    data-parallel: every process starts from rank 0's random states, draws the same global
    batch, trains its shard (:func:`~mmrnas.search.data_parallel.shard_bounds`) with batch
    statistics and drop-path masks of the whole batch
    (:class:`~mmrnas.models.utils.GlobalBatchNorm2d`, :func:`~mmrnas.models.utils.batch_shard`)
    and sums gradients, losses and accuracies over processes: the result is that of one
    process, up to floating-point order.

    Args:
        train_set (DeviceDataset): The training half.
        val_set (DeviceDataset): The validation half.
        generator (torch.Generator): RNG for sample order and augmentation, on the data's
            device.
        batch_size (int): Training batch size (reference: 256).
        val_batch_size (int): Validation batch size (reference: 256).
        optimizer (dict): Optimizer config without ``lr`` and ``params``, built from MMEngine's
            ``OPTIMIZERS`` (reference: SGD, momentum 0.9, weight decay 3e-4).
        max_grad_norm (float, optional): Global L2 grad-norm clip (reference: 5); None
            disables clipping.
        train_augment (BatchAugment, optional): Training augmentation (reference: crop pad
            4, flip, cutout 16).
        val_augment (BatchAugment, optional): Validation augmentation; the reference validates
            with the training augmentation, the library default is none.
    """

    def __init__(self,
                 train_set: DeviceDataset,
                 val_set: DeviceDataset,
                 generator: torch.Generator,
                 batch_size: int = 256,
                 val_batch_size: int = 256,
                 optimizer: dict = dict(type='SGD', momentum=0.9, weight_decay=3e-4),
                 max_grad_norm: Optional[float] = 5.0,
                 train_augment: Optional[BatchAugment] = None,
                 val_augment: Optional[BatchAugment] = None):
        if 'lr' in optimizer or 'params' in optimizer:
            raise ValueError('the candidate optimizer config must not set lr or params: the '
                             'search sets them per candidate')
        self.train_set = train_set
        self.val_set = val_set
        self.generator = generator
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size
        self.optimizer = dict(optimizer)
        self.max_grad_norm = max_grad_norm
        self.train_augment = train_augment
        self.val_augment = val_augment

    def _shards(self, batches: Iterator[Tuple[torch.Tensor, torch.Tensor]]):
        """Yield ``(inputs, labels, batch size, drop-path context)`` of this process's shard of
        every global batch (the whole batch in one process)."""
        rank, world_size = get_dist_info()
        for inputs, labels in batches:
            size = labels.shape[0]
            if world_size == 1:
                yield inputs, labels, size, nullcontext()
                continue
            start, stop = shard_bounds(size, rank, world_size)
            yield inputs[start:stop], labels[start:stop], size, batch_shard(size, start, stop)

    def train_epoch(self, candidate: nn.Module, lr: float) -> float:
        """Train ``candidate`` in place for one epoch; return the mean training loss."""
        candidate.train()
        params = [p for p in candidate.parameters() if p.requires_grad]
        optimizer = OPTIMIZERS.build(dict(self.optimizer, params=params, lr=lr))
        total = torch.zeros((), device=self.train_set.device)
        batches = self.train_set.batches(self.batch_size, self.generator,
                                         augment=self.train_augment)
        for inputs, labels, size, shard in self._shards(batches):
            with shard:
                logits = candidate(inputs)
            if labels.shape[0] == size:
                loss = F.cross_entropy(logits, labels)
            else:  # a shard: its sum / the global batch size sums to the mean over processes
                loss = F.cross_entropy(logits, labels, reduction='sum') / size
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            all_reduce_gradients(params)
            if self.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            optimizer.step()
            total += loss.detach() * size
        return (all_reduce_sum(total) / len(self.train_set)).item()

    @torch.no_grad()
    def evaluate(self, candidate: nn.Module) -> tuple:
        """Mean validation loss and top-1 accuracy (%) of ``candidate`` in eval mode."""
        candidate.eval()
        summary = torch.zeros(2, device=self.val_set.device)  # loss sum, correct predictions
        shuffle = self.val_augment is not None
        batches = self.val_set.batches(
            self.val_batch_size, self.generator if shuffle else None, shuffle=shuffle,
            augment=self.val_augment)
        for inputs, labels, _, _ in self._shards(batches):
            logits = candidate(inputs)
            summary[0] += F.cross_entropy(logits, labels, reduction='sum')
            summary[1] += (logits.argmax(dim=1) == labels).sum()
        loss_sum, correct = all_reduce_sum(summary).tolist()
        return loss_sum / len(self.val_set), 100.0 * correct / len(self.val_set)

    def estimate(self, candidate: nn.Module, lr: float) -> CandidateResult:
        """Train one epoch, validate, and return the result with the trained state."""
        if get_dist_info()[1] > 1:
            broadcast_random_states(self.generator)
            candidate = convert_to_global_batch_norm(candidate)
        train_loss = self.train_epoch(candidate, lr)
        val_loss, val_accuracy = self.evaluate(candidate)
        result = CandidateResult(train_loss, val_loss, val_accuracy, None)
        if result.finite:
            result.state = candidate.state_dict()
        return result
