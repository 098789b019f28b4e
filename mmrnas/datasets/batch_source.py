"""Batch sources: samples served as normalised float32 batches on one device, in an order and
with augmentation drawn there, however the uint8 images are held (docs/reference.md §4.2 "Data
augmentation", §4.3). No step reads a tensor value back to the host, so a CUDA epoch never
synchronises.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

import torch

__all__ = ['BatchSource', 'Batch', 'Augment', 'normalize']

#: A batch: (float32 N×C×H×W inputs, or uint8 images before normalisation; int64 N labels).
Batch = tuple[torch.Tensor, torch.Tensor]
#: A batch augmentation (:class:`~mmrnas.datasets.BatchAugment`, or a class of your own in
#: :data:`~mmrnas.registry.BATCH_AUGMENTS`): ``(uint8 images, mean, std, generator)`` to
#: normalised float32 inputs.
Augment = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


def _check_generator(generator: torch.Generator, device: torch.device) -> None:
    """Random draws must come from a generator on the data's device."""
    if generator.device.type != device.type:
        raise ValueError(f'generator lives on {generator.device}, data on {device}; '
                         f'use torch.Generator(device={str(device)!r})')


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(images / 255 - mean) / std`` as a new float32 tensor (ToTensor + Normalize)."""
    return images.to(torch.float32, copy=True).div_(255.0).sub_(mean).div_(std)


class BatchSource(ABC):
    """Samples served as normalised float32 batches on one device, optionally augmented: the
    epoch order, the batch bounds and every random draw, the same however the uint8 images are
    held (:class:`~mmrnas.datasets.TensorBatches` on the device or in host memory,
    :class:`~mmrnas.datasets.StreamBatches`), so all serve the same batches for a generator.

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
                augment: Augment | None = None,
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
            augment: an :data:`Augment` (:class:`~mmrnas.datasets.BatchAugment`); None only
                normalises.
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
                 augment: Augment | None, drop_last: bool, order: torch.Tensor | None,
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
