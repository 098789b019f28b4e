"""An estimator for loop tests, injected through the config as a user's would be
(``train_cfg.estimator=dict(type='ScriptedEstimator', ...)``): the real one-epoch estimate,
with scripted numbers where a test needs them."""
import dataclasses
import math
from typing import List, Optional, Sequence

from mmrnas.engine.estimators import CandidateResult, OneEpochEstimator
from mmrnas.registry import TASK_UTILS


@TASK_UTILS.register_module(force=True)
class ScriptedEstimator(OneEpochEstimator):
    """Estimates as the search does, then overrides what the test scripts.

    Args:
        metrics: ``(train_loss, val_loss, val_accuracy)`` of the n-th candidate estimated (the
            real numbers once the script runs out); the candidate still trains for real.
        non_finite: Genotypes (as text) whose estimate is NaN: not trained, no state.
        **options: ``OneEpochEstimator``'s.
    """

    def __init__(self, metrics: Sequence[Sequence[float]] = (),
                 non_finite: Sequence[str] = (), **options) -> None:
        super().__init__(**options)
        self.metrics = [tuple(m) for m in metrics]
        self.non_finite = set(non_finite)
        #: The lr of every candidate estimated, in order.
        self.lrs: List[float] = []

    def estimate(self, candidates, lr) -> List[CandidateResult]:
        trained = [c for c in candidates if str(c.genotype) not in self.non_finite]
        real = iter(super().estimate(trained, lr) if trained else [])
        results = []
        for candidate in candidates:
            result: Optional[CandidateResult] = (
                CandidateResult(math.nan, math.nan, 0.0, None)
                if str(candidate.genotype) in self.non_finite else next(real))
            if len(self.lrs) < len(self.metrics):
                train_loss, val_loss, val_accuracy = self.metrics[len(self.lrs)]
                result = dataclasses.replace(result, train_loss=train_loss, val_loss=val_loss,
                                             val_accuracy=val_accuracy)
            self.lrs.append(lr)
            results.append(result)
        return results
