"""genotype_distance: edges that differ, node by node, the two edges of a node unordered."""
import pytest

from mmrnas.structures import Genotype, genotype_distance, get_genotype


def test_library_genotypes():
    relativenas, darts = get_genotype('RelativeNAS'), get_genotype('DARTS_V2')
    assert genotype_distance(relativenas, relativenas) == 0
    # normal: one edge per node differs (4); reduce: nodes 0 and 1 share one edge, nodes 2 and
    # 3 none (6).
    assert genotype_distance(relativenas, darts) == genotype_distance(darts, relativenas) == 10


def test_edge_order_within_a_node_does_not_count():
    edges = [('sep_conv_3x3', 0), ('max_pool_3x3', 1)] * 4
    swapped = [('max_pool_3x3', 1), ('sep_conv_3x3', 0)] * 4
    a = Genotype(edges, range(2, 6), edges, range(2, 6))
    assert genotype_distance(a, Genotype(swapped, range(2, 6), swapped, range(2, 6))) == 0
    one_op = list(edges)
    one_op[5] = ('avg_pool_3x3', 1)
    assert genotype_distance(a, Genotype(one_op, range(2, 6), edges, range(2, 6))) == 1
    doubled = list(edges)
    doubled[0] = doubled[1]  # node 0 reads (max_pool_3x3, 1) twice: one of its edges differs
    assert genotype_distance(a, Genotype(doubled, range(2, 6), edges, range(2, 6))) == 1


def test_other_node_counts_are_refused():
    small = Genotype([('skip_connect', 0)] * 4, range(2, 4), [('skip_connect', 0)] * 4,
                     range(2, 4))
    with pytest.raises(ValueError, match='cannot compare genotypes with 4 and 2 nodes in the '
                       'normal cell'):
        genotype_distance(get_genotype('RelativeNAS'), small)
