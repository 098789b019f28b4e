"""Tests of the population and its slow-fast update (docs/reference.md §3.1)."""
import numpy as np
import pytest

from mmrnas.search import Population, bounds, decode, encode, random_vectors
from mmrnas.structures import get_genotype

LOWER, UPPER = bounds()


def _expected_move(x_s, v_s, x_f, r1, r2):
    """The §3.1 rule, written out independently of slow_fast_update."""
    v = r1 * v_s + r2 * (x_f - x_s)
    return np.minimum(np.maximum(x_s + v, LOWER), UPPER), v


def test_random():
    pop = Population.random(20, np.random.default_rng(7))
    assert len(pop) == 20
    np.testing.assert_array_equal(pop.positions, random_vectors(20, np.random.default_rng(7)))
    np.testing.assert_array_equal(pop.velocities, np.zeros((20, 32)))
    assert pop.positions.dtype == pop.velocities.dtype == np.float64


@pytest.mark.parametrize('size, fix', [(0, 2), (1, 2), (3, 4), (21, 22)])
def test_random_rejects_bad_size(size, fix):
    with pytest.raises(ValueError, match=f'must be even and at least 2.*got {size}; use an even '
                       f'size such as {fix}'):
        Population.random(size, np.random.default_rng(0))


def test_from_arrays_copies_and_validates():
    positions = random_vectors(4, np.random.default_rng(0))
    velocities = np.full((4, 32), 0.5)
    pop = Population(positions, velocities)
    positions[0, 0] = 1.0
    velocities[0, 0] = 9.0
    assert pop.positions[0, 0] != 1.0 and pop.velocities[0, 0] == 0.5
    np.testing.assert_array_equal(Population(positions).velocities, np.zeros((4, 32)))
    with pytest.raises(ValueError, match=r'shape \(N, 32\), got \(4, 31\)'):
        Population(positions[:, :31])
    with pytest.raises(ValueError, match='must be even'):
        Population(positions[:3])
    bad = positions.copy()
    bad[2, 1] = 7.5
    with pytest.raises(ValueError, match=r'positions\[2, 1\] = 7.5 is outside its bounds \[0, 7\]'):
        Population(bad)
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r'positions must be finite; row\(s\) \[2\]'):
        Population(bad)
    with pytest.raises(ValueError, match='velocities must have the shape of positions'):
        Population(positions, np.zeros((2, 32)))


def test_pairs_is_a_permutation():
    pop = Population.random(20, np.random.default_rng(0))
    pairs = pop.pairs(np.random.default_rng(5))
    assert pairs.shape == (10, 2)
    np.testing.assert_array_equal(np.sort(pairs.ravel()), np.arange(20))
    np.testing.assert_array_equal(pairs.ravel(), np.random.default_rng(5).permutation(20))


def test_mean_and_diversity():
    second = np.zeros(32)
    second[1], second[3] = 3.0, 4.0  # distance 5 between the two, 2.5 to the mean
    pop = Population(np.stack([np.zeros(32), second]))
    np.testing.assert_array_equal(pop.mean(), second / 2)
    assert pop.diversity() == 2.5
    pop = Population.random(6, np.random.default_rng(1))
    distances = [np.sqrt(((row - pop.positions.mean(0))**2).sum()) for row in pop.positions]
    assert pop.diversity() == pytest.approx(np.mean(distances), rel=1e-12)


def test_genotypes():
    genotypes = [get_genotype(name) for name in ('RelativeNAS', 'DARTS_V1', 'DARTS_V2',
                                                 'PairNAS_CIFAR100')]
    pop = Population(np.stack([encode(g) for g in genotypes]))
    assert pop.genotypes() == genotypes
    random_pop = Population.random(4, np.random.default_rng(2))
    assert random_pop.genotypes() == [decode(row) for row in random_pop.positions]


