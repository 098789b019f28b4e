"""A search's train_dataloader: its checks and defaults, the deterministic-pipeline rule, and
the batch augmentation built from its registry."""
import pytest
import torch

from mmrnas.datasets import BatchAugment, parse_search_dataloader
from mmrnas.registry import BATCH_AUGMENTS

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize('options, message', [
    (dict(data_placement='gpu'),
     r"data_placement must be one of \('auto', 'device', 'host', 'stream'\), got 'gpu'"),
    (dict(device_memory_budget='2 gigs'), "device_memory_budget must be a positive number"),
    (dict(host_memory_budget='lots'), "host_memory_budget must be a positive number"),
    (dict(num_workers=-1), 'num_workers must be a non-negative integer, got -1'),
    (dict(prefetch_factor=0), 'prefetch_factor must be a positive integer or None, got 0'),
    (dict(device_memory_budget=0), 'device_memory_budget must be a positive number'),
    (dict(data_placment='host'), r"unknown key\(s\) 'data_placment' \(did you mean "
                                 r"'data_placement'\?\)"),
])
def test_bad_placement_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        parse_search_dataloader(dict(dataset=dict(type='CIFAR10'), **options))


def test_placement_defaults():
    data = parse_search_dataloader(dict(dataset=dict(type='CIFAR10'),
                                        device_memory_budget='2GiB'))
    assert (data['data_placement'], data['device_memory_budget']) == ('auto', 2 * 2**30)
    assert data['host_memory_budget'] is None
    assert [data[key] for key in ('num_workers', 'pin_memory', 'persistent_workers',
                                  'prefetch_factor')] == [0, None, True, None]


RANDOM_PIPELINE_FIX = (
    'the search reads the pipeline once when it holds the images (device, host) and for every '
    'batch when it streams them, so the placements would search on other data; remove them '
    'and augment with train_dataloader.augment=dict(crop_padding=..., flip=..., cutout=...) '
    '(batched on the device, the same for every placement)')


