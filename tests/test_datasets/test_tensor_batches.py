"""TensorBatches: a dataset held as tensors on the serving device or in host memory, served as
normalised, augmented batches (the same batches wherever the data are stored)."""
import numpy as np
import pytest
import torch

from mmrnas.datasets import BatchAugment, TensorBatches, build_search_split
from .test_batch_augment import CIFAR10_MEAN, CIFAR10_STD, normalised, random_images

MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def make_dataset(n: int = 10) -> TensorBatches:
    images = random_images(n, size=8)
    images[:, 0, 0, 0] = (torch.arange(n) % 256).to(torch.uint8)
    return TensorBatches(images, torch.arange(n), CIFAR10_MEAN, CIFAR10_STD)


def test_no_augment_is_pure_normalisation_in_order():
    ds = make_dataset()
    batches = list(ds.batches(4, shuffle=False))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    inputs = torch.cat([x for x, _ in batches])
    assert inputs.dtype == torch.float32
    assert torch.equal(inputs, normalised(ds.images))
    assert torch.equal(torch.cat([y for _, y in batches]), torch.arange(10))


def test_every_sample_once_per_epoch():
    ds = make_dataset()
    g = torch.Generator().manual_seed(0)
    assert ds.num_batches(4) == 3 and ds.num_batches(4, drop_last=True) == 2
    orders = []
    for _ in range(2):
        batches = list(ds.batches(4, g, augment=BatchAugment(crop_padding=2, cutout=4)))
        assert [len(y) for _, y in batches] == [4, 4, 2]
        labels = torch.cat([y for _, y in batches])
        assert labels.dtype == torch.int64 and sorted(labels.tolist()) == list(range(10))
        orders.append(labels.tolist())
    assert orders[0] != orders[1] and orders[0] != list(range(10))
    batches = list(ds.batches(4, g, drop_last=True))
    assert [len(y) for _, y in batches] == [4, 4]
    # Images travel with their labels: without augmentation, pixel (0, 0, 0) encodes the index.
    for x, y in batches:
        assert torch.equal(x[:, 0, 0, 0], normalised(ds.images[y])[:, 0, 0, 0])


def test_same_seed_same_batches():
    ds, aug = make_dataset(), BatchAugment(crop_padding=2, cutout=4)
    runs = [list(ds.batches(3, torch.Generator().manual_seed(9), augment=aug)) for _ in range(2)]
    for (xa, ya), (xb, yb) in zip(*runs):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_resume_mid_epoch():
    ds, aug = make_dataset(), BatchAugment(crop_padding=2, cutout=4)
    full = list(ds.batches(3, torch.Generator().manual_seed(4), augment=aug))
    g = torch.Generator().manual_seed(4)
    order = ds.epoch_order(g)
    it = ds.batches(3, g, augment=aug, order=order)
    head = [next(it), next(it)]
    state = g.get_state()
    tail = list(it)
    resumed_g = torch.Generator()
    resumed_g.set_state(state)
    resumed = list(ds.batches(3, resumed_g, augment=aug, order=order, start_batch=2))
    assert len(resumed) == len(tail) == 2
    for (xa, ya), (xb, yb), (xc, yc) in zip(head + tail, head + resumed, full):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert torch.equal(xa, xc) and torch.equal(ya, yc)


def test_subset_and_to():
    ds = make_dataset()
    sub = ds.subset(np.array([7, 2, 5], dtype=np.int64))
    assert len(sub) == 3 and sub.labels.tolist() == [7, 2, 5]
    assert torch.equal(sub.images, ds.images[[7, 2, 5]])
    assert sub.mean == ds.mean and sub.std == ds.std
    moved = sub.to('cpu')
    assert moved.device == torch.device('cpu') and torch.equal(moved.images, sub.images)
    assert sub.labels.dtype == torch.int64 and sub.images.dtype == torch.uint8


