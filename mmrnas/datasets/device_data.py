"""A whole dataset held as tensors on one device, with batched on-device augmentation.

Replaces DataLoader + torchvision transforms of the search (docs/reference.md §4.2 "Data
augmentation", §4.3): RandomCrop(pad 4) → HorizontalFlip → ToTensor → Normalize →
Cutout(16), every step per sample but computed for the whole batch at once. No step reads a
tensor value back to the host, so a CUDA epoch never synchronises.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ['BatchSource', 'DeviceDataset', 'BatchAugment']

Batch = tuple[torch.Tensor, torch.Tensor]


def _check_generator(generator: torch.Generator, device: torch.device) -> None:
    """Random draws must come from a generator on the data's device."""
    if generator.device.type != device.type:
        raise ValueError(f'generator lives on {generator.device}, data on {device}; '
                         f'use torch.Generator(device={str(device)!r})')


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(images / 255 - mean) / std`` as a new float32 tensor (ToTensor + Normalize)."""
    return images.to(torch.float32, copy=True).div_(255.0).sub_(mean).div_(std)


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


class BatchSource(ABC):
    """Samples served as normalised float32 batches on one device, optionally augmented: the
    epoch order, the batch bounds and every random draw, the same however the uint8 images are
    held (:class:`DeviceDataset`, :class:`~mmrnas.datasets.HostDataset`,
    :class:`~mmrnas.datasets.StreamDataset`), so all serve the same batches for a generator.

    Subclasses give :meth:`__len__` and :meth:`_uint8_batches`.

    Args:
        mean: per-channel mean on the 0..1 scale (e.g. CIFAR-10's ``(0.4914, 0.4822, 0.4465)``).
        std: per-channel std on the 0..1 scale.
        device: where batches are served and augmented.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 device: torch.device | str) -> None:
        self._device = torch.device(device)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self._mean = torch.tensor(self.mean, dtype=torch.float32,
                                  device=self._device).view(1, -1, 1, 1)
        self._std = torch.tensor(self.std, dtype=torch.float32,
                                 device=self._device).view(1, -1, 1, 1)

    @property
    def device(self) -> torch.device:
        """Device the batches are served on."""
        return self._device

    @abstractmethod
    def __len__(self) -> int:
        """Number of samples."""

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        """Number of batches :meth:`batches` yields per epoch."""
        if drop_last:
            return len(self) // batch_size
        return math.ceil(len(self) / batch_size)

    def epoch_order(self, generator: torch.Generator | None = None,
                    shuffle: bool = True) -> torch.Tensor:
        """Sample order of one epoch: ``randperm`` drawn from ``generator`` or ``arange``."""
        if not shuffle:
            return torch.arange(len(self), device=self.device)
        if generator is None:
            raise ValueError('shuffle=True needs a torch.Generator')
        _check_generator(generator, self.device)
        return torch.randperm(len(self), generator=generator, device=self.device)

    def batches(self,
                batch_size: int,
                generator: torch.Generator | None = None,
                shuffle: bool = True,
                augment: BatchAugment | None = None,
                drop_last: bool = False,
                order: torch.Tensor | None = None,
                start_batch: int = 0) -> Iterator[Batch]:
        """Yield ``(inputs float32 N×C×H×W normalised, labels int64 N)`` for one epoch.

        Every sample appears once per epoch (the reference's ``SubsetRandomSampler``); the
        last batch is smaller unless ``drop_last``. The order is drawn (lazily, at the first
        batch) with :meth:`epoch_order`; augmentation draws follow batch by batch.

        Args:
            batch_size: samples per batch (reference: 256).
            generator: RNG on the data's device; needed for ``shuffle`` or ``augment``.
            shuffle: random order if True, sequential otherwise.
            augment: a :class:`BatchAugment`; None only normalises.
            drop_last: skip the last incomplete batch.
            order: a precomputed epoch order (from :meth:`epoch_order`); overrides ``shuffle``.
            start_batch: skip the first batches of ``order`` (resume mid-epoch: pass the saved
                order and restore ``generator``'s state saved after that many batches).
        """
        if batch_size < 1 or start_batch < 0:
            raise ValueError(f'need batch_size >= 1 and start_batch >= 0, got {batch_size}, '
                             f'{start_batch}')
        if generator is not None:
            _check_generator(generator, self.device)
        elif augment is not None or (order is None and shuffle):
            raise ValueError('shuffle=True or augment needs a torch.Generator')
        if order is not None:
            order = torch.as_tensor(order, dtype=torch.int64, device=self.device)
            if order.shape != (len(self), ):
                raise ValueError(f'order must hold {len(self)} indices, got {tuple(order.shape)}')
        return self._iterate(batch_size, generator, shuffle, augment, drop_last, order,
                             start_batch)

    def _iterate(self, batch_size: int, generator: torch.Generator | None, shuffle: bool,
                 augment: BatchAugment | None, drop_last: bool, order: torch.Tensor | None,
                 start_batch: int) -> Iterator[Batch]:
        """The generator behind :meth:`batches` (arguments already checked)."""
        if order is None and shuffle:
            order = self.epoch_order(generator)
        bounds = [(b * batch_size, min((b + 1) * batch_size, len(self)))
                  for b in range(start_batch, self.num_batches(batch_size, drop_last))]
        for images, labels in self._uint8_batches(order, bounds):
            if augment is None:
                yield normalize(images, self._mean, self._std), labels
            else:
                yield augment(images, self._mean, self._std, generator), labels

    @abstractmethod
    def _uint8_batches(self, order: torch.Tensor | None,
                       bounds: list[tuple[int, int]]) -> Iterator[Batch]:
        """uint8 images and int64 labels on :attr:`device` of the positions ``lo:hi`` of
        ``order`` (None: in storage order), for each ``(lo, hi)`` of ``bounds`` in turn."""


