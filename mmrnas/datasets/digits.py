"""scikit-learn's handwritten digits as a tiny real image dataset for quick searches.

1797 real 8×8 digits (values 0..16) shipped with scikit-learn, scaled to uint8, upsampled
and repeated to 3 channels so that they run through the CIFAR network unchanged.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ['load_digits']


def load_digits(size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Load the digits as ``(images uint8 N×3×size×size, labels int64 N)``, N = 1797.

    Args:
        size: output side length; pixels are scaled 0..16 → 0..255 (rounded) and upsampled
            with nearest-neighbour interpolation.
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f'size must be a positive int, got {size!r}')
    from sklearn import datasets

    bunch = datasets.load_digits()
    pixels = torch.from_numpy(bunch.images).mul(255.0 / 16.0).round().unsqueeze(1)
    pixels = F.interpolate(pixels, size=(size, size), mode='nearest')
    images = pixels.to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    return images, torch.from_numpy(bunch.target).to(torch.int64)
