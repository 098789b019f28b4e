"""GenotypeCost: params and mult-adds of the retraining network, exact, cached, bounded."""
import numpy as np
import pytest

from mmrnas.search import decode, random_vectors
from mmrnas.search.genotype_cost import GenotypeCost
from mmrnas.structures import get_genotype

DIGITS_NET = dict(base_channels=8, num_cells=5, stem='cifar', num_classes=10, input_size=16)


@pytest.fixture(scope='module')
def digits_cost():
    return GenotypeCost(**DIGITS_NET)


def test_counts_match_the_model_zoo():
    """RelativeNAS at C36 L20 on CIFAR-10: configs/retrain/metafile.yml's params (auxiliary
    head excluded) and mult-adds."""
    cost = GenotypeCost(base_channels=36, num_cells=20, stem='cifar', num_classes=10,
                        input_size=32)
    assert cost(get_genotype('RelativeNAS')) == dict(params=3928222, mult_adds=616832640)
    assert cost.extremes() == dict(params=(1370134, 5144086),
                                   mult_adds=(227272320, 817833600))


def test_extremes_bound_every_genotype(digits_cost):
    assert digits_cost.extremes() == dict(params=(15458, 102370), mult_adds=(953600, 4312320))
    assert digits_cost(get_genotype('RelativeNAS')) == dict(params=53770, mult_adds=2452224)
    for vector in random_vectors(12, np.random.default_rng(0)):
        costs = digits_cost(decode(vector))
        for key, (smallest, largest) in digits_cost.extremes().items():
            assert smallest < costs[key] < largest


def test_counted_once_per_genotype(digits_cost, monkeypatch):
    genotype = get_genotype('DARTS_V2')
    first = digits_cost(genotype)
    # building the network again would fail
    monkeypatch.setattr('mmrnas.models.utils.genotype_classifier.GenotypeClassifier', None)
    assert digits_cost(genotype) == first
    first['params'] = 0  # a copy: the cache is not changed through the result
    assert digits_cost(genotype)['params'] != 0


def test_counting_draws_no_random_numbers(digits_cost):
    import torch
    state = torch.get_rng_state()
    digits_cost(get_genotype('DARTS_V1'))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize('config, message', [
    (dict(DIGITS_NET, stem='resnet'),
     "does not build a network: ValueError: stem must be 'imagenet' or 'cifar', got 'resnet'"),
    (dict(DIGITS_NET, depth=3),
     "train_cfg.constraint_model: unknown key(s) 'depth'; it takes base_channels, num_cells, "
     'stem, num_classes, input_size'),
    ({k: v for k, v in DIGITS_NET.items() if k != 'input_size'},
     'train_cfg.constraint_model needs base_channels, num_cells, stem, num_classes, '
     'input_size (the network you will retrain); missing: input_size'),
    # the spelling hint of every config key check (mmrnas.utils.check_unknown_keys)
    ({('base_channel' if k == 'base_channels' else k): v for k, v in DIGITS_NET.items()},
     "train_cfg.constraint_model: unknown key(s) 'base_channel' (did you mean "
     "'base_channels'?); it takes base_channels, num_cells, stem, num_classes, input_size"),
    ([8, 5], 'train_cfg.constraint_model must be a dict'),
])
def test_bad_constraint_model_is_one_error(config, message):
    with pytest.raises(ValueError) as error:
        GenotypeCost.from_config(config)
    assert message in str(error.value) and '\n' not in str(error.value)


def test_grey_images_count_a_one_channel_stem(digits_cost):
    """in_channels=1 (a search on grey images): the stem's first conv (3C filters of 3x3)
    has two input channels fewer, and nothing else changes."""
    grey = GenotypeCost.from_config(dict(DIGITS_NET, in_channels=1))
    genotype = get_genotype('RelativeNAS')
    colour_counts, grey_counts = digits_cost(genotype), grey(genotype)
    channels, size = DIGITS_NET['base_channels'] * 3, DIGITS_NET['input_size']
    assert colour_counts['params'] - grey_counts['params'] == 2 * channels * 9
    assert colour_counts['mult_adds'] - grey_counts['mult_adds'] == 2 * channels * 9 * size**2
    assert grey.config['in_channels'] == 1 and digits_cost.config['in_channels'] == 3