def test_update_four_members():
    pop = Population.random(4, np.random.default_rng(0))
    before = pop.positions.copy()
    pairs = np.array([[2, 0], [1, 3]])
    teachers = np.array([0, 1])  # teachers 2 and 3, students 0 and 1
    pop.update(pairs, teachers, np.random.default_rng(123))

    draws = np.random.default_rng(123)
    r1, r2 = draws.random((2, 32)), draws.random((2, 32))
    x0, v0 = _expected_move(before[0], np.zeros(32), before[2], r1[0], r2[0])
    x1, v1 = _expected_move(before[1], np.zeros(32), before[3], r1[1], r2[1])
    np.testing.assert_array_equal(pop.positions[[2, 3]], before[[2, 3]])  # teachers exact
    np.testing.assert_array_equal(pop.velocities[[2, 3]], np.zeros((2, 32)))
    np.testing.assert_allclose(pop.positions[0], x0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(pop.velocities[0], v0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(pop.positions[1], x1, rtol=0, atol=1e-15)
    np.testing.assert_allclose(pop.velocities[1], v1, rtol=0, atol=1e-15)
    assert not np.array_equal(pop.positions[0], before[0])
    assert ((pop.positions >= LOWER) & (pop.positions <= UPPER)).all()


def test_update_uses_positions_from_before():
    # teachers 1 and 2 are the second member of their pair; students 0 and 3 move towards
    # the teachers' old positions, which stay as they were
    pop = Population.random(4, np.random.default_rng(4))
    before = pop.positions.copy()
    pop.update(np.array([[0, 1], [3, 2]]), np.array([1, 1]), np.random.default_rng(9))
    draws = np.random.default_rng(9)
    r1, r2 = draws.random((2, 32)), draws.random((2, 32))
    x0, _ = _expected_move(before[0], np.zeros(32), before[1], r1[0], r2[0])
    x3, _ = _expected_move(before[3], np.zeros(32), before[2], r1[1], r2[1])
    np.testing.assert_allclose(pop.positions[[0, 3]], [x0, x3], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(pop.positions[[1, 2]], before[[1, 2]])


def test_update_velocity_persists_across_generations():
    pop = Population.random(4, np.random.default_rng(0))
    pairs, teachers = np.array([[2, 0], [1, 3]]), np.array([0, 1])
    rng = np.random.default_rng(11)
    draws = np.random.default_rng(11)
    x_prev, v_prev = pop.positions.copy(), pop.velocities.copy()
    pop.update(pairs, teachers, rng)
    r1, r2 = draws.random((2, 32)), draws.random((2, 32))
    _, v0 = _expected_move(x_prev[0], v_prev[0], x_prev[2], r1[0], r2[0])
    x_mid, v_mid = pop.positions.copy(), pop.velocities.copy()
    np.testing.assert_allclose(v_mid[0], v0, rtol=0, atol=1e-15)
    # generation 2: slot 0 is a student again, slot 1 is now a teacher (its velocity is kept)
    pop.update(np.array([[0, 2], [3, 1]]), np.array([1, 1]), rng)
    r1, r2 = draws.random((2, 32)), draws.random((2, 32))
    x0, v0 = _expected_move(x_mid[0], v_mid[0], x_mid[2], r1[0], r2[0])
    np.testing.assert_allclose(pop.velocities[0], v0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(pop.positions[0], x0, rtol=0, atol=1e-15)
    assert np.abs(v_mid[0]).sum() > 0  # the old velocity really entered the update
    np.testing.assert_array_equal(pop.velocities[1], v_mid[1])
    np.testing.assert_array_equal(pop.positions[1], x_mid[1])
    assert pop.velocities[1].any()
    # the random stream advanced by exactly 2 x (2, 32) draws per update
    assert rng.random() == draws.random()


def test_update_clips_only_position():
    positions = np.full((2, 32), 0.5)
    positions[1] = UPPER  # the teacher sits at the upper bound
    velocities = np.zeros((2, 32))
    velocities[0] = 10.0  # the student overshoots
    pop = Population(positions, velocities)
    pop.update(np.array([[0, 1]]), np.array([1]), np.random.default_rng(0))
    draws = np.random.default_rng(0)
    r1, r2 = draws.random((1, 32)), draws.random((1, 32))
    velocity = r1[0] * 10.0 + r2[0] * (UPPER - 0.5)
    np.testing.assert_allclose(pop.velocities[0], velocity, rtol=0, atol=1e-14)
    overshoot = 0.5 + velocity > UPPER
    assert overshoot.any()
    np.testing.assert_array_equal(pop.positions[0][overshoot], UPPER[overshoot])
    assert (pop.velocities[0][overshoot] > UPPER[overshoot] - 0.5).all()  # not clipped
    np.testing.assert_array_equal(pop.positions[1], UPPER)


def test_update_skip_mask():
    moved = Population.random(4, np.random.default_rng(0))
    skipped = Population.random(4, np.random.default_rng(0))
    before = skipped.state_dict()
    pairs, teachers = np.array([[2, 0], [1, 3]]), np.array([0, 1])
    moved.update(pairs, teachers, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    skipped.update(pairs, teachers, rng, skip=np.array([True, False]))
    np.testing.assert_array_equal(skipped.positions[0], before['positions'][0])
    np.testing.assert_array_equal(skipped.velocities[0], before['velocities'][0])
    # pair 1 moves exactly as without the mask; the stream was drawn for both pairs
    np.testing.assert_array_equal(skipped.positions[1], moved.positions[1])
    np.testing.assert_array_equal(skipped.velocities[1], moved.velocities[1])
    draws = np.random.default_rng(3)
    draws.random((2 * 2, 32))  # r1 and r2
    assert rng.random() == draws.random()


def test_update_phi_uses_mean_before_update():
    pop = Population.random(4, np.random.default_rng(6))
    before = pop.positions.copy()
    rng = np.random.default_rng(8)
    pop.update(np.array([[0, 1], [2, 3]]), np.array([0, 0]), rng, phi=0.5)
    draws = np.random.default_rng(8)
    r1, r2, r3 = (draws.random((2, 32)) for _ in range(3))
    mean = before.mean(axis=0)
    for row, (student, teacher) in enumerate([(1, 0), (3, 2)]):
        v = r2[row] * (before[teacher] - before[student]) + 0.5 * r3[row] * (
            mean - before[student])
        np.testing.assert_allclose(pop.velocities[student], v, rtol=0, atol=1e-14)
        np.testing.assert_allclose(pop.positions[student], np.clip(before[student] + v, LOWER,
                                                                   UPPER), rtol=0, atol=1e-14)
    assert rng.random() == draws.random()  # r3 was drawn because phi != 0


@pytest.mark.parametrize('pairs, teachers, skip, message', [
    ([[0, 1, 2]], [0], None, r'shape \(P, 2\)'),
    ([[0.0, 1.0]], [0], None, r'integer array'),
    ([[0, 1], [1, 2]], [0, 0], None, 'distinct indices in 0..3'),
    ([[0, 4]], [0], None, 'distinct indices in 0..3'),
    ([[0, 1]], [2], None, r'one 0 or 1 per pair \(1\)'),
    ([[0, 1]], [0, 1], None, r'one 0 or 1 per pair \(1\)'),
    ([[0, 1]], [0], [1], r'one bool per pair \(1\)'),
    ([[0, 1]], [0], [True, False], r'one bool per pair \(1\)'),
])
def test_update_errors(pairs, teachers, skip, message):
    pop = Population.random(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        pop.update(np.array(pairs), np.array(teachers), np.random.default_rng(0),
                   skip=None if skip is None else np.array(skip))


def test_state_dict_round_trip_is_a_copy():
    pop = Population.random(6, np.random.default_rng(0))
    pop.update(pop.pairs(np.random.default_rng(1)), np.array([0, 1, 0]),
               np.random.default_rng(2))
    state = pop.state_dict()
    assert set(state) == {'positions', 'velocities'}
    np.testing.assert_array_equal(state['positions'], pop.positions)
    np.testing.assert_array_equal(state['velocities'], pop.velocities)
    state['positions'][0, 0] = 1.25
    state['velocities'][0, 0] = -3.0
    assert pop.positions[0, 0] != 1.25 and pop.velocities[0, 0] != -3.0

    other = Population.random(2, np.random.default_rng(9))
    other.load_state_dict(state)
    assert len(other) == 6
    np.testing.assert_array_equal(other.positions, state['positions'])
    np.testing.assert_array_equal(other.velocities, state['velocities'])
    state['positions'][1, 1] = 0.75
    assert other.positions[1, 1] != 0.75
    with pytest.raises(ValueError, match='missing velocities'):
        other.load_state_dict({'positions': state['positions']})


def test_redraw_is_a_fresh_uniform_draw_with_zero_velocities():
    population = Population.random(4, np.random.default_rng(0))
    population.velocities[:] = 1.0
    rng, replay = np.random.default_rng(5), np.random.default_rng(5)
    population.redraw(rng)
    np.testing.assert_array_equal(population.positions, random_vectors(4, replay))
    assert population.velocities.shape == (4, 32) and not population.velocities.any()
    assert rng.random() == replay.random()  # exactly one draw of (4, 32) was taken
