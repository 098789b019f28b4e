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
from typing import Any, Dict, List, Optional

__all__ = ['HISTORY_KEY', 'FINAL_KEY', 'ARCHIVE_KEY', 'generation_summary', 'pair_scalars',
           'search_history', 'search_final', 'search_archive']

#: MessageHub info key of the list of generation records (the search's history so far).
HISTORY_KEY = 'search/history'
#: MessageHub info key of the final selection (None until the search has made it).
FINAL_KEY = 'search/final'
#: MessageHub info key of the archive of estimates of a multi-objective search.
ARCHIVE_KEY = 'search/archive'


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
