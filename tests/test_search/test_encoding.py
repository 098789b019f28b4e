"""Tests of the 32-dim encoding (docs/reference.md §2)."""
import numpy as np
import pytest

from mmrnas.search import PRIMITIVES, bounds, decode, decode_index, encode, random_vectors
from mmrnas.search.encoding import NUM_NODES, VECTOR_LENGTH
from mmrnas.structures import SEARCH_PRIMITIVES, Genotype, get_genotype

# Hand-written vector: duplicate edges, exact integers (bounds 0.0 / 2.0 / 7.0) and fractions.
VECTOR = [
    # normal cell
    0.0, 7.0, 2.0, 0.5,      # node 0: (dil_conv_5x5, 0), (max_pool_3x3, 1)
    1.5, 3.2, 1.5, 3.9,      # node 1: (sep_conv_3x3, 1) twice
    4.0, 2.0, 0.3, 5.5,      # node 2: (avg_pool_3x3, 3), (dil_conv_3x3, 0)
    5.0, 1.0, 3.01, 4.5,     # node 3: (max_pool_3x3, 4), (sep_conv_5x5, 3)
    # reduction cell
    1.0, 2.5, 1.0, 2.5,      # node 0: (skip_connect, 0) twice
    2.7, 6.9999, 0.0, 0.0,   # node 1: (dil_conv_5x5, 2), (max_pool_3x3, 0)
    3.5, 4.0, 2.5, 3.0,      # node 2: (sep_conv_3x3, 3), (skip_connect, 2)
    4.5, 5.0, 0.9, 6.0,      # node 3: (sep_conv_5x5, 4), (dil_conv_3x3, 0)
]
GENOTYPE = Genotype(
    normal=[('dil_conv_5x5', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1),
            ('avg_pool_3x3', 3), ('dil_conv_3x3', 0), ('max_pool_3x3', 4), ('sep_conv_5x5', 3)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('skip_connect', 0), ('skip_connect', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 0),
            ('sep_conv_3x3', 3), ('skip_connect', 2), ('sep_conv_5x5', 4), ('dil_conv_3x3', 0)],
    reduce_concat=[2, 3, 4, 5])


def test_constants():
    assert PRIMITIVES == SEARCH_PRIMITIVES
    assert PRIMITIVES == ('max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3',
                          'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5')
    assert NUM_NODES == 4 and VECTOR_LENGTH == 32


def test_bounds():
    lower, upper = bounds()
    assert lower.dtype == upper.dtype == np.float64
    np.testing.assert_array_equal(lower, np.zeros(32))
    cell = [2, 7, 2, 7, 3, 7, 3, 7, 4, 7, 4, 7, 5, 7, 5, 7]
    np.testing.assert_array_equal(upper, np.array(cell + cell, dtype=np.float64))
    upper[0] = 99.0  # a fresh copy each call
    assert bounds()[1][0] == 2.0


@pytest.mark.parametrize('x, index', [(0.0, 0), (1.0, 0), (2.0, 1), (3.5, 3), (6.9999, 6),
                                      (7.0, 6), (0.3, 0), (1.0000001, 1)])
def test_decode_index_scalar(x, index):
    result = decode_index(x)
    assert result == index and type(result) is int


def test_decode_index_array():
    result = decode_index(np.array([[0.0, 1.0, 2.0], [3.5, 6.9999, 7.0]]))
    assert np.issubdtype(result.dtype, np.integer)
    np.testing.assert_array_equal(result, [[0, 0, 1], [3, 6, 6]])


def test_decode_hand_written():
    assert decode(VECTOR) == GENOTYPE
    assert decode(np.array(VECTOR)) == GENOTYPE


def test_decode_all_lower_and_upper():
    lower, upper = bounds()
    low = decode(lower)
    assert low.normal == low.reduce == (('max_pool_3x3', 0), ) * 8
    high = decode(upper)
    expected = tuple(('dil_conv_5x5', node + 1) for node in range(4) for _ in range(2))
    assert high.normal == high.reduce == expected
    assert high.normal_concat == high.reduce_concat == (2, 3, 4, 5)


