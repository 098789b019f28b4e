"""BatchAugment against per-sample Python references (docs/reference.md §4.2), and built from
its registry."""
import numpy as np
import pytest
import torch

from mmrnas.datasets import BatchAugment

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


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='crop_padding must be a non-negative int or None'):
        BatchAugment(crop_padding=-1)
    with pytest.raises(ValueError, match='cutout must be a non-negative int or None'):
        BatchAugment(cutout=1.5)


def test_settings_are_its_attributes():
    """A search records ``vars`` of its augmentation: checkpoints of earlier versions hold
    exactly these keys."""
    assert vars(BatchAugment()) == dict(crop_padding=4, flip=True, cutout=16)
    assert vars(BatchAugment(crop_padding=None, flip=0, cutout=None)) == dict(
        crop_padding=0, flip=False, cutout=0)
