"""The paper's one-epoch estimate as a registered part (``train_cfg.estimator=dict(
type='OneEpochEstimator', precision='fp32', channels_last=False, cuda_graph=False,
concurrent_pairs=False)``), and the builder of ``train_cfg.estimator``: the flat
``train_cfg.precision``, ``channels_last``, ``cuda_graph`` and ``concurrent_pairs`` of earlier
versions are shorthands for this part."""
from typing import Any, Dict, Optional

from mmrnas.registry import TASK_UTILS
from mmrnas.search.search_part import build_search_part
from .candidate_trainer import CandidateTrainer
from .search_estimator import SearchEstimator

__all__ = ['OneEpochEstimator', 'build_search_estimator', 'EXECUTION_DEFAULTS']

#: The flat ``train_cfg`` keys that are shorthands for ``OneEpochEstimator``'s arguments, and
#: their defaults.
EXECUTION_DEFAULTS = dict(precision='fp32', channels_last=False, cuda_graph=False,
                          concurrent_pairs=False)


@TASK_UTILS.register_module()
class OneEpochEstimator(SearchEstimator):
    """The paper's estimate (docs/reference.md §4.2-4.3): one epoch of training on the
    training half from the weight set, then validation on the other half
    (:class:`~mmrnas.engine.estimators.CandidateTrainer`, which documents the options).

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
