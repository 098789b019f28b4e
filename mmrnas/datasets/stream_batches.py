"""Search data too large for memory: every batch decoded from the files again, by the workers
of a DataLoader that MMEngine builds (``Runner.build_dataloader``), then augmented on the
device as usual (docs/search_guide.md, "Data placement").

The epoch order and every augmentation draw still come from the search's generator on the
device; the workers only read the samples of each batch in that order. So a stream serves
the same batches as the same images held in memory (bit-identical on a CPU).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from .batch_source import Batch, BatchSource
from .sample_loaders import SampleLoaders

__all__ = ['StreamBatches']


class StreamBatches(BatchSource):
    """Samples of a dataset read from its files for every batch (:class:`SampleLoaders`),
    copied to ``device`` and augmented there.

    Args:
        loaders: Read the samples.
        indices: The dataset indices of this set's samples, in order (a split half).
        labels: Their labels (int), known from the one pass over the data at the start.
        mean: per-channel mean on the 0..1 scale.
        std: per-channel std on the 0..1 scale.
        device: where batches are served and augmented.
    """

    def __init__(self, loaders: SampleLoaders, indices: np.ndarray | Sequence[int],
                 labels: torch.Tensor | Sequence[int], mean: Sequence[float],
                 std: Sequence[float], device: torch.device | str = 'cpu') -> None:
        super().__init__(mean, std, device)
        self.loaders = loaders
        self.indices = np.asarray(indices, dtype=np.int64)
        self.labels = torch.as_tensor(labels, dtype=torch.int64).cpu()
        if self.labels.shape != self.indices.shape:
            raise ValueError(f'labels must have shape {self.indices.shape}, got '
                             f'{tuple(self.labels.shape)}')

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_samples={len(self)}, '
                f'shape={self.loaders.reader.shape}, device={self.device}, '
                f'num_workers={self.loaders.settings["num_workers"]})')

    @property
    def nbytes(self) -> int:
        """Bytes the images and labels would take in memory."""
        return len(self) * (int(np.prod(self.loaders.reader.shape)) + 8)

    def to(self, device: torch.device | str) -> StreamBatches:
        """The same samples served on ``device``."""
        return StreamBatches(self.loaders, self.indices, self.labels, self.mean, self.std,
                             device)

    def subset(self, indices: np.ndarray | Sequence[int]) -> StreamBatches:
        """The samples at positions ``indices`` of this set."""
        positions = np.asarray(indices, dtype=np.int64)
        return StreamBatches(self.loaders, self.indices[positions], self.labels[positions],
                             self.mean, self.std, self.device)

    def _uint8_batches(self, order: torch.Tensor | None,
                       bounds: list[tuple[int, int]]) -> Iterator[Batch]:
        positions = np.arange(len(self)) if order is None else order.cpu().numpy()
        batches = [self.indices[positions[lo:hi]].tolist() for lo, hi in bounds]
        cuda = self.device.type == 'cuda'
        for images, labels in self.loaders.read(batches):
            yield (images.to(self.device, non_blocking=cuda),
                   labels.to(self.device, non_blocking=cuda))
