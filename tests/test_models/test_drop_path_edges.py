"""Drop-path on pooling, FactorizedReduce and identity edges, checked by values (docs/reference.md
§1.5): every edge output except a stride-1 ``skip_connect`` is, per sample, either zeroed or
divided by the keep probability; identities pass unchanged.

The cell kinds that run edges are covered: the retraining cell (``GenotypeCell``, one module
per edge), the candidate cut from the weight set (``CandidateCell``) and the weight set run in
place (``SupernetCell``); in the latter two a duplicated (input, op) is one module run twice,
which must draw two masks (§1.2).
"""
import itertools

import pytest
import torch
import torch.nn as nn

from mmrnas.models import RelativeNASSupernet
from mmrnas.models.cells import GenotypeCell
from mmrnas.models.ops import FactorizedReduce
from mmrnas.structures import Genotype

pytestmark = pytest.mark.usefixtures('one_thread')

SAMPLES, KEEP = 32, 0.5
# Normal cell: pools next to identities, and a node with the same avg pool twice.
# Reduction cell: FactorizedReduce (stride-2 skip) and stride-2 pools on states 0/1,
# identities on intermediate nodes, and a node with the same FactorizedReduce twice.
GENOTYPE = Genotype(
    normal=[('max_pool_3x3', 1), ('skip_connect', 0), ('avg_pool_3x3', 2), ('avg_pool_3x3', 2),
            ('skip_connect', 3), ('avg_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 4)],
    normal_concat=range(2, 6),
    reduce=[('skip_connect', 1), ('max_pool_3x3', 0), ('skip_connect', 0), ('skip_connect', 2),
            ('avg_pool_3x3', 1), ('skip_connect', 3), ('skip_connect', 1), ('skip_connect', 1)],
    reduce_concat=range(2, 6))
# What each edge must be built as (the test is about these module kinds).
KINDS = {
    'normal': (nn.MaxPool2d, nn.Identity, nn.AvgPool2d, nn.AvgPool2d, nn.Identity, nn.AvgPool2d,
               nn.MaxPool2d, nn.Identity),
    'reduce': (FactorizedReduce, nn.MaxPool2d, FactorizedReduce, nn.Identity, nn.AvgPool2d,
               nn.Identity, FactorizedReduce, FactorizedReduce),
}
# Supernet C=4, L=3: cell 0 is normal (inputs 12, 12 channels, C=4), cell 1 reduces (inputs
# 12, 16 channels, C=8); the retraining cells get the same shapes.
SHAPES = {'normal': (0, 12, 12, 4), 'reduce': (1, 12, 16, 8)}


def is_identity(name, index, reduction):
    """The spec's rule: only a stride-1 skip_connect is an identity (no drop-path)."""
    return name == 'skip_connect' and not (reduction and index < 2)


def build(path, kind):
    """``(cell module, run(s0, s1, p), edge_module(k))`` of the ``kind`` cell of ``GENOTYPE``
    on ``path``; ``edge_module(k)`` is the module edge ``k`` runs."""
    torch.manual_seed(0)
    cell_index, in_pp, in_p, channels = SHAPES[kind]
    reduction = kind == 'reduce'
    edges = GENOTYPE.reduce if reduction else GENOTYPE.normal
    if path == 'genotype_cell':
        cell = GenotypeCell(GENOTYPE, in_pp, in_p, channels, reduction, False)
        return cell, cell, lambda k: cell.ops[k]
    supernet = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=3)
    if path == 'candidate':
        cell = supernet.extract(GENOTYPE).cells[cell_index]
        return cell, cell, lambda k: cell.ops[cell.edge_keys[k]]
    cell = supernet.cells[cell_index]
    indices = cell.edge_op_indices(edges)
    return cell, lambda s0, s1, p: cell(s0, s1, edges, p), lambda k: cell.ops[indices[k]]


CASES = [('genotype_cell', 'normal', 0.5), ('genotype_cell', 'reduce', 0.5),
         ('genotype_cell', 'reduce', 'tensor'), ('candidate', 'normal', 0.5),
         ('candidate', 'reduce', 0.5), ('supernet_cell', 'normal', 0.5),
         ('supernet_cell', 'reduce', 0.5)]


def edge_output(raw, identity, kept):
    """What an edge may add to its node: ``raw`` for an identity, else ``raw / keep`` when kept
    and zeros when dropped (the package divides, then multiplies by the mask)."""
    if identity:
        return raw
    return raw / KEEP if kept else torch.zeros_like(raw)


@pytest.mark.parametrize('path, kind, drop_prob', CASES)
def test_edges_are_zeroed_or_scaled_per_sample(path, kind, drop_prob):
    """Every node equals, bit for bit, the sum of its edges' outputs, each non-identity one
    either 0 or ``op(x) / keep`` per sample (both seen for every such edge; kept by one of two
    calls for a module run twice: two masks), identities exactly ``x``. ``'tensor'``: a 0-dim
    probability, as a compiled backbone passes it."""
    module, run, edge_module = build(path, kind)
    reduction = kind == 'reduce'
    edges = GENOTYPE.reduce if reduction else GENOTYPE.normal
    assert [type(edge_module(k)) for k in range(8)] == list(KINDS[kind])
    _, in_pp, in_p, _ = SHAPES[kind]
    s0, s1 = torch.randn(SAMPLES, in_pp, 8, 8), torch.randn(SAMPLES, in_p, 8, 8)
    module.train()
    p = torch.tensor(1 - KEEP) if drop_prob == 'tensor' else 1 - KEEP
    nodes = list(run(s0, s1, p).chunk(4, dim=1))
    with torch.no_grad():
        states = [module.preprocess0(s0), module.preprocess1(s1)] + nodes
    per_edge = {k: set() for k in range(8)}  # kept flags observed per edge
    kept_counts = {node: set() for node in range(4)}  # edges kept per sample, per node
    for node in range(4):
        pair = (2 * node, 2 * node + 1)
        identity = [is_identity(*edges[k], reduction) for k in pair]
        with torch.no_grad():
            raws = [edge_module(k)(states[edges[k][1]]) for k in pair]
        choices = [(True, ) if same else (True, False) for same in identity]
        for n in range(SAMPLES):
            matches = {
                kept for kept in itertools.product(*choices)
                if torch.equal(nodes[node][n], sum(
                    edge_output(raw[n], same, keep)
                    for raw, same, keep in zip(raws, identity, kept)))
            }
            assert matches, f'node {node}, sample {n}: no keep/drop combination matches'
            counts = {sum(not same and keep for same, keep in zip(identity, kept))
                      for kept in matches}
            assert len(counts) == 1, (node, n, matches)  # only equal outputs are ambiguous
            kept_counts[node] |= counts
            if len(matches) == 1:
                for k, keep in zip(pair, *matches):
                    per_edge[k].add(keep)
    for k, (name, index) in enumerate(edges):
        if is_identity(name, index, reduction):
            assert per_edge[k] == {True}, f'identity edge {k} was changed'
        elif edges[k ^ 1] == edges[k]:  # same (input, op) twice: two masks, so 1 kept too
            assert kept_counts[k // 2] == {0, 1, 2}, f'edge {k}: {kept_counts[k // 2]}'
        else:
            assert per_edge[k] == {True, False}, f'edge {k} ({name}): kept {per_edge[k]}'
