"""What a search is given: its ``train_dataloader`` read once where the placement puts it, and
checked against the supernet."""
from dataclasses import dataclass
from typing import Any, Dict

import torch

from mmrnas.datasets import (
    BatchAugment,
    dataset_identity,
    describe_search_data,
    parse_search_dataloader,
    prepare_search_data,
)

__all__ = ['SearchInputs', 'SearchIterations', 'prepare_search_inputs']


@dataclass
class SearchInputs:
    """The data of a search.

    Attributes:
        data: ``train_dataloader`` as :func:`parse_search_dataloader` returns it.
        dataset: The whole data set as a batch source (images in memory, or read from the
            files for every batch).
        placement: ``'device'``, ``'host'`` or ``'stream'``.
        num_classes: Classes of the data.
        channels: Channels of its images.
        identity: What the checkpoints record of it (``dataset`` setting).
    """

    data: Dict[str, Any]
    dataset: Any
    placement: str
    num_classes: int
    channels: int
    identity: Dict[str, Any]

    @property
    def settings(self) -> Dict[str, Any]:
        """What the search records of its data (checked on resume)."""
        augment = self.data['augment']
        return dict(train_portion=self.data['train_portion'],
                    batch_size=self.data['batch_size'],
                    val_batch_size=self.data['val_batch_size'],
                    augment=augment_settings(augment),
                    validate_with_train_augment=self.data['validate_with_train_augment'],
                    dataset=self.identity)

    @property
    def batches(self) -> Dict[str, Any]:
        """How the estimator batches the data: batch sizes and augmentations."""
        augment = self.data['augment']
        return dict(batch_size=self.data['batch_size'],
                    val_batch_size=self.data['val_batch_size'], train_augment=augment,
                    val_augment=augment if self.data['validate_with_train_augment'] else None)


def augment_settings(augment: Any) -> Any:
    """What the search records of its batch augment: the shipped ``BatchAugment``'s options
    (as earlier versions recorded), another class's name too."""
    if augment is None:
        return None
    if type(augment) is BatchAugment:
        return vars(augment)
    return dict(type=f'{type(augment).__module__}.{type(augment).__qualname__}',
                **vars(augment))


class SearchIterations:
    """The search loop's ``dataloader`` as MMEngine's hooks see it: an epoch (a generation) of
    ``len()`` iterations (its pairs) over ``dataset`` (the search data). Not iterable: the
    loop draws its own batches.

    Args:
        dataset: The search data (a batch source).
        pairs: Pairs per generation.
    """

    def __init__(self, dataset: Any, pairs: int) -> None:
        self.dataset = dataset
        self.pairs = pairs

    def __len__(self) -> int:
        return self.pairs


def prepare_search_inputs(runner, model, dataloader: Any, device: torch.device,
                          seed: int) -> SearchInputs:
    """Check ``dataloader`` (the search's ``train_dataloader``), read its data once and check
    them against ``model`` (the supernet: classes and image channels); log what was read and
    where it is kept. Any problem is one ValueError, before training.

    Args:
        runner: The runner (its logger).
        model: The supernet.
        dataloader: The config's ``train_dataloader``.
        device: The model's device.
        seed: Seeds the DataLoader workers.
    """
    data = parse_search_dataloader(dataloader)
    search_data, placement, placement_line = prepare_search_data(data, device, seed)
    num_classes, channels = search_data.num_classes, search_data.shape[0]
    model_classes = model.classifier.out_features
    if model_classes != num_classes:
        raise ValueError(f'the supernet has {model_classes} outputs but the search dataset '
                         f'has {num_classes} classes: set model.num_classes={num_classes}')
    model_channels = model.stem[0].in_channels
    if model_channels != channels:
        raise ValueError(f'the supernet takes {model_channels}-channel images but the search '
                         f'dataset gives {channels}: set model.in_channels={channels}')
    runner.logger.info(describe_search_data(data['dataset'], search_data,
                                            data['mean'] is not None, data['std'] is not None))
    runner.logger.info(placement_line)
    return SearchInputs(data=data, dataset=search_data.dataset, placement=placement,
                        num_classes=num_classes, channels=channels,
                        identity=dataset_identity(data['dataset'], search_data))