def test_view_serves_the_subset_without_copying():
    ds = make_dataset()
    view, copy = ds.view([7, 2, 5, 9]), ds.subset([7, 2, 5, 9])
    assert len(view) == 4 and view.images.data_ptr() == ds.images.data_ptr()
    assert view.nbytes == ds.nbytes  # the shared storage
    augment = BatchAugment(crop_padding=2, flip=True, cutout=4)
    batches = [list(d.batches(3, torch.Generator().manual_seed(1), augment=augment))
               for d in (view, copy)]
    for (xa, ya), (xb, yb) in zip(*batches):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    in_order = [y.tolist() for _, y in view.batches(3, shuffle=False)]
    assert in_order == [[7, 2, 5], [9]]
    nested = view.view([3, 1])  # positions in the view
    assert nested.indices.tolist() == [9, 2] and nested.subset([0]).labels.tolist() == [9]
    moved = view.to('cpu')
    assert torch.equal(moved.indices, view.indices) and len(moved) == 4


def test_split_halves_share_the_images():
    ds = make_dataset()
    train, val = build_search_split(ds, np.array([1, 3, 5]), np.array([0, 2]), 'cpu')
    assert train.images.data_ptr() == val.images.data_ptr() == ds.images.data_ptr()
    assert [len(train), len(val)] == [3, 2]
    assert [y.tolist() for _, y in val.batches(8, shuffle=False)] == [[0, 2]]



def test_split_placements_store_the_images():
    """``'device'`` stores the images where batches are served, ``'host'`` in host memory."""
    ds = make_dataset()
    on_device = build_search_split(ds, np.array([1, 3]), np.array([0]), 'meta', 'device')
    on_host = build_search_split(ds, np.array([1, 3]), np.array([0]), 'meta', 'host')
    assert [(half.device.type, half.storage.type) for half in on_device + on_host] == [
        ('meta', 'meta')] * 2 + [('meta', 'cpu')] * 2
    assert on_host[0].images.data_ptr() == ds.images.data_ptr()


def test_errors():
    ds = make_dataset()
    with pytest.raises(ValueError, match='Generator'):
        ds.batches(4)
    with pytest.raises(ValueError, match='Generator'):
        ds.batches(4, shuffle=False, augment=BatchAugment())
    with pytest.raises(ValueError):
        ds.batches(0, shuffle=False)
    with pytest.raises(ValueError, match='order'):
        ds.batches(4, order=torch.arange(3))
    with pytest.raises(TypeError):
        TensorBatches(torch.zeros(2, 3, 4, 4), torch.zeros(2), CIFAR10_MEAN, CIFAR10_STD)
    with pytest.raises(ValueError):
        TensorBatches(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.zeros(3), CIFAR10_MEAN,
                      CIFAR10_STD)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_epoch_never_synchronises():
    ds = make_dataset(1000).to('cuda')
    g = torch.Generator(device='cuda').manual_seed(0)
    torch.cuda.set_sync_debug_mode('error')
    try:
        batches = list(ds.batches(256, g, augment=BatchAugment()))
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert [len(y) for _, y in batches] == [256, 256, 256, 232]
    assert batches[0][0].device.type == 'cuda'
    with pytest.raises(ValueError, match='generator'):
        ds.batches(4, torch.Generator())


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
    on_device = TensorBatches(images, labels, MEAN, STD, device)
    on_host = TensorBatches(images, labels, MEAN, STD, device, storage='cpu')
    assert on_host.storage.type == 'cpu' and on_host.device == torch.device(device)
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
    datasets = [TensorBatches(images, labels, MEAN, STD, device, storage=storage)
                for storage in (None, 'cpu')]
    order = datasets[0].epoch_order(torch.Generator(device=device).manual_seed(1))
    outputs = [list(ds.batches(4, torch.Generator(device=device).manual_seed(2), order=order,
                               start_batch=2, augment=BatchAugment())) for ds in datasets]
    for (x, y), (x_ref, y_ref) in zip(outputs[1], outputs[0]):
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


def test_subset_view_and_to_stay_on_the_host():
    images, labels = images_and_labels()
    dataset = TensorBatches(images, labels, MEAN, STD, storage='cpu')
    part = dataset.subset([7, 2, 5])
    assert part.storage.type == 'cpu' and torch.equal(part.images, images[[7, 2, 5]])
    moved = part.view([1]).to('meta')
    assert moved.storage.type == 'cpu' and moved.device.type == 'meta'
    assert TensorBatches(images, labels, MEAN, STD).to('meta').storage.type == 'meta'
    assert dataset.nbytes == images.numel() + 8 * len(labels)
