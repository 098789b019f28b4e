"""Low-fidelity estimate of one candidate: one epoch of training, then validation."""
import math
from dataclasses import dataclass
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import OPTIMIZERS

from mmrnas.datasets import BatchAugment, DeviceDataset

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

    def train_epoch(self, candidate: nn.Module, lr: float) -> float:
        """Train ``candidate`` in place for one epoch; return the mean training loss."""
        candidate.train()
        params = [p for p in candidate.parameters() if p.requires_grad]
        optimizer = OPTIMIZERS.build(dict(self.optimizer, params=params, lr=lr))
        total = torch.zeros((), device=self.train_set.device)
        for inputs, labels in self.train_set.batches(
                self.batch_size, self.generator, augment=self.train_augment):
            loss = F.cross_entropy(candidate(inputs), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            optimizer.step()
            total += loss.detach() * labels.shape[0]
        return (total / len(self.train_set)).item()

    @torch.no_grad()
    def evaluate(self, candidate: nn.Module) -> tuple:
        """Mean validation loss and top-1 accuracy (%) of ``candidate`` in eval mode."""
        candidate.eval()
        loss_sum = torch.zeros((), device=self.val_set.device)
        correct = torch.zeros((), device=self.val_set.device, dtype=torch.int64)
        shuffle = self.val_augment is not None
        for inputs, labels in self.val_set.batches(
                self.val_batch_size, self.generator if shuffle else None, shuffle=shuffle,
                augment=self.val_augment):
            logits = candidate(inputs)
            loss_sum += F.cross_entropy(logits, labels, reduction='sum')
            correct += (logits.argmax(dim=1) == labels).sum()
        summary = torch.stack([loss_sum, correct.to(loss_sum.dtype)]).tolist()
        return summary[0] / len(self.val_set), 100.0 * summary[1] / len(self.val_set)

    def estimate(self, candidate: nn.Module, lr: float) -> CandidateResult:
        """Train one epoch, validate, and return the result with the trained state."""
        train_loss = self.train_epoch(candidate, lr)
        val_loss, val_accuracy = self.evaluate(candidate)
        result = CandidateResult(train_loss, val_loss, val_accuracy, None)
        if result.finite:
            result.state = candidate.state_dict()
        return result
