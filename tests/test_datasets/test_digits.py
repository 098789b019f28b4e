"""scikit-learn digits as a small real image dataset."""
import pytest
import torch
from mmengine.config import Config

from mmrnas.datasets import load_digits
from tests.utils import QUICKSTART


@pytest.fixture(scope='module')
def digits():
    return load_digits()


def test_shapes_and_labels(digits):
    images, labels = digits
    assert images.shape == (1797, 3, 16, 16) and images.dtype == torch.uint8
    assert labels.shape == (1797, ) and labels.dtype == torch.int64
    assert labels.min().item() == 0 and labels.max().item() == 9
    assert set(labels.tolist()) == set(range(10))
    assert images.max().item() == 255 and images.min().item() == 0
    assert torch.equal(images[:, 0], images[:, 2])


def test_nearest_upsampling():
    small, _ = load_digits(size=8)
    big, _ = load_digits(size=32)
    assert big.shape == (1797, 3, 32, 32)
    assert torch.equal(big, small.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3))


def test_quickstart_normalisation_matches_data(digits):
    """The quickstart's mean / std are the digits' statistics (any size multiple of 8)."""
    data = Config.fromfile(QUICKSTART).train_dataloader
    images = digits[0].to(torch.float64) / 255
    mean = images.mean(dim=(0, 2, 3))
    std = images.permute(1, 0, 2, 3).reshape(3, -1).std(dim=1, unbiased=False)
    assert torch.allclose(mean, torch.tensor(data.mean, dtype=torch.float64), atol=1e-7)
    assert torch.allclose(std, torch.tensor(data.std, dtype=torch.float64), atol=1e-7)


def test_bad_size():
    with pytest.raises(ValueError):
        load_digits(size=0)
