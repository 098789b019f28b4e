"""Search data too large for memory: every batch decoded from the files again, by the workers
of a DataLoader that MMEngine builds (``Runner.build_dataloader``), then augmented on the
device as usual (docs/search_guide.md, "Data placement").

The epoch order and every augmentation draw still come from the search's generator on the
device; the workers only read the samples of each batch in that order. So a stream serves
the same batches as the same images held in memory (bit-identical on a CPU).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from .device_data import Batch, BatchSource
from .sample_reader import SampleReader, collate_samples, raise_on_error

__all__ = ['StreamDataset', 'SampleLoaders', 'LOADER_DEFAULTS']

#: ``train_dataloader`` keys of a search that set up the DataLoader workers, and defaults.
#: ``pin_memory=None`` pins on CUDA only; ``persistent_workers`` applies with workers only.
LOADER_DEFAULTS = dict(num_workers=0, pin_memory=None, persistent_workers=True,
                       prefetch_factor=None)


class _EpochBatches:
    """A batch sampler whose batches (lists of dataset indices) are set before each epoch;
    the DataLoader reads it in the main process when an iteration starts."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class SampleLoaders:
    """DataLoaders over one :class:`SampleReader`, built by ``Runner.build_dataloader`` with
    the search's worker settings, lent out one per running epoch (two members of a pair may
    stream at once) and kept for the next epochs (persistent workers).

    Args:
        reader: The samples (its ``shape`` fixed, see :meth:`SampleReader.probe`).
        device: Where batches go; pinned host memory when it is CUDA and ``pin_memory`` is
            None.
        seed: Seeds the workers (MMEngine's ``worker_init_fn``); the samples do not depend on
            it (the pipeline is deterministic).
        **settings: :data:`LOADER_DEFAULTS` keys.
    """

    def __init__(self, reader: SampleReader, device: torch.device | str, seed: int = 0,
                 **settings: Any) -> None:
        self.reader = reader
        self.seed = seed
        self.settings = dict(LOADER_DEFAULTS, **settings)
        if self.settings['pin_memory'] is None:
            self.settings['pin_memory'] = torch.device(device).type == 'cuda'
        self._idle: list[tuple[DataLoader, _EpochBatches]] = []

    def loader_config(self, batch_sampler: Any, persistent: bool = True) -> dict:
        """The ``dataloader`` dict given to ``Runner.build_dataloader``."""
        workers = self.settings['num_workers']
        config = dict(dataset=self.reader, sampler=None, batch_sampler=batch_sampler,
                      collate_fn=collate_samples, num_workers=workers,
                      pin_memory=self.settings['pin_memory'])
        if workers:
            config['persistent_workers'] = persistent and self.settings['persistent_workers']
            if self.settings['prefetch_factor'] is not None:
                config['prefetch_factor'] = self.settings['prefetch_factor']
        return config

    def _new(self, persistent: bool) -> tuple[DataLoader, _EpochBatches]:
        from mmengine.runner import Runner
        loader = Runner.build_dataloader(self.loader_config(_EpochBatches(), persistent),
                                         seed=self.seed)
        # A DataLoader draws its workers' base seed from its generator, by default torch's
        # global RNG; the search's drop-path masks come from there: a generator of its own.
        loader.generator = torch.Generator().manual_seed(self.seed)
        return loader, loader.batch_sampler  # MMEngine builds from a deep copy of the config

    def read(self, batches: Sequence[Sequence[int]],
             keep: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(uint8 images, int64 labels)`` of each of ``batches`` (lists of dataset
        indices) in turn, on the host (pinned when set).

        Args:
            batches: The dataset indices of each batch.
            keep: Keep the DataLoader (and its persistent workers) for the next call; False
                for a one-time pass.

        Raises:
            ValueError: a sample cannot be read (its line, naming the file).
        """
        loader, sampler = (self._idle.pop() if keep and self._idle else self._new(keep))
        sampler.batches = [list(batch) for batch in batches]
        try:
            for batch in loader:
                yield raise_on_error(batch)
        finally:
            if keep:
                self._idle.append((loader, sampler))


class StreamDataset(BatchSource):
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

    def to(self, device: torch.device | str) -> StreamDataset:
        """The same samples served on ``device``."""
        return StreamDataset(self.loaders, self.indices, self.labels, self.mean, self.std,
                             device)

    def subset(self, indices: np.ndarray | Sequence[int]) -> StreamDataset:
        """The samples at positions ``indices`` of this set."""
        positions = np.asarray(indices, dtype=np.int64)
        return StreamDataset(self.loaders, self.indices[positions], self.labels[positions],
                             self.mean, self.std, self.device)

    def _uint8_batches(self, order: torch.Tensor | None,
                       bounds: list[tuple[int, int]]) -> Iterator[Batch]:
        positions = np.arange(len(self)) if order is None else order.cpu().numpy()
        batches = [self.indices[positions[lo:hi]].tolist() for lo, hi in bounds]
        cuda = self.device.type == 'cuda'
        for images, labels in self.loaders.read(batches):
            yield (images.to(self.device, non_blocking=cuda),
                   labels.to(self.device, non_blocking=cuda))