class DeviceDataset(BatchSource):
    """Images (uint8) and labels (int64) kept on one device, served as normalised batches.

    Args:
        images: uint8 N×C×H×W (tensor or array).
        labels: int N.
        mean: per-channel mean on the 0..1 scale (e.g. CIFAR-10's ``(0.4914, 0.4822, 0.4465)``).
        std: per-channel std on the 0..1 scale.
        device: where to keep the data and serve batches; defaults to the device of
            ``images``.
        indices: serve only the samples at these positions of ``images``, in this order (a
            view sharing ``images`` and ``labels``, see :meth:`view`); None: all of them.
    """

    #: Device holding images and labels when not :attr:`device` (a :class:`HostDataset`).
    storage: str | None = None

    def __init__(self,
                 images: torch.Tensor | np.ndarray,
                 labels: torch.Tensor | np.ndarray | Sequence[int],
                 mean: Sequence[float],
                 std: Sequence[float],
                 device: torch.device | str | None = None,
                 indices: torch.Tensor | np.ndarray | Sequence[int] | None = None) -> None:
        images = torch.as_tensor(images)
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise TypeError(f'images must be uint8 N×C×H×W, got {images.dtype} '
                            f'{tuple(images.shape)}')
        device = torch.device(device) if device is not None else images.device
        labels = torch.as_tensor(labels)
        if labels.shape != (images.shape[0], ):
            raise ValueError(f'labels must have shape ({images.shape[0]},), '
                             f'got {tuple(labels.shape)}')
        if len(mean) != images.shape[1] or len(std) != images.shape[1]:
            raise ValueError(f'mean/std need {images.shape[1]} values (one per channel)')
        super().__init__(mean, std, device)
        self.images = images.to(self.storage or device)
        self.labels = labels.to(device=self.storage or device, dtype=torch.int64)
        self.indices = None if indices is None else torch.as_tensor(
            indices, dtype=torch.int64, device=self.images.device)

    def __len__(self) -> int:
        return self.images.shape[0] if self.indices is None else self.indices.shape[0]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_samples={len(self)}, '
                f'shape={tuple(self.images.shape[1:])}, device={self.device})')

    @property
    def nbytes(self) -> int:
        """Bytes the images and labels take (shared by all views of them)."""
        return self.images.nbytes + self.labels.nbytes

    def to(self, device: torch.device | str) -> DeviceDataset:
        """Return a copy of this dataset (of its class) serving batches on ``device``."""
        return type(self)(self.images, self.labels, self.mean, self.std, device, self.indices)

    def _positions(self, indices: torch.Tensor | np.ndarray | Sequence[int]) -> torch.Tensor:
        """Positions in :attr:`images` of this dataset's samples ``indices``."""
        index = torch.as_tensor(indices, dtype=torch.int64, device=self.images.device)
        return index if self.indices is None else self.indices.index_select(0, index)

    def subset(self, indices: torch.Tensor | np.ndarray | Sequence[int]) -> DeviceDataset:
        """Return a copy of the samples at ``indices``."""
        index = self._positions(indices)
        return type(self)(self.images.index_select(0, index), self.labels.index_select(0, index),
                          self.mean, self.std, device=self.device)

    def view(self, indices: torch.Tensor | np.ndarray | Sequence[int]) -> DeviceDataset:
        """Return the samples at ``indices`` (e.g. a half of :func:`split_indices`) without
        copying them: the view shares :attr:`images` and :attr:`labels`, and gathers each
        batch through its indices."""
        return type(self)(self.images, self.labels, self.mean, self.std, self.device,
                          self._positions(indices))

    def _uint8_batches(self, order: torch.Tensor | None,
                       bounds: list[tuple[int, int]]) -> Iterator[Batch]:
        if order is not None:  # where the images are (the host for a HostDataset)
            order = order.to(self.images.device)
        for lo, hi in bounds:
            yield self._gather(order, lo, hi)

    def _gather(self, order: torch.Tensor | None, lo: int, hi: int) -> Batch:
        """uint8 images and labels of batch positions ``lo:hi`` of ``order`` (None: in
        storage order), where the data are kept."""
        if order is None and self.indices is None:
            return self.images[lo:hi], self.labels[lo:hi]
        index = self.indices[lo:hi] if order is None else self._positions(order[lo:hi])
        return self.images.index_select(0, index), self.labels.index_select(0, index)
