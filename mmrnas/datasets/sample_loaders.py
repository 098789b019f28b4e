"""DataLoaders that read the samples of a search dataset (:class:`SampleReader`) in the
batches the search asks for: the one pass over the data at the start, and every batch of a
stream (:class:`~mmrnas.datasets.StreamBatches`)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader

from .sample_reader import SampleReader, collate_samples, raise_on_error

__all__ = ['SampleLoaders', 'LOADER_DEFAULTS']

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