@pytest.mark.parametrize('vector, message', [
    (VECTOR[:31], r'length 32, got shape \(31,\)'),
    ([VECTOR, VECTOR], r'length 32, got shape \(2, 32\)'),
    (VECTOR[:5] + [float('nan')] + VECTOR[6:], r'vector\[5\] \(normal cell, node 1, op of edge 1\) '
     'is NaN'),
    ([-0.1] + VECTOR[1:], r'vector\[0\] = -0.1 \(normal cell, node 0, input of edge 1\) is '
     r'outside its bounds \[0, 2\]'),
    (VECTOR[:31] + [7.5], r'vector\[31\] = 7.5 \(reduce cell, node 3, op of edge 2\) is outside '
     r'its bounds \[0, 7\]'),
    (VECTOR[:16] + [2.01] + VECTOR[17:], r'vector\[16\] = 2.01 \(reduce cell, node 0, input of '
     r'edge 1\) is outside its bounds \[0, 2\]'),
    (['a'] * 32, 'numeric vector'),
])
def test_decode_errors(vector, message):
    with pytest.raises(ValueError, match=message):
        decode(vector)


@pytest.mark.parametrize('name', ['RelativeNAS', 'PairNAS_CIFAR100', 'DARTS_V1', 'DARTS_V2'])
def test_encode_round_trip(name):
    genotype = get_genotype(name)
    vector = encode(genotype)
    assert vector.shape == (32, ) and vector.dtype == np.float64
    lower, upper = bounds()
    assert (vector > lower).all() and (vector < upper).all()
    np.testing.assert_array_equal(vector % 1, 0.5)  # index + 0.5
    assert decode(vector) == genotype


def test_encode_values():
    vector = encode(GENOTYPE)
    np.testing.assert_array_equal(vector[:4], [0.5, 6.5, 1.5, 0.5])
    np.testing.assert_array_equal(vector[16:20], [0.5, 2.5, 0.5, 2.5])
    np.testing.assert_array_equal(vector[28:], [4.5, 4.5, 0.5, 5.5])
    np.testing.assert_array_equal(decode_index(vector), decode_index(np.array(VECTOR)))


@pytest.mark.parametrize('name', ['NASNet', 'AmoebaNet'])
def test_encode_rejects_baselines(name):
    with pytest.raises(ValueError, match='not in the RelativeNAS search space') as info:
        encode(get_genotype(name))
    assert 'normal cell has 5 nodes, not 4' in str(info.value)
    assert "op 'sep_conv_7x7' is not one of the searchable primitives" in str(info.value)


def test_encode_reasons():
    bad_op = Genotype(normal=[('sep_conv_7x7', 0)] + list(GENOTYPE.normal[1:]),
                      normal_concat=[2, 3, 4, 5], reduce=GENOTYPE.reduce,
                      reduce_concat=[2, 3, 4, 5])
    with pytest.raises(ValueError, match="normal cell, node 0, edge 1: op 'sep_conv_7x7'"):
        encode(bad_op)
    bad_concat = Genotype(normal=GENOTYPE.normal, normal_concat=[2, 3, 4, 5],
                          reduce=GENOTYPE.reduce, reduce_concat=[2, 3, 5])
    with pytest.raises(ValueError, match=r'reduce_concat is \[2, 3, 5\], not \[2, 3, 4, 5\]'):
        encode(bad_concat)
    three_nodes = Genotype(normal=GENOTYPE.normal[:6], normal_concat=[2, 3, 4],
                           reduce=GENOTYPE.reduce, reduce_concat=[2, 3, 4, 5])
    with pytest.raises(ValueError, match='normal cell has 3 nodes, not 4'):
        encode(three_nodes)


def test_random_vectors():
    lower, upper = bounds()
    vectors = random_vectors(50, np.random.default_rng(3))
    expected = lower + (upper - lower) * np.random.default_rng(3).random((50, 32))
    np.testing.assert_array_equal(vectors, expected)
    assert vectors.shape == (50, 32)
    assert (vectors >= lower).all() and (vectors < upper).all()
    assert all(decode(vector).is_search_space for vector in vectors)
    assert random_vectors(0, np.random.default_rng(0)).shape == (0, 32)
    with pytest.raises(ValueError, match='n must be >= 0'):
        random_vectors(-1, np.random.default_rng(0))
