"""Training-free estimates as a registered part: ``train_cfg.estimator=dict(
type='TrainingFreeEstimator', score='naswot', batch_size=128)``."""
import math
from typing import Any, Dict, Optional

import torch

from mmrnas.registry import TASK_UTILS
from .candidate_trainer import CandidateResult
from .search_estimator import SearchEstimator
from .zero_cost import ZERO_COST_SCORES

__all__ = ['TrainingFreeEstimator']


@TASK_UTILS.register_module()
class TrainingFreeEstimator(SearchEstimator):
    """Scores each candidate, as the weight set holds it, without training it
    (:mod:`~mmrnas.engine.estimators.zero_cost`): nothing is trained, so the weight set keeps
    its initial weights and the pair write-back changes nothing. A deviation from the paper,
    whose estimate is one epoch of training.

    The result's ``val_loss`` is minus the score (the teacher and the final selection take the
    lower, i.e. the higher score), ``train_loss`` is 0, ``val_accuracy`` NaN (recorded as
    None) and the state None (nothing to write back). Every candidate sees the same images:
    the first ``batch_size`` of the training half in an order fixed by seed 0 (the same after
    a resume). Having no accuracy and no cross-entropy, it refuses the teacher criterion
    ``'accuracy'`` and budget objectives (their hypervolume scales the loss of a uniform
    guess); constraints are fine. In a distributed search every process computes every score
    (the same numbers): more processes do not make it faster.

    Args:
        score (str): ``'naswot'`` (Mellor et al. 2021) or ``'synflow'`` (Tanaka et al. 2020;
            it uses only the images' shape). Defaults to ``'naswot'``.
        batch_size (int): Images the score sees. Defaults to 128.
    """

    def __init__(self, score: str = 'naswot', batch_size: int = 128) -> None:
        if score not in ZERO_COST_SCORES:
            raise ValueError(f'TrainingFreeEstimator score must be one of '
                             f'{", ".join(map(repr, ZERO_COST_SCORES))}, got {score!r}')
        if not isinstance(batch_size, int) or batch_size < 2:
            raise ValueError(f'TrainingFreeEstimator needs batch_size >= 2, got {batch_size!r}')
        self.score = score
        self.batch_size = batch_size
        self.train_set = None
        self._inputs: Optional[torch.Tensor] = None

    @property
    def settings(self) -> Dict[str, Any]:
        """Its config with every argument's value, defaults included."""
        return {self.key: dict(self.config or dict(type=type(self).__name__),
                               score=self.score, batch_size=self.batch_size)}

    def check_parts(self, teacher, budget) -> None:
        if getattr(teacher, 'criterion', None) == 'accuracy':
            raise ValueError("train_cfg.estimator TrainingFreeEstimator gives no accuracy: use "
                             "the teacher criterion 'loss' (minus the score)")
        if getattr(budget, 'objectives', ()):
            raise ValueError('train_cfg.estimator TrainingFreeEstimator gives a score, not a '
                             'cross-entropy, which the objectives\' hypervolume needs: search '
                             'with constraints only, or with the one-epoch estimate')

    def setup(self, train_set, val_set, generator, batch_size, val_batch_size, optimizer,
              max_grad_norm, grad_norm_type, train_augment, val_augment) -> None:
        self.use_split(train_set, val_set)

    def use_split(self, train_set, val_set) -> None:
        self.train_set, self._inputs = train_set, None

    def inputs(self) -> torch.Tensor:
        """The images every candidate is scored on (drawn once per split)."""
        if self._inputs is None:
            generator = torch.Generator(device=self.train_set.device).manual_seed(0)
            self._inputs = next(self.train_set.batches(self.batch_size, generator))[0]
        return self._inputs

    def estimate(self, candidates, lr):
        score = ZERO_COST_SCORES[self.score]
        return [CandidateResult(train_loss=0.0, val_loss=-score(candidate, self.inputs()),
                                val_accuracy=math.nan, state=None)
                for candidate in candidates]
