"""The paper's estimate with BatchNorm statistics re-estimated before validating, as a
registered part: ``train_cfg.estimator=dict(type='RecalibratedBNEstimator', batches=20)``."""
from typing import Any, Dict

from mmrnas.registry import TASK_UTILS
from .one_epoch_estimator import EXECUTION_DEFAULTS, OneEpochEstimator

__all__ = ['RecalibratedBNEstimator']


@TASK_UTILS.register_module()
class RecalibratedBNEstimator(OneEpochEstimator):
    """One epoch of training from the weight set, as :class:`OneEpochEstimator`; then every
    BatchNorm's running statistics are replaced by their plain average over ``batches``
    training batches (train mode, training augmentation, no gradients, no drop path), and the
    candidate is validated with them. The reference validates with the running averages its
    epoch left, which lag behind the weights of a short epoch; the recalibrated statistics are
    written back with the weights (:class:`~mmrnas.engine.estimators.CandidateTrainer`'s
    ``bn_recalibration_batches``).

    Args:
        batches (int): Training batches averaged. Defaults to 20.
        **execution: :class:`OneEpochEstimator`'s options (``precision``, ...).
    """

    def __init__(self, batches: int = 20, **execution: Any) -> None:
        if not isinstance(batches, int) or batches < 1:
            raise ValueError(f'RecalibratedBNEstimator needs batches >= 1 (training batches '
                             f'averaged), got {batches!r}')
        super().__init__(**execution)
        self.batches = batches

    @property
    def settings(self) -> Dict[str, Any]:
        """Its config with every argument's value, defaults included (a resume with
        ``batches`` spelled out or left to its default is the same search)."""
        values = {key: getattr(self, key) for key in EXECUTION_DEFAULTS}
        return {self.key: dict(self.config or dict(type=type(self).__name__), **values,
                               batches=self.batches)}

    def setup(self, *args: Any, **kwargs: Any) -> None:
        super().setup(*args, **kwargs)
        self.trainer.bn_recalibration_batches = self.batches
