"""What a RelativeNAS search publishes: its per-generation records in MMEngine's MessageHub
(read by the hooks) and its numbers as scalars for the visualizer (TensorBoard, W&B, ...).

A generation record (``history.jsonl`` holds one per line) is a dict with ``generation``
(numbered from 1), ``lr``, ``drop_path_rate``, ``diversity``, ``seconds``, ``population`` and
``pairs``; each pair has ``members``, ``teacher``, ``skipped`` and per member ``train_loss``,
``val_loss``, ``val_accuracy`` (None where not finite). A search with a budget adds
``feasible_share`` (constraints) to the generation and ``costs`` (params and mult-adds of
each member's retraining network) and ``violation`` (constraints) to each pair.
"""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = [
    'HISTORY_KEY', 'FINAL_KEY', 'ARCHIVE_KEY', 'PAIR_KEY', 'generation_summary', 'pair_scalars',
    'pair_record', 'finite_or_none', 'finite_scalars', 'publish_scalars', 'search_history',
    'search_final', 'search_archive', 'search_pair'
]

#: MessageHub info key of the list of generation records (the search's history so far).
HISTORY_KEY = 'search/history'
#: MessageHub info key of the final selection (None until the search has made it).
FINAL_KEY = 'search/final'
#: MessageHub info key of the archive of estimates of a multi-objective search.
ARCHIVE_KEY = 'search/archive'
#: MessageHub info key of the record of the pair just decided (read after each iteration).
PAIR_KEY = 'search/pair'


def _usable(pair: Dict[str, Any], position: int) -> bool:
    """A member's estimate counts when both its losses are finite (recorded, not None)."""
    return pair['train_loss'][position] is not None and pair['val_loss'][position] is not None


def _mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def generation_summary(record: Dict[str, Any]) -> Dict[str, float]:
    """The numbers of one generation: its lr, drop-path rate, diversity and seconds, and the
    mean validation loss of the teachers and of the students, and the best teacher's, over
    the pairs that were not skipped and the members whose estimate is finite (NaN when none
    is); with constraints also the share of feasible individuals."""
    roles: Dict[str, List[float]] = {'teacher': [], 'student': []}
    for pair in record['pairs']:
        if pair['skipped']:
            continue
        for position, member in enumerate(pair['members']):
            if _usable(pair, position):
                role = 'teacher' if member == pair['teacher'] else 'student'
                roles[role].append(pair['val_loss'][position])
    summary = dict(lr=record['lr'], drop_path_rate=record['drop_path_rate'],
                   diversity=record['diversity'], seconds=record['seconds'],
                   mean_teacher_val_loss=_mean(roles['teacher']),
                   mean_student_val_loss=_mean(roles['student']),
                   best_teacher_val_loss=min(roles['teacher'], default=math.nan))
    if 'feasible_share' in record:
        summary['feasible_share'] = record['feasible_share']
    return summary


def pair_record(members: Tuple[int, int], teacher: int, skipped: bool,
                results: Sequence[Any]) -> Dict[str, Any]:
    """The record of a pair: population indices of its ``members``, the teacher's (``teacher``
    is 0 or 1), whether it was skipped, and each member's estimate (a
    :class:`~mmrnas.engine.estimators.CandidateResult`; None where not finite)."""
    return dict(members=[int(m) for m in members], teacher=int(members[teacher]),
                skipped=skipped,
                train_loss=[finite_or_none(r.train_loss) for r in results],
                val_loss=[finite_or_none(r.val_loss) for r in results],
                val_accuracy=[finite_or_none(r.val_accuracy) for r in results])


def finite_or_none(value: float) -> Optional[float]:
    """JSON-safe number: non-finite values become None."""
    return value if math.isfinite(value) else None


def pair_scalars(pair: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """The teacher's and the student's validation loss and accuracy of a recorded pair."""
    teacher = pair['members'].index(pair['teacher'])
    scalars = {}
    for role, position in (('teacher', teacher), ('student', 1 - teacher)):
        scalars[f'{role}_val_loss'] = pair['val_loss'][position]
        scalars[f'{role}_val_accuracy'] = pair['val_accuracy'][position]
    return scalars


def search_history(runner) -> List[Dict[str, Any]]:
    """The generation records a search has published in ``runner``'s MessageHub."""
    return runner.message_hub.get_info(HISTORY_KEY) or []


def search_final(runner) -> Optional[Dict[str, Any]]:
    """The final selection a search has published, or None."""
    return runner.message_hub.get_info(FINAL_KEY)


def search_archive(runner) -> List[Dict[str, Any]]:
    """The archive of estimates a multi-objective search has published (empty otherwise)."""
    return runner.message_hub.get_info(ARCHIVE_KEY) or []


def finite_scalars(scalars: Dict[str, Optional[float]]) -> Dict[str, float]:
    """The finite numbers of ``scalars`` as floats (None and NaN/inf left out)."""
    return {key: float(value) for key, value in scalars.items()
            if value is not None and math.isfinite(value)}


def search_pair(runner) -> Dict[str, Any]:
    """The record of the pair the search has just decided (``after_train_iter``)."""
    return runner.message_hub.get_info(PAIR_KEY)


def publish_scalars(runner, scalars: Dict[str, Optional[float]], prefix: str,
                    step: int) -> None:
    """Finite numbers to ``runner``'s MessageHub and to the visualizer's backends
    (TensorBoard, W&B, ... as the config's ``visualizer`` lists them), keys prefixed, at
    ``step`` (the generation, or the pair counted over the whole search)."""
    finite = {f'{prefix}{key}': value for key, value in finite_scalars(scalars).items()}
    for key, value in finite.items():
        runner.message_hub.update_scalar(key, value)
    runner.visualizer.add_scalars(finite, step=step)
