"""HostDataset: data in host memory, batches identical to a DeviceDataset's; placement rules."""
import pytest
import torch

from mmrnas.datasets import (
    BatchAugment,
    DeviceDataset,
    HostDataset,
    choose_placement,
    parse_memory_size,
)

MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def images_and_labels(n: int = 23):
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=generator)
    return images, torch.arange(n) % 10


def all_batches(dataset, device, **kwargs):
    generator = torch.Generator(device=device).manual_seed(3)
    batches = list(dataset.batches(5, generator, **kwargs))
    return batches, generator.get_state()


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('kwargs', [
    dict(augment=BatchAugment(crop_padding=2, flip=True, cutout=4)),
    dict(shuffle=False),
    dict(shuffle=False, augment=BatchAugment()),
    dict(drop_last=True, augment=BatchAugment()),
])
def test_host_batches_equal_device_batches(device, kwargs):
    images, labels = images_and_labels()
    on_device = DeviceDataset(images, labels, MEAN, STD, device)
    on_host = HostDataset(images, labels, MEAN, STD, device)
    assert on_host.images.device.type == 'cpu' and on_host.device == torch.device(device)
    expected, expected_state = all_batches(on_device, device, **kwargs)
    got, state = all_batches(on_host, device, **kwargs)
    assert torch.equal(state, expected_state)  # the same random draws
    assert len(got) == len(expected)
    for (x, y), (x_ref, y_ref) in zip(got, expected):
        assert x.device == y.device == x_ref.device
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


@pytest.mark.parametrize('device', DEVICES)
def test_host_resume_mid_epoch_with_a_saved_order(device):
    images, labels = images_and_labels()
    datasets = [kind(images, labels, MEAN, STD, device) for kind in (DeviceDataset, HostDataset)]
    order = datasets[0].epoch_order(torch.Generator(device=device).manual_seed(1))
    outputs = [list(ds.batches(4, torch.Generator(device=device).manual_seed(2), order=order,
                               start_batch=2, augment=BatchAugment())) for ds in datasets]
    for (x, y), (x_ref, y_ref) in zip(outputs[1], outputs[0]):
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


def test_subset_and_to_stay_on_the_host():
    images, labels = images_and_labels()
    dataset = HostDataset(images, labels, MEAN, STD)
    part = dataset.subset([7, 2, 5])
    assert isinstance(part, HostDataset) and torch.equal(part.images, images[[7, 2, 5]])
    moved = part.to('cpu')
    assert isinstance(moved, HostDataset) and moved.images.device.type == 'cpu'
    assert dataset.nbytes == images.numel() + 8 * len(labels)


@pytest.mark.parametrize('value, size', [
    (1000, 1000), ('2GiB', 2 * 2**30), ('500 MB', 500 * 10**6), ('1.5KiB', 1536), ('64', 64)])
def test_memory_sizes(value, size):
    assert parse_memory_size(value) == size


@pytest.mark.parametrize('value', [0, -1, True, 1.5, '2 GiBs', 'lots', '0MiB', None])
def test_bad_memory_sizes_are_refused(value):
    with pytest.raises(ValueError, match=r"device_memory_budget must be a positive number of "
                                         r"bytes or a size such as '2GiB'"):
        parse_memory_size(value)


def test_auto_placement_follows_the_budgets():
    gib = 2**30
    assert choose_placement('auto', 100 * 2**20, gib, 4 * gib) == (
        'device', 'search data placement: device (100.0 MiB <= device budget 1.0 GiB)')
    assert choose_placement('auto', 3 * gib, gib, 4 * gib) == (
        'host', 'search data placement: host (3.0 GiB > device budget 1.0 GiB, <= host budget '
                '4.0 GiB)')
    assert choose_placement('auto', 5 * gib, gib, 4 * gib) == (
        'stream', 'search data placement: stream (5.0 GiB > device budget 1.0 GiB, > host '
                  'budget 4.0 GiB)')
    assert choose_placement('host', 10, gib, gib) == (
        'host', "search data placement: host (10.0 B <= device budget 1.0 GiB, <= host budget "
                "1.0 GiB, data_placement='host')")
    assert choose_placement('stream', 10, gib, gib)[0] == 'stream'
    assert choose_placement('auto', 2**40, 2**50, 2**30)[1] == (
        'search data placement: device (1.0 TiB <= device budget 1024.0 TiB)')


@pytest.mark.parametrize('placement, budgets, message', [
    ('device', (2**30, 2**40),
     r"data_placement='device', but the search data take 3.0 GiB \(3221225472 bytes\), more "
     r'than the device memory budget of 1.0 GiB \(1073741824 bytes\); set '
     r"data_placement='auto' \(host memory, or a stream from the files\), or "
     r'train_dataloader.device_memory_budget=3221225472 or more'),
    ('host', (2**40, 2**30),
     r"data_placement='host', but the search data take 3.0 GiB \(3221225472 bytes\), more "
     r'than the host memory budget of 1.0 GiB \(1073741824 bytes\); set '
     r"data_placement='stream' or 'auto' \(read from the files every epoch\), or "
     r'train_dataloader.host_memory_budget=3221225472 or more'),
])
def test_forced_placement_over_its_budget_is_refused(placement, budgets, message):
    with pytest.raises(ValueError, match=message):
        choose_placement(placement, 3 * 2**30, *budgets)
