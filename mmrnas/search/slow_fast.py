"""Slow-fast learning: who teaches whom, and how the student moves (docs/reference.md §3).

Naming follows the paper: the better member of a pair is the *fast learner* (teacher, does not
move); the other is the *slow learner* (student, moves towards the teacher).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ['slow_fast_update', 'select_teacher', 'estimate_is_finite', 'TEACHER_CRITERIA']

TEACHER_CRITERIA: tuple[str, ...] = ('loss', 'accuracy')


def slow_fast_update(x_slow: np.ndarray,
                     v_slow: np.ndarray,
                     x_fast: np.ndarray,
                     r1: np.ndarray,
                     r2: np.ndarray,
                     lower: np.ndarray,
                     upper: np.ndarray,
                     phi: float = 0.0,
                     x_mean: np.ndarray | None = None,
                     r3: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Move the slow learner towards the fast one (docs/reference.md §3.1 step 4-5, §3.2).

    ``v_new = r1 * v_slow + r2 * (x_fast - x_slow) [+ phi * r3 * (x_mean - x_slow)]`` and
    ``x_new = clip(x_slow + v_new, lower, upper)``. The velocity is neither clipped nor reset.
    All arguments broadcast, so single vectors and ``(P, 32)`` batches both work; the inputs
    are not modified.

    Args:
        x_slow: position of the slow learner (student).
        v_slow: its velocity.
        x_fast: position of the fast learner (teacher).
        r1: U[0, 1) factors on the old velocity.
        r2: U[0, 1) factors on the pull towards the teacher.
        lower: lower bounds of the position.
        upper: upper bounds of the position.
        phi: weight of the optional population-mean term of Competitive Swarm Optimization;
            0 (the reference code) leaves it out.
        x_mean: population mean; required when ``phi != 0``.
        r3: U[0, 1) factors on the mean term; required when ``phi != 0``.

    Returns:
        ``(x_new, v_new)`` as new float64 arrays.
    """
    x_slow = np.asarray(x_slow, dtype=np.float64)
    v_new = (np.asarray(r1, dtype=np.float64) * np.asarray(v_slow, dtype=np.float64) +
             np.asarray(r2, dtype=np.float64) * (np.asarray(x_fast, dtype=np.float64) - x_slow))
    if phi != 0:
        if x_mean is None or r3 is None:
            raise ValueError('phi != 0 needs both x_mean (the population mean) and r3 '
                             '(U[0, 1) factors); pass them or set phi=0')
        v_new = v_new + phi * np.asarray(r3, dtype=np.float64) * (
            np.asarray(x_mean, dtype=np.float64) - x_slow)
    x_new = np.clip(x_slow + v_new, lower, upper)
    return x_new, v_new


def estimate_is_finite(train_loss: float | None, val_loss: float) -> bool:
    """The one rule for a usable estimate: its training loss (when known) and its validation
    loss are finite numbers. A candidate that fails it loses its pair and writes nothing back.
    """
    return math.isfinite(val_loss) and (train_loss is None or math.isfinite(train_loss))


def select_teacher(loss_a: float,
                   loss_b: float,
                   acc_a: float | None = None,
                   acc_b: float | None = None,
                   criterion: str = 'loss',
                   train_loss_a: float | None = None,
                   train_loss_b: float | None = None) -> int:
    """Return which member of a pair is the teacher (fast learner): 0 for a, 1 for b.

    Rules (docs/reference.md §3.1 step 3, §3.2 "who is better"):

    - ``'loss'`` (the reference): the lower validation loss wins.
    - ``'accuracy'``: the higher accuracy wins; equal (or unordered NaN) accuracies are broken
      by the lower loss.
    - A non-finite estimate (:func:`estimate_is_finite`: NaN or inf validation loss, or
      training loss when given) always loses against a finite one, so the teacher is never
      a candidate that writes nothing back. If both are non-finite, a is the nominal teacher;
      the caller then writes nothing back.
    - On an exact tie a is the teacher. This deliberately fixes the reference, whose update
      mask makes a the teacher while its weight write-back makes b the teacher
      (docs/reference.md §3.1 "Tie case").

    Args:
        loss_a: validation loss of a.
        loss_b: validation loss of b.
        acc_a: validation accuracy of a; required for ``criterion='accuracy'``.
        acc_b: validation accuracy of b; required for ``criterion='accuracy'``.
        criterion: ``'loss'`` or ``'accuracy'``.
        train_loss_a: training loss of a (None: only the validation loss counts).
        train_loss_b: training loss of b.

    Raises:
        ValueError: for an unknown criterion, or missing accuracies.
    """
    if criterion not in TEACHER_CRITERIA:
        raise ValueError(f"unknown teacher criterion {criterion!r}; expected one of "
                         f"{', '.join(map(repr, TEACHER_CRITERIA))}")
    if criterion == 'accuracy' and (acc_a is None or acc_b is None):
        raise ValueError("criterion='accuracy' needs both acc_a and acc_b")
    finite_a = estimate_is_finite(train_loss_a, loss_a)
    finite_b = estimate_is_finite(train_loss_b, loss_b)
    if not (finite_a and finite_b):
        return 0 if finite_a or not finite_b else 1
    if criterion == 'accuracy':
        if acc_a > acc_b:
            return 0
        if acc_b > acc_a:
            return 1
    return 0 if loss_a <= loss_b else 1
