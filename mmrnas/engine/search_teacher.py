"""Who teaches in a pair: registered parts chosen with ``train_cfg.teacher``
(``dict(type='PairTeacher', criterion='loss')``, or your own class registered in
``mmrnas.registry.TASK_UTILS``); the flat ``train_cfg.teacher_criterion`` of earlier versions
is the shorthand for ``PairTeacher``'s criterion."""
import math
from abc import abstractmethod
from typing import Any, Dict, Optional, Sequence

from mmrnas.registry import TASK_UTILS
from mmrnas.search.search_part import SearchPart, build_search_part
from mmrnas.search.slow_fast import TEACHER_CRITERIA, select_teacher
from mmrnas.structures import Genotype
from .estimators import CandidateResult

__all__ = ['SearchTeacher', 'PairTeacher', 'build_search_teacher']


class SearchTeacher(SearchPart):
    """Base of a teacher rule: :meth:`choose` picks the teacher of a pair, :meth:`rank_key`
    orders estimates the same way for the final selection."""

    key = 'teacher'
    example = 'PairTeacher'

    @abstractmethod
    def choose(self, members: Sequence[Genotype], results: Sequence[CandidateResult],
               budget) -> int:
        """0 or 1: the teacher of the pair ``members`` with estimates ``results``, under the
        search's budget (:class:`~mmrnas.search.NoBudget` without constraints and cost
        objectives)."""

    @abstractmethod
    def rank_key(self, loss: Optional[float], accuracy: Optional[float]) -> tuple:
        """Sort key of an estimate: lower is better (non-finite estimates last)."""


@TASK_UTILS.register_module()
class PairTeacher(SearchTeacher):
    """The budget's rules first (feasibility, then Pareto dominance and hypervolume with cost
    objectives) when both estimates are finite, then the criterion
    (:func:`~mmrnas.search.select_teacher`: non-finite estimates lose, ties go to the first
    member).

    Args:
        criterion (str): ``'loss'`` (the reference: lower validation loss) or ``'accuracy'``
            (higher accuracy, ties by loss).
    """

    def __init__(self, criterion: str = 'loss') -> None:
        if criterion not in TEACHER_CRITERIA:
            raise ValueError(f'teacher_criterion must be one of {TEACHER_CRITERIA}, got '
                             f'{criterion!r}')
        self.criterion = criterion

    @property
    def settings(self) -> Dict[str, Any]:
        if type(self) is not PairTeacher:  # a subclass records its config
            return super().settings
        return dict(teacher_criterion=self.criterion)  # as earlier versions recorded it

    def choose(self, members, results, budget) -> int:
        if results[0].finite and results[1].finite:
            decided = budget.teacher(list(members), [r.val_loss for r in results])
            if decided is not None:
                return decided
        return select_teacher(results[0].val_loss, results[1].val_loss, results[0].val_accuracy,
                              results[1].val_accuracy, self.criterion, results[0].train_loss,
                              results[1].train_loss)

    def rank_key(self, loss, accuracy) -> tuple:
        loss = math.inf if loss is None else loss
        if self.criterion == 'accuracy':
            return (-(-math.inf if accuracy is None else accuracy), loss)
        return (loss, )


def build_search_teacher(cfg: Optional[dict], criterion: str) -> SearchTeacher:
    """The part ``train_cfg.teacher`` describes.

    Args:
        cfg: ``dict(type=...)``, or None: ``PairTeacher(criterion)``.
        criterion: ``train_cfg.teacher_criterion``, the shorthand.

    Raises:
        ValueError: an unknown rule, or ``teacher_criterion`` changed beside ``teacher``.
    """
    if cfg is None:
        return PairTeacher(criterion)
    if criterion != 'loss':
        raise ValueError(f'train_cfg.teacher_criterion={criterion!r} set beside train_cfg.teacher'
                         f": it is now spelled inside it, e.g. teacher=dict(type='PairTeacher', "
                         f'criterion={criterion!r})')
    return build_search_part('teacher', cfg, SearchTeacher)
