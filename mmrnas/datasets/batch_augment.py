"""The search's batch augmentation, registered in :data:`~mmrnas.registry.BATCH_AUGMENTS`.

Replaces the torchvision transforms of the reference search (docs/reference.md §4.2 "Data
augmentation"): RandomCrop(pad 4) → HorizontalFlip → ToTensor → Normalize → Cutout(16), every
step per sample but computed for the whole batch at once, on the batch's device.
``train_dataloader.augment=dict(crop_padding=4, flip=True, cutout=16)`` builds it (``type``
defaults to ``'BatchAugment'``; name your own registered class with ``type=``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mmrnas.registry import BATCH_AUGMENTS
from .batch_source import normalize

__all__ = ['BatchAugment']


@BATCH_AUGMENTS.register_module()
class BatchAugment:
    """Reference search augmentation applied to a uint8 batch (docs/reference.md §4.2).

    Random numbers are drawn from ``generator`` in this order (only for enabled steps):
    crop ``randint(0, 2p + 1, (2, N))`` (row, column offsets), flip ``rand(N) < 0.5``,
    cutout ``randint(0, H, (N,))`` then ``randint(0, W, (N,))`` (box centres).

    Args:
        crop_padding: RandomCrop padding ``p`` (zero padding of the raw uint8 image, output
            keeps the input size); 0/None disables.
        flip: horizontal flip with probability 0.5 per sample.
        cutout: Cutout side length ``l`` applied after normalisation (fills 0, the mean
            colour); the box is ``[y - l//2, y + l//2) × [x - l//2, x + l//2)`` clipped at the
            borders, as in the reference; 0/None disables.

    The instance's attributes (``vars``) are the settings a search records in its
    checkpoints; a class of your own keeps its settings as attributes too.
    """

    def __init__(self,
                 crop_padding: int | None = 4,
                 flip: bool = True,
                 cutout: int | None = 16) -> None:
        for name, value in (('crop_padding', crop_padding), ('cutout', cutout)):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f'{name} must be a non-negative int or None, got {value!r}')
        self.crop_padding = crop_padding or 0
        self.flip = bool(flip)
        self.cutout = cutout or 0

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_padding={self.crop_padding}, flip={self.flip}, '
                f'cutout={self.cutout})')

    def _crop_and_flip(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """RandomCrop from the zero-padded uint8 images, then the random flip, as one gather.

        Flipping a crop equals reading its columns backwards, so a flipped sample just gets
        reversed column indices.
        """
        n, c, h, w = images.shape
        p, device = self.crop_padding, images.device
        rows = torch.arange(h, device=device).expand(n, h)  # N×H source rows
        cols = torch.arange(w, device=device).expand(n, w)  # N×W source columns
        if p:
            offsets = torch.randint(0, 2 * p + 1, (2, n), generator=generator, device=device)
            rows = rows + offsets[0, :, None]
            cols = cols + offsets[1, :, None]
            images = F.pad(images, (p, p, p, p))
        if self.flip:
            flipped = torch.rand(n, generator=generator, device=device) < 0.5
            cols = torch.where(flipped[:, None], cols.flip(1), cols)
        flat = (rows[:, :, None] * (w + 2 * p) + cols[:, None, :]).view(n, 1, h * w)
        return images.reshape(n, c, -1).gather(2, flat.expand(n, c, h * w)).view(n, c, h, w)

    def _cutout_(self, inputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Zero, in place, one clipped ``cutout``-sided box per sample of ``inputs``."""
        n, _, h, w = inputs.shape
        half = self.cutout // 2
        cy = torch.randint(0, h, (n, 1), generator=generator, device=inputs.device)
        cx = torch.randint(0, w, (n, 1), generator=generator, device=inputs.device)
        ys = torch.arange(h, device=inputs.device)
        xs = torch.arange(w, device=inputs.device)
        in_rows = (ys >= cy - half) & (ys < cy + half)  # N×H
        in_cols = (xs >= cx - half) & (xs < cx + half)  # N×W
        box = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # N×1×H×W
        return inputs.masked_fill_(box, 0.0)

    def __call__(self, images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor:
        """Augment a uint8 batch and return it normalised as float32.

        Args:
            images: uint8 N×C×H×W on the generator's device.
            mean: per-channel mean, shape 1×C×1×1 float32 (0..1 scale).
            std: per-channel std, shape 1×C×1×1 float32.
            generator: source of all random draws.
        """
        if self.crop_padding or self.flip:
            images = self._crop_and_flip(images, generator)
        inputs = normalize(images, mean, std)
        if self.cutout:
            inputs = self._cutout_(inputs, generator)
        return inputs
