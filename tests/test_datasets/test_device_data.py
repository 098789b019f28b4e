"""DeviceDataset and BatchAugment against per-sample Python references (docs/reference.md §4.2)."""
import numpy as np
import pytest
import torch

from mmrnas.datasets import BatchAugment, DeviceDataset, build_search_split

CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)

MEAN = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)


def normalised(images: torch.Tensor) -> torch.Tensor:
    """ToTensor + Normalize of a uint8 batch."""
    return (images.float() / 255 - MEAN) / STD


def random_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


def reference_augment(images: torch.Tensor, seed: int, pad: int, flip: bool, length: int):
    """Sample by sample, with the random draws of BatchAugment reproduced from ``seed``."""
    n, _, h, w = images.shape
    g = torch.Generator().manual_seed(seed)
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=g) if pad else None
    flips = torch.rand(n, generator=g) < 0.5 if flip else None
    if length:
        cy = torch.randint(0, h, (n, 1), generator=g)[:, 0]
        cx = torch.randint(0, w, (n, 1), generator=g)[:, 0]
    out = []
    for i in range(n):
        img = images[i].numpy()
        if pad:
            padded = np.pad(img, ((0, 0), (pad, pad), (pad, pad)))
            oy, ox = int(offsets[0, i]), int(offsets[1, i])
            img = padded[:, oy:oy + h, ox:ox + w]
        if flip and flips[i]:
            img = img[:, :, ::-1]
        x = normalised(torch.from_numpy(img.copy())[None])[0]
        if length:
            y1, y2 = max(int(cy[i]) - length // 2, 0), min(int(cy[i]) + length // 2, h)
            x1, x2 = max(int(cx[i]) - length // 2, 0), min(int(cx[i]) + length // 2, w)
            x[:, y1:y2, x1:x2] = 0
        out.append(x)
    return torch.stack(out), offsets, flips


def test_crop_matches_padded_slice():
    images = random_images(64)
    aug = BatchAugment(crop_padding=4, flip=False, cutout=0)
    out = aug(images, MEAN, STD, torch.Generator().manual_seed(3))
    expected, offsets, _ = reference_augment(images, 3, pad=4, flip=False, length=0)
    assert out.dtype == torch.float32 and out.shape == images.shape
    assert torch.equal(out, expected)
    assert offsets.min() == 0 and offsets.max() == 8  # both extreme offsets are exercised


def test_padded_border_is_normalised_zero():
    images = torch.full((32, 3, 32, 32), 255, dtype=torch.uint8)
    aug = BatchAugment(crop_padding=4, flip=False, cutout=None)
    out = aug(images, MEAN, STD, torch.Generator().manual_seed(1))
    _, offsets, _ = reference_augment(images, 1, pad=4, flip=False, length=0)
    white, black = normalised(images[:1])[0], ((0 - MEAN) / STD).view(3, 1)
    for i in range(32):
        border = ~torch.isclose(out[i], white).all(0)
        rows_inside = 32 - abs(int(offsets[0, i]) - 4)
        cols_inside = 32 - abs(int(offsets[1, i]) - 4)
        assert int(border.sum()) == 32 * 32 - rows_inside * cols_inside
        assert torch.equal(out[i][:, border], black.expand(3, int(border.sum())))


def test_flip_exactly_the_chosen_samples():
    images = random_images(32)
    aug = BatchAugment(crop_padding=0, flip=True, cutout=0)
    out = aug(images, MEAN, STD, torch.Generator().manual_seed(5))
    expected, _, flips = reference_augment(images, 5, pad=0, flip=True, length=0)
    assert torch.equal(out, expected)
    assert 0 < int(flips.sum()) < 32
    for i in range(32):
        source = images[i].flip(-1) if flips[i] else images[i]
        assert torch.equal(out[i], normalised(source[None])[0])


def test_cutout_zeroes_one_clipped_box():
    images = random_images(64)
    aug = BatchAugment(crop_padding=None, flip=False, cutout=16)
    out = aug(images, MEAN, STD, torch.Generator().manual_seed(2))
    expected, _, _ = reference_augment(images, 2, pad=0, flip=False, length=16)
    assert torch.equal(out, expected)
    plain = normalised(images)
    box = (out == 0).all(1)  # N×H×W
    assert torch.equal(out[~box[:, None].expand_as(out)], plain[~box[:, None].expand_as(out)])
    sizes = []
    for i in range(64):
        ys, xs = torch.nonzero(box[i], as_tuple=True)
        height, width = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
        assert height <= 16 and width <= 16 and len(ys) == height * width  # one rectangle
        sizes.append(height * width)
    assert max(sizes) == 256 and min(sizes) < 256  # full and clipped boxes both occur


def test_full_pipeline_matches_reference():
    images = random_images(48)
    out = BatchAugment()(images, MEAN, STD, torch.Generator().manual_seed(11))
    expected, _, _ = reference_augment(images, 11, pad=4, flip=True, length=16)
    assert torch.equal(out, expected)


def test_disabled_augment_draws_nothing():
    images = random_images(4)
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    out = BatchAugment(crop_padding=0, flip=False, cutout=None)(images, MEAN, STD, g)
    assert torch.equal(out, normalised(images))
    assert torch.equal(g.get_state(), state)


def make_dataset(n: int = 10) -> DeviceDataset:
    images = random_images(n, size=8)
    images[:, 0, 0, 0] = (torch.arange(n) % 256).to(torch.uint8)
    return DeviceDataset(images, torch.arange(n), CIFAR10_MEAN, CIFAR10_STD)


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
        DeviceDataset(torch.zeros(2, 3, 4, 4), torch.zeros(2), CIFAR10_MEAN, CIFAR10_STD)
    with pytest.raises(ValueError):
        DeviceDataset(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.zeros(3), CIFAR10_MEAN,
                      CIFAR10_STD)
    with pytest.raises(ValueError):
        BatchAugment(crop_padding=-1)


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
