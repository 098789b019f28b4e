"""A whole dataset held as uint8 tensors, on the serving device or in host memory (docs/
search_guide.md, "Data placement"), served as batches on the device."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from .batch_source import Batch, BatchSource

__all__ = ['TensorBatches']


class TensorBatches(BatchSource):
    """Images (uint8) and labels (int64) kept as tensors on ``storage``, served as normalised
    batches on ``device``.

    Batches are the same wherever the data are stored: the epoch order and all augmentation
    draws come from the generator on ``device``. Data stored on ``device`` are gathered there;
    data stored elsewhere (the CPU: host memory) are gathered there, into pinned memory when
    ``device`` is CUDA, and copied to ``device`` without blocking.

    Args:
        images: uint8 N×C×H×W (tensor or array).
        labels: int N.
        mean: per-channel mean on the 0..1 scale (e.g. CIFAR-10's ``(0.4914, 0.4822, 0.4465)``).
        std: per-channel std on the 0..1 scale.
        device: where batches are served and augmented; defaults to the device of ``images``.
        indices: serve only the samples at these positions of ``images``, in this order (a
            view sharing ``images`` and ``labels``, see :meth:`view`); None: all of them.
        storage: where to keep images and labels (``'cpu'``: host memory); None: ``device``.
    """

    def __init__(self,
                 images: torch.Tensor | np.ndarray,
                 labels: torch.Tensor | np.ndarray | Sequence[int],
                 mean: Sequence[float],
                 std: Sequence[float],
                 device: torch.device | str | None = None,
                 indices: torch.Tensor | np.ndarray | Sequence[int] | None = None,
                 storage: torch.device | str | None = None) -> None:
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
        self._storage = None if storage is None else torch.device(storage)
        self.images = images.to(self._storage or device)
        self.labels = labels.to(device=self._storage or device, dtype=torch.int64)
        self.indices = None if indices is None else torch.as_tensor(
            indices, dtype=torch.int64, device=self.images.device)

    def __len__(self) -> int:
        return self.images.shape[0] if self.indices is None else self.indices.shape[0]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_samples={len(self)}, '
                f'shape={tuple(self.images.shape[1:])}, device={self.device}, '
                f'storage={self.storage})')

    @property
    def storage(self) -> torch.device:
        """Device holding images and labels."""
        return self.images.device

    @property
    def nbytes(self) -> int:
        """Bytes the images and labels take (shared by all views of them)."""
        return self.images.nbytes + self.labels.nbytes

    def _like(self, images: torch.Tensor, labels: torch.Tensor, device: torch.device | str,
              indices: torch.Tensor | None) -> TensorBatches:
        """A batch source of this class stored as this one (``storage`` given or not)."""
        return type(self)(images, labels, self.mean, self.std, device, indices, self._storage)

    def to(self, device: torch.device | str) -> TensorBatches:
        """Return a copy serving batches on ``device`` (stored there too, unless this one was
        given its own ``storage``)."""
        return self._like(self.images, self.labels, device, self.indices)

    def _positions(self, indices: torch.Tensor | np.ndarray | Sequence[int]) -> torch.Tensor:
        """Positions in :attr:`images` of this source's samples ``indices``."""
        index = torch.as_tensor(indices, dtype=torch.int64, device=self.images.device)
        return index if self.indices is None else self.indices.index_select(0, index)

    def subset(self, indices: torch.Tensor | np.ndarray | Sequence[int]) -> TensorBatches:
        """Return a copy of the samples at ``indices``."""
        index = self._positions(indices)
        return self._like(self.images.index_select(0, index), self.labels.index_select(0, index),
                          self.device, None)

    def view(self, indices: torch.Tensor | np.ndarray | Sequence[int]) -> TensorBatches:
        """Return the samples at ``indices`` (e.g. a half of :func:`split_indices`) without
        copying them: the view shares :attr:`images` and :attr:`labels`, and gathers each
        batch through its indices."""
        return self._like(self.images, self.labels, self.device, self._positions(indices))

    def _uint8_batches(self, order: torch.Tensor | None,
                       bounds: list[tuple[int, int]]) -> Iterator[Batch]:
        if order is not None:  # where the images are
            order = order.to(self.images.device)
        for lo, hi in bounds:
            yield self._gather(order, lo, hi)

    def _gather(self, order: torch.Tensor | None, lo: int, hi: int) -> Batch:
        """uint8 images and labels of batch positions ``lo:hi`` of ``order`` (None: in
        storage order) on :attr:`device`, gathered where the data are stored."""
        if order is None and self.indices is None:
            images, labels = self.images[lo:hi], self.labels[lo:hi]
        else:
            index = self.indices[lo:hi] if order is None else self._positions(order[lo:hi])
            images, labels = self.images.index_select(0, index), self.labels.index_select(0, index)
        if self._storage is None or self._storage == self.device:
            return images, labels
        if images.device.type == 'cpu' and self.device.type == 'cuda':
            images, labels = images.pin_memory(), labels.pin_memory()
        return (images.to(self.device, non_blocking=True),
                labels.to(self.device, non_blocking=True))
