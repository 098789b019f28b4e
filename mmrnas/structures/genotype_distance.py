"""How different two architectures are: the number of cell edges one must change."""
from __future__ import annotations

from collections import Counter

from .genotype import CELL_KINDS, Genotype

__all__ = ['genotype_distance']


def genotype_distance(a: Genotype, b: Genotype) -> int:
    """Number of edges ``(op, input)`` of ``a`` that differ from ``b``'s, node by node.

    The two edges of a node are a multiset (their order in the genotype does not change the
    network), so per node the distance is 2 minus the number of edges the nodes share. Both
    genotypes must have the same number of nodes per cell; the concatenated outputs are not
    compared. For the RelativeNAS space the distance lies in 0..16 (2 cells x 4 nodes x 2 edges).

    Args:
        a: One genotype.
        b: The other.

    Raises:
        ValueError: when the cells have different numbers of nodes.
    """
    distance = 0
    for kind in CELL_KINDS:
        edges_a, edges_b = a.cell(kind)[0], b.cell(kind)[0]
        if len(edges_a) != len(edges_b):
            raise ValueError(f'cannot compare genotypes with {len(edges_a) // 2} and '
                             f'{len(edges_b) // 2} nodes in the {kind} cell')
        for start in range(0, len(edges_a), 2):
            shared = Counter(edges_a[start:start + 2]) & Counter(edges_b[start:start + 2])
            distance += 2 - sum(shared.values())
    return distance
