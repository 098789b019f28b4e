"""The continuous 32-dim encoding of a RelativeNAS architecture (docs/reference.md §2).

Layout: indices 0-15 encode the normal cell, 16-31 the reduction cell. Within a cell, node
``j`` (0..3) owns positions ``4j .. 4j+3`` = [input of edge 1, op of edge 1, input of edge 2,
op of edge 2]. Every value lies in ``[0, upper]`` with ``upper = 2 + j`` for inputs and ``7``
for ops, and decodes to an index with ``max(0, ceil(x) - 1)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mmrnas.structures import CELL_KINDS, SEARCH_PRIMITIVES, Genotype

__all__ = [
    'PRIMITIVES', 'NUM_NODES', 'VECTOR_LENGTH', 'bounds', 'decode_index', 'decode', 'encode',
    'random_vectors'
]

PRIMITIVES: tuple[str, ...] = SEARCH_PRIMITIVES
"""The 7 searchable ops; the position of a name is its op id (docs/reference.md §1.1)."""

NUM_NODES = 4
"""Intermediate nodes per cell."""

VECTOR_LENGTH = 32
"""2 cell types x 4 nodes x 2 edges x (input, op)."""

_CELL_LENGTH = VECTOR_LENGTH // len(CELL_KINDS)
_CONCAT = tuple(range(2, NUM_NODES + 2))
_SLOTS = ('input of edge 1', 'op of edge 1', 'input of edge 2', 'op of edge 2')


def _describe(position: int) -> str:
    """Meaning of one vector position, e.g. ``'reduce cell, node 1, op of edge 2'``."""
    cell, offset = divmod(position, _CELL_LENGTH)
    node, slot = divmod(offset, 4)
    return f'{CELL_KINDS[cell]} cell, node {node}, {_SLOTS[slot]}'


def bounds() -> tuple[np.ndarray, np.ndarray]:
    """Return fresh ``(lower, upper)`` float64 arrays of length 32 (docs/reference.md §2).

    ``lower`` is 0; ``upper`` is ``[2,7,2,7, 3,7,3,7, 4,7,4,7, 5,7,5,7]`` for each cell type.
    """
    upper_cell = [value for node in range(NUM_NODES)
                  for value in (node + 2, len(PRIMITIVES), node + 2, len(PRIMITIVES))]
    upper = np.array(upper_cell * len(CELL_KINDS), dtype=np.float64)
    return np.zeros(VECTOR_LENGTH, dtype=np.float64), upper


def decode_index(x: Any) -> Any:
    """Map encoded values to indices with the reference rule ``max(0, ceil(x) - 1)``.

    So 0.0 -> 0, 1.0 -> 0, 2.0 -> 1, 3.5 -> 3, 7.0 -> 6 (docs/reference.md §2).

    Args:
        x: a scalar or an array of non-negative values.

    Returns:
        A Python ``int`` for a scalar, else an integer array of the same shape.
    """
    index = np.maximum(0, np.ceil(np.asarray(x, dtype=np.float64)) - 1).astype(np.int64)
    return int(index) if index.ndim == 0 else index


def _check_vector(vector: Any) -> np.ndarray:
    """Return ``vector`` as a float64 array of shape (32,), or raise ValueError saying why."""
    try:
        array = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f'expected a numeric vector of length {VECTOR_LENGTH}: {err}') from None
    if array.shape != (VECTOR_LENGTH, ):
        raise ValueError(f'expected a vector of length {VECTOR_LENGTH}, got shape {array.shape}')
    nan = np.flatnonzero(np.isnan(array))
    if nan.size:
        raise ValueError(f'vector[{nan[0]}] ({_describe(int(nan[0]))}) is NaN '
                         f'({nan.size} NaN value(s) in total)')
    lower, upper = bounds()
    outside = np.flatnonzero((array < lower) | (array > upper))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f'vector[{i}] = {float(array[i])!r} ({_describe(i)}) is outside its '
                         f'bounds [{lower[i]:g}, {upper[i]:g}] ({outside.size} value(s) out of '
                         'bounds)')
    return array


def decode(vector: Any) -> Genotype:
    """Decode a 32-dim vector into a :class:`Genotype` (docs/reference.md §2).

    Both cells concatenate states (2, 3, 4, 5); duplicate edges are kept as they are.

    Args:
        vector: 32 values within :func:`bounds` (list or array).

    Raises:
        ValueError: for a wrong length, NaN, or a value outside its bounds, naming the
            position.
    """
    indices = decode_index(_check_vector(vector)).reshape(len(CELL_KINDS), NUM_NODES * 2, 2)
    cells = {}
    for kind, cell in zip(CELL_KINDS, indices):
        cells[kind] = [(PRIMITIVES[op], int(state)) for state, op in cell]
        cells[f'{kind}_concat'] = _CONCAT
    return Genotype(**cells)


def encode(genotype: Genotype) -> np.ndarray:
    """Return a vector that :func:`decode` maps back to ``genotype``.

    Every index ``i`` is encoded as ``i + 0.5``, the middle of its decoding interval.

    Args:
        genotype: a genotype in the RelativeNAS search space (4 nodes per cell, concat
            (2, 3, 4, 5), only :data:`PRIMITIVES`).

    Raises:
        ValueError: listing every reason the genotype is outside the search space.
    """
    problems = []
    for kind in CELL_KINDS:
        edges, concat = genotype.cell(kind)
        if len(edges) != 2 * NUM_NODES:
            problems.append(f'{kind} cell has {len(edges) // 2} nodes, not {NUM_NODES}')
        if concat != _CONCAT:
            problems.append(f'{kind}_concat is {list(concat)}, not {list(_CONCAT)}')
        for position, (op, _) in enumerate(edges):
            if op not in PRIMITIVES:
                node, slot = divmod(position, 2)
                problems.append(f'{kind} cell, node {node}, edge {slot + 1}: op {op!r} is not '
                                'one of the searchable primitives')
    if problems:
        raise ValueError('genotype is not in the RelativeNAS search space: ' +
                         '; '.join(problems) + f" (primitives: {', '.join(PRIMITIVES)})")
    vector = [value for kind in CELL_KINDS for op, state in genotype.cell(kind)[0]
              for value in (state + 0.5, PRIMITIVES.index(op) + 0.5)]
    return np.array(vector, dtype=np.float64)


def random_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` vectors uniformly over ``[lower, upper)`` (docs/reference.md §2, initialisation).

    Computed as ``lower + (upper - lower) * rng.random((n, 32))``.

    Args:
        n: number of vectors (>= 0).
        rng: the random generator to draw from.

    Returns:
        A float64 array of shape ``(n, 32)``.
    """
    if n < 0:
        raise ValueError(f'n must be >= 0, got {n}')
    lower, upper = bounds()
    return lower + (upper - lower) * rng.random((n, VECTOR_LENGTH))
