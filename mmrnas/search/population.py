"""The population of encoded architectures and its slow-fast update (docs/reference.md §3.1)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mmrnas.structures import Genotype
from .encoding import VECTOR_LENGTH, bounds, decode, random_vectors
from .slow_fast import slow_fast_update

__all__ = ['Population', 'check_population_size']


def check_population_size(size: Any) -> None:
    """The one rule for a population's size (``train_cfg.population_size`` and
    :class:`Population`): an even integer >= 2, as individuals are paired; else one ValueError
    that names an even size to use.

    Args:
        size: The number of individuals.
    """
    whole = isinstance(size, int) and not isinstance(size, bool)
    if whole and size >= 2 and size % 2 == 0:
        return
    fix = max(2, size + size % 2) if whole else 20  # 20: the reference's size
    raise ValueError(f'population_size must be even and at least 2 (individuals are paired), '
                     f'got {size!r}; use an even size such as {fix}')


def _as_matrix(name: str, value: Any) -> np.ndarray:
    """Return a float64 copy of ``value`` with shape (N, 32) and finite values, or raise."""
    array = np.array(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != VECTOR_LENGTH:
        raise ValueError(f'{name} must have shape (N, {VECTOR_LENGTH}), got {array.shape}')
    if not np.isfinite(array).all():
        raise ValueError(f'{name} must be finite; row(s) '
                         f'{np.flatnonzero(~np.isfinite(array).all(axis=1)).tolist()} are not')
    return array


class Population:
    """N encoded architectures (positions) with their velocities (docs/reference.md §2, §3.1).

    Attributes:
        positions: ``(N, 32)`` float64 array, every row within :func:`~.encoding.bounds`.
        velocities: ``(N, 32)`` float64 array; a row changes only while its slot is a student.

    Args:
        positions: initial positions, ``(N, 32)`` with N even and >= 2 (copied).
        velocities: initial velocities of the same shape (copied); zeros if omitted, as in
            the reference.

    Raises:
        ValueError: for a wrong shape, an odd size, non-finite values or positions outside
            the bounds.
    """

    def __init__(self, positions: Any, velocities: Any | None = None) -> None:
        positions = _as_matrix('positions', positions)
        check_population_size(len(positions))
        lower, upper = bounds()
        outside = np.argwhere((positions < lower) | (positions > upper))
        if outside.size:
            row, col = outside[0]
            raise ValueError(f'positions[{row}, {col}] = {float(positions[row, col])!r} is '
                             f'outside its bounds [{lower[col]:g}, {upper[col]:g}]')
        if velocities is None:
            velocities = np.zeros_like(positions)
        else:
            velocities = _as_matrix('velocities', velocities)
            if velocities.shape != positions.shape:
                raise ValueError(f'velocities must have the shape of positions '
                                 f'{positions.shape}, got {velocities.shape}')
        self.positions = positions
        self.velocities = velocities

    @classmethod
    def random(cls, size: int, rng: np.random.Generator) -> Population:
        """Uniform random positions over ``[lower, upper)`` and zero velocities.

        Args:
            size: number of individuals, even and >= 2 (the reference uses 20).
            rng: the random generator to draw from.
        """
        check_population_size(size)
        return cls(random_vectors(size, rng))

    def __len__(self) -> int:
        return len(self.positions)

    def pairs(self, rng: np.random.Generator) -> np.ndarray:
        """Random pairing: a permutation of ``0 .. N-1`` reshaped to ``(N/2, 2)`` (§3.1 step 1).

        Args:
            rng: the random generator to draw the permutation from.
        """
        return rng.permutation(len(self)).reshape(-1, 2)

    def mean(self) -> np.ndarray:
        """The population mean position, shape (32,)."""
        return self.positions.mean(axis=0)

    def diversity(self) -> float:
        """Mean Euclidean distance of the individuals to the population mean (§3.1 step 2)."""
        return float(np.linalg.norm(self.positions - self.mean(), axis=1).mean())

    def genotypes(self) -> list[Genotype]:
        """The decoded genotype of every individual, in population order."""
        return [decode(position) for position in self.positions]

    def update(self,
               pairs: Any,
               teachers: Any,
               rng: np.random.Generator,
               phi: float = 0.0,
               skip: Any | None = None) -> None:
        """Move every pair's student towards its teacher (docs/reference.md §3.1 steps 4-5).

        ``r1`` then ``r2`` (then ``r3`` if ``phi != 0``) are drawn as ``rng.random((P, 32))``
        every call, also for skipped pairs, so the random stream does not depend on the
        outcomes. All students move from the positions before the update; ``x_mean`` is the
        mean before the update. Teachers and skipped students keep position and velocity.

        Args:
            pairs: ``(P, 2)`` indices of the pairs (distinct), e.g. from :meth:`pairs`.
            teachers: ``(P,)`` 0 or 1 per pair: which member of the pair is the teacher.
            rng: the random generator for ``r1``, ``r2`` (and ``r3``).
            phi: weight of the optional population-mean term (0 = the reference).
            skip: optional ``(P,)`` bools; a skipped pair's student does not move (e.g. both
                members diverged).
        """
        pairs = np.asarray(pairs)
        if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
            raise ValueError(f'pairs must be an integer array of shape (P, 2), got '
                             f'{pairs.dtype} {pairs.shape}')
        num_pairs = len(pairs)
        if ((pairs < 0) | (pairs >= len(self))).any() or len(np.unique(pairs)) != pairs.size:
            raise ValueError(f'pairs must hold distinct indices in 0..{len(self) - 1}, '
                             f'got {pairs.tolist()}')
        teachers = np.asarray(teachers)
        if teachers.shape != (num_pairs, ) or not np.isin(teachers, (0, 1)).all():
            raise ValueError(f'teachers must hold one 0 or 1 per pair ({num_pairs}), '
                             f'got {teachers.tolist()}')
        teachers = teachers.astype(np.intp)
        move = np.ones(num_pairs, dtype=bool)
        if skip is not None:
            skip = np.asarray(skip)
            if skip.shape != (num_pairs, ) or skip.dtype != bool:
                raise ValueError(f'skip must hold one bool per pair ({num_pairs}), '
                                 f'got {skip.tolist()}')
            move = ~skip

        r1 = rng.random((num_pairs, VECTOR_LENGTH))
        r2 = rng.random((num_pairs, VECTOR_LENGTH))
        r3 = rng.random((num_pairs, VECTOR_LENGTH)) if phi != 0 else None
        rows = np.arange(num_pairs)
        students = pairs[rows, 1 - teachers]
        lower, upper = bounds()
        x_new, v_new = slow_fast_update(self.positions[students], self.velocities[students],
                                        self.positions[pairs[rows, teachers]], r1, r2, lower,
                                        upper, phi=phi, x_mean=self.mean(), r3=r3)
        self.positions[students[move]] = x_new[move]
        self.velocities[students[move]] = v_new[move]

    def redraw(self, rng: np.random.Generator) -> None:
        """Replace every position with a fresh uniform draw and zero the velocities (the
        random-search baseline's "update": nothing is learned between generations).

        Args:
            rng: the random generator to draw the positions from.
        """
        self.positions = random_vectors(len(self), rng)
        self.velocities = np.zeros_like(self.positions)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of ``positions`` and ``velocities`` (plain numpy arrays, for checkpoints)."""
        return {'positions': self.positions.copy(), 'velocities': self.velocities.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace positions and velocities with copies of those in ``state``.

        Args:
            state: a mapping with ``positions`` and ``velocities``, as from
                :meth:`state_dict`; validated as in the constructor.
        """
        missing = [key for key in ('positions', 'velocities') if key not in state]
        if missing:
            raise ValueError(f"population state is missing {', '.join(missing)}")
        loaded = Population(state['positions'], state['velocities'])
        self.positions, self.velocities = loaded.positions, loaded.velocities
