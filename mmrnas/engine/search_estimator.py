"""How the search estimates a candidate: registered parts chosen with ``train_cfg.estimator``
(``dict(type='OneEpochEstimator', precision='fp32', channels_last=False, cuda_graph=False,
concurrent_pairs=False)``, the paper's one-epoch estimate, or your own class registered in
``mmrnas.registry.TASK_UTILS``). The flat ``train_cfg.precision``, ``channels_last``,
``cuda_graph`` and ``concurrent_pairs`` of earlier versions are shorthands for the first."""
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import nn

from mmrnas.datasets import BatchAugment
from mmrnas.registry import TASK_UTILS
from mmrnas.search.candidate_trainer import CandidateResult, CandidateTrainer
from mmrnas.search.search_part import build_search_part

__all__ = ['SearchEstimator', 'OneEpochEstimator', 'build_search_estimator', 'EXECUTION_DEFAULTS']

#: The flat ``train_cfg`` keys that are shorthands for ``OneEpochEstimator``'s arguments, and
#: their defaults.
EXECUTION_DEFAULTS = dict(precision='fp32', channels_last=False, cuda_graph=False,
                          concurrent_pairs=False)


class SearchEstimator(ABC):
    """Base of an estimator: :meth:`setup` receives the search's data and optimizer once, then
    :meth:`estimate` returns a :class:`~mmrnas.search.candidate_trainer.CandidateResult` per
    candidate (its losses, accuracy and the trained state the pair writes back).
    The constructor's arguments are its settings (recorded in checkpoints, checked on resume)."""

    #: The shipped part a message names as an example.
    example = 'OneEpochEstimator'
    #: The config that built it (set by :func:`~mmrnas.search.search_part.build_search_part`).
    config: Optional[dict] = None

    @property
    def settings(self) -> Dict[str, Any]:
        """What the search records of this part: ``estimator``, the config that built it."""
        return dict(estimator=self.config)

    @abstractmethod
    def setup(self, train_set, val_set, generator: torch.Generator, batch_size: int,
              val_batch_size: int, optimizer: dict, max_grad_norm: Optional[float],
              grad_norm_type: float, train_augment: Optional[BatchAugment],
              val_augment: Optional[BatchAugment]) -> None:
        """Receive the search's split (batch sources of the training and validation halves),
        its data generator, batch sizes, per-candidate optimizer (without ``lr``), grad-norm
        clip and augmentations."""

    @abstractmethod
    def use_split(self, train_set, val_set) -> None:
        """Estimate on another split from now on (a resume restores the checkpoint's)."""

    @abstractmethod
    def estimate(self, candidates: Sequence[nn.Module], lr: float) -> List[CandidateResult]:
        """Estimate independent candidates (a pair; the final members two by two) at ``lr``."""


@TASK_UTILS.register_module()
class OneEpochEstimator(SearchEstimator):
    """The paper's estimate (docs/reference.md §4.2-4.3): one epoch of training on the
    training half from the weight set, then validation on the other half
    (:class:`~mmrnas.search.candidate_trainer.CandidateTrainer`, which documents the options).

    Args:
        precision (str): ``'fp32'`` (reference) or ``'bf16'`` autocast of forward passes.
        channels_last (bool): Channels-last memory format for candidates and batches.
        cuda_graph (bool): Replay each candidate's training step from a CUDA graph (single
            GPU only).
        concurrent_pairs (bool): Train the members of a pair at the same time on two CUDA
            streams (single GPU only).
    """

    def __init__(self, precision: str = 'fp32', channels_last: bool = False,
                 cuda_graph: bool = False, concurrent_pairs: bool = False) -> None:
        self.precision = precision
        self.channels_last = channels_last
        self.cuda_graph = cuda_graph
        self.concurrent_pairs = concurrent_pairs
        self.trainer: Optional[CandidateTrainer] = None

    @property
    def settings(self) -> Dict[str, Any]:
        """The four execution options, under the keys earlier versions recorded (a subclass
        records its config)."""
        if type(self) is not OneEpochEstimator:
            return super().settings
        return {key: getattr(self, key) for key in EXECUTION_DEFAULTS}

    def setup(self, train_set, val_set, generator, batch_size, val_batch_size, optimizer,
              max_grad_norm, grad_norm_type, train_augment, val_augment) -> None:
        self.trainer = CandidateTrainer(
            train_set, val_set, generator=generator, batch_size=batch_size,
            val_batch_size=val_batch_size, optimizer=optimizer, max_grad_norm=max_grad_norm,
            grad_norm_type=grad_norm_type, train_augment=train_augment, val_augment=val_augment,
            **{key: getattr(self, key) for key in EXECUTION_DEFAULTS})

    def use_split(self, train_set, val_set) -> None:
        self.trainer.train_set, self.trainer.val_set = train_set, val_set

    def estimate(self, candidates, lr):
        return self.trainer.estimate_many(candidates, lr)


def build_search_estimator(cfg: Optional[dict], execution: Dict[str, Any]) -> SearchEstimator:
    """The part ``train_cfg.estimator`` describes.

    Args:
        cfg: ``dict(type=...)``, or None: ``OneEpochEstimator`` with ``execution``.
        execution: The flat ``train_cfg`` shorthands (keys of :data:`EXECUTION_DEFAULTS`).

    Raises:
        ValueError: an unknown estimator, or shorthands set beside ``estimator``.
    """
    if cfg is None:
        return OneEpochEstimator(**execution)
    changed = {k: v for k, v in execution.items() if v != EXECUTION_DEFAULTS[k]}
    if changed:
        raise ValueError(f'train_cfg.{", train_cfg.".join(changed)} set beside '
                         f'train_cfg.estimator: they are now spelled inside it, e.g. '
                         f"estimator=dict(type='OneEpochEstimator', "
                         f'{", ".join(f"{k}={v!r}" for k, v in changed.items())})')
    return build_search_part('estimator', cfg, SearchEstimator)
