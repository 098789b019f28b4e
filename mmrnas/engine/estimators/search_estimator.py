"""How the search estimates a candidate: the base of the registered parts chosen with
``train_cfg.estimator`` (``dict(type='OneEpochEstimator', ...)``, the paper's one-epoch
estimate, or your own class registered in ``mmrnas.registry.TASK_UTILS``)."""
from abc import abstractmethod
from typing import List, Optional, Sequence

import torch
from torch import nn

from mmrnas.datasets.batch_source import Augment
from mmrnas.search.search_part import SearchPart
from .candidate_trainer import CandidateResult

__all__ = ['SearchEstimator']


class SearchEstimator(SearchPart):
    """Base of an estimator: :meth:`setup` receives the search's data and optimizer once, then
    :meth:`estimate` returns a :class:`~mmrnas.engine.estimators.CandidateResult` per candidate
    (its losses, accuracy and the trained state the pair writes back).
    The constructor's arguments are its settings (recorded in checkpoints, checked on resume)."""

    key = 'estimator'
    example = 'OneEpochEstimator'

    def check_parts(self, teacher, budget) -> None:
        """Refuse, with one ``ValueError`` line, a teacher or budget this estimator cannot
        serve (called once the search has built them); the default accepts any."""

    @abstractmethod
    def setup(self, train_set, val_set, generator: torch.Generator, batch_size: int,
              val_batch_size: int, optimizer: dict, max_grad_norm: Optional[float],
              grad_norm_type: float, train_augment: Optional[Augment],
              val_augment: Optional[Augment]) -> None:
        """Receive the search's split (batch sources of the training and validation halves),
        its data generator, batch sizes, per-candidate optimizer (without ``lr``), grad-norm
        clip and augmentations."""

    @abstractmethod
    def use_split(self, train_set, val_set) -> None:
        """Estimate on another split from now on (a resume restores the checkpoint's)."""

    @abstractmethod
    def estimate(self, candidates: Sequence[nn.Module], lr: float) -> List[CandidateResult]:
        """Estimate independent candidates (a pair; the final members two by two) at ``lr``."""