@pytest.mark.parametrize('pipeline, random', [
    ([dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')], 'RandomFlip'),
    ([dict(type='mmpretrain.RandomResizedCrop', scale=32), dict(type='ColorJitter',
                                                                 brightness=0.4),
      dict(type='torchvision/RandomRotation', degrees=10), dict(type='PackInputs')],
     'mmpretrain.RandomResizedCrop, ColorJitter, torchvision/RandomRotation'),
    ([dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
           magnitude_level=9), dict(type='AutoAugment', policies='imagenet'),
      dict(type='RandomErasing', erase_prob=0.25)],
     'RandAugment, AutoAugment, RandomErasing'),
    # random by their arguments: prob (given, or 0.5 by default), random_negative_prob,
    # magnitude_std
    ([dict(type='Solarize', thr=128, prob=0.3), dict(type='Equalize'),
      dict(type='Rotate', angle=30.0, prob=1.0),
      dict(type='Brightness', magnitude_range=(0, 0.9), prob=1.0, random_negative_prob=1.0,
           magnitude_std=0.5)],
     'Solarize (prob=0.3), Equalize (prob=0.5), Rotate (random_negative_prob=0.5), '
     'Brightness (magnitude_std=0.5)'),
    # nested in a wrapper
    ([dict(type='KeyMapper', transforms=[dict(type='Lighting', eigval=[1, 1, 1],
                                              eigvec=[[1, 0, 0]] * 3)])], 'Lighting'),
])
def test_random_transforms_in_the_search_pipeline_are_refused(pipeline, random):
    dataset = dict(type='mmrnas.DigitsDataset', split='all', size=8, pipeline=pipeline)
    with pytest.raises(ValueError) as error:
        parse_search_dataloader(dict(dataset=dataset))
    assert str(error.value) == (f'train_dataloader.dataset.pipeline has random transforms '
                                f'({random}): {RANDOM_PIPELINE_FIX}')


def test_random_transforms_of_a_wrapped_dataset_are_refused():
    inner = dict(type='mmrnas.DigitsDataset', size=8,
                 pipeline=[dict(type='RandomCrop', crop_size=6), dict(type='PackInputs')])
    dataset = dict(type='ConcatDataset', datasets=[
        dict(type='RepeatDataset', times=2, dataset=inner),
        dict(inner, pipeline=[dict(type='PackInputs')])])
    with pytest.raises(ValueError, match=r'has random transforms \(RandomCrop\): '):
        parse_search_dataloader(dict(dataset=dataset))


def test_a_deterministic_pipeline_is_read(monkeypatch):
    """Deterministic transforms, and those whose probabilities leave nothing to chance (prob=0:
    never, prob=1 with no other draw: always), are accepted and read."""
    from mmrnas.datasets.search_data import prepare_search_data
    pipeline = [dict(type='Resize', scale=(12, 12)), dict(type='CenterCrop', crop_size=10),
                dict(type='Equalize', prob=0.0), dict(type='Invert', prob=1.0),
                dict(type='PackInputs')]
    data = parse_search_dataloader(dict(dataset=dict(type='mmrnas.DigitsDataset', split='all',
                                                     size=8, pipeline=pipeline)))
    search_data, placement, _ = prepare_search_data(data, torch.device('cpu'))
    assert (placement, len(search_data.dataset), search_data.shape) == ('device', 1797,
                                                                        (3, 10, 10))


def test_augment_is_built_from_its_registry():
    data = parse_search_dataloader(dict(dataset=dict(type='CIFAR10'),
                                        augment=dict(crop_padding=4, flip=True, cutout=16)))
    assert type(data['augment']) is BatchAugment
    assert vars(data['augment']) == dict(crop_padding=4, flip=True, cutout=16)  # recorded
    for kind in ('BatchAugment', 'mmrnas.BatchAugment', BatchAugment):
        named = parse_search_dataloader(dict(dataset=dict(type='CIFAR10'),
                                             augment=dict(type=kind, cutout=8)))['augment']
        assert type(named) is BatchAugment and vars(named) == dict(crop_padding=4, flip=True,
                                                                    cutout=8)
    assert parse_search_dataloader(dict(dataset=dict(type='CIFAR10')))['augment'] is None
    assert BATCH_AUGMENTS.get('BatchAugment') is BatchAugment and BATCH_AUGMENTS.parent is None


def test_a_users_batch_augment():
    @BATCH_AUGMENTS.register_module(name='_InvertProbe')
    class Invert:
        def __init__(self, strength: float = 1.0):
            self.strength = strength

        def __call__(self, images, mean, std, generator):
            return BatchAugment(0, False, 0)(255 - images, mean, std, generator)

    try:
        data = parse_search_dataloader(dict(dataset=dict(type='CIFAR10'),
                                            augment=dict(type='_InvertProbe', strength=0.5)))
        assert type(data['augment']) is Invert and vars(data['augment']) == dict(strength=0.5)
        with pytest.raises(ValueError, match=r"train_dataloader.augment: unknown key\(s\) "
                                             r"'cutout'; it takes strength"):
            parse_search_dataloader(dict(dataset=dict(type='CIFAR10'),
                                         augment=dict(type='_InvertProbe', cutout=8)))
    finally:
        BATCH_AUGMENTS._module_dict.pop('_InvertProbe')


@pytest.mark.parametrize('augment, message', [
    (dict(cutuot=8), "train_dataloader.augment: unknown key(s) 'cutuot' (did you mean "
                     "'cutout'?); it takes crop_padding, flip, cutout"),
    (dict(type='Mixup'), "train_dataloader.augment: type='Mixup' is not a registered batch "
                         "augment; register your own class with "
                         "@mmrnas.registry.BATCH_AUGMENTS.register_module() and import it with "
                         "custom_imports"),
    (dict(type='RandomCrop'), "train_dataloader.augment: type='RandomCrop' is not a registered "
                              "batch augment; "),
    ('flip', "train_dataloader.augment must be a dict or None, got 'flip'"),
    (dict(crop_padding=-1), 'crop_padding must be a non-negative int or None, got -1'),
])
def test_bad_augment_is_refused(augment, message):
    with pytest.raises(ValueError) as error:
        parse_search_dataloader(dict(dataset=dict(type='CIFAR10'), augment=augment))
    assert str(error.value).startswith(message)
