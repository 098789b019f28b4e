"""One sample of a search dataset through its pipeline, checked, as a uint8 image and a label.

The same reader serves the one-time decode (into memory) and the stream (every epoch): both
run in :class:`~torch.utils.data.DataLoader` workers, where an exception would reach the main
process wrapped in a traceback. So a bad sample is *returned* as one line of text naming its
file, and :func:`collate_samples` passes the first such line on for the main process to raise.
"""
from __future__ import annotations

from typing import Any, Sequence, Union

import torch
from torch.utils.data import Dataset

__all__ = ['SampleReader', 'collate_samples', 'raise_on_error', 'Sample', 'SampleBatch']

#: A decoded sample (uint8 C×H×W image, label) or the line saying what is wrong with it.
Sample = Union[tuple[torch.Tensor, int], str]
#: A batch: (uint8 N×C×H×W images, int64 N labels) or the first bad sample's line.
SampleBatch = Union[tuple[torch.Tensor, torch.Tensor], str]


def image_path(dataset: Any, index: int) -> str:
    """The file of sample ``index`` where the dataset knows it, else ``'sample N'``."""
    info = dataset.get_data_info(index) if hasattr(dataset, 'get_data_info') else None
    path = info.get('img_path') if isinstance(info, dict) else None
    return f'{path!r}' if path else f'sample {index}'


class SampleReader(Dataset):
    """Sample ``index`` of ``dataset`` after its pipeline, in the dataset's own order.

    Samples of an MMEngine ``BaseDataset`` go through ``prepare_data`` (no random re-fetch of
    a failed sample, as ``__getitem__`` does in training mode); other datasets are indexed.

    Args:
        dataset: A built dataset whose pipeline ends with ``PackInputs``.
        where: How messages name the dataset (``'train_dataloader.dataset'``).
        shape: The C×H×W every image must have; None: any uint8 C×H×W (see :meth:`probe`).
    """

    def __init__(self, dataset: Any, where: str = 'train_dataloader.dataset',
                 shape: Sequence[int] | None = None) -> None:
        self.dataset = dataset
        self.where = where
        self.shape = None if shape is None else tuple(shape)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Sample:
        dataset, where = self.dataset, self.where
        try:
            packed = getattr(dataset, 'prepare_data', dataset.__getitem__)(index)
        except Exception as error:  # a user-data boundary: name the file, whatever failed
            return (f'{where}: cannot read {image_path(dataset, index)}: '
                    f'{type(error).__name__}: {error}; fix or remove the file')
        if not isinstance(packed, dict) or 'inputs' not in packed:
            return (f"{where}: the pipeline must end with dict(type='PackInputs') (uint8 C×H×W "
                    f'inputs), got {type(packed).__name__} for {image_path(dataset, index)}')
        image = torch.as_tensor(packed['inputs'])
        if image.dtype != torch.uint8 or image.dim() != 3:
            return (f'{where}: the pipeline must give uint8 C×H×W images, got {image.dtype} '
                    f'{tuple(image.shape)}; remove float or normalising transforms (the search '
                    f'normalises)')
        if self.shape is not None and tuple(image.shape) != self.shape:
            return (f'{where}: {image_path(dataset, index)} is {tuple(image.shape)} after the '
                    f'pipeline, the first image {self.shape}; bring every image to one size '
                    f'(e.g. Resize + CenterCrop in the pipeline)')
        return image, int(packed['data_samples'].gt_label.reshape(-1)[0])

    def probe(self) -> tuple[int, ...]:
        """Decode the first sample and fix :attr:`shape` to its C×H×W; return it.

        Raises:
            ValueError: the dataset has no samples, or its first sample is bad.
        """
        if len(self) == 0:
            raise ValueError(f'{self.where} has no images; check its data_root / ann_file')
        self.shape = None
        image, _ = raise_on_error(self[0])
        self.shape = tuple(image.shape)
        return self.shape


def raise_on_error(item: Any) -> Any:
    """``item`` itself, unless it is the line of a bad sample: then a ``ValueError`` of it."""
    if isinstance(item, str):
        raise ValueError(item)
    return item


def collate_samples(samples: Sequence[Sample]) -> SampleBatch:
    """Stack samples of one shape into ``(images, labels)``; the first bad sample's line
    instead, if any."""
    for sample in samples:
        if isinstance(sample, str):
            return sample
    images, labels = zip(*samples)
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)
