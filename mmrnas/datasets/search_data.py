"""The data a search runs on: any registered image-classification dataset, decoded once into
uint8 tensors (a :class:`DeviceDataset`) and split in two halves on the device (or, over a
memory budget, in host memory: a :class:`HostDataset`).

The dataset config is an ordinary one, built from the registries in the mmpretrain scope (as
in a retraining config: ``'CIFAR10'``, ``'CustomDataset'``, ``'ImageNet'``,
``'mmrnas.DigitsDataset'``) unless it names its own ``_scope_``. Its pipeline brings every
image to the search resolution and ends with ``PackInputs`` (uint8 C×H×W ``inputs``).
"""
import hashlib
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from .device_data import DeviceDataset
from .host_data import HostDataset

__all__ = ['build_search_dataset', 'decode_dataset', 'image_statistics', 'load_search_dataset',
           'check_classes', 'describe_search_data', 'build_search_split', 'dataset_identity',
           'DATASET_SCOPE']

#: Scope the search builds its dataset config in unless the config sets ``_scope_``.
DATASET_SCOPE = 'mmpretrain'
#: Keys of a dataset config that say where the files live (moving the data is fine).
PATH_KEYS = ('data_root', 'data_prefix', 'ann_file', 'download')


def _describe(cfg: dict) -> str:
    return f'train_dataloader.dataset (type={cfg.get("type")!r})'


def build_search_dataset(cfg: dict) -> Any:
    """Build the dataset config of a search (mmpretrain scope by default).

    Raises:
        ValueError: the dataset cannot be built (unknown type, missing files, bad argument);
            the message names the dataset type and the cause.
    """
    import mmrnas.datasets.digits_cls_dataset  # noqa: F401  (registers DigitsDataset)
    from mmrnas.registry import DATASETS

    cfg = dict(cfg)
    cfg.setdefault('_scope_', DATASET_SCOPE)
    try:
        return DATASETS.build(cfg)
    except Exception as error:  # a user-data boundary: any failure is the config's or data's
        hint = '; check data_root (and data_prefix / ann_file)' if isinstance(
            error, FileNotFoundError) else ''
        raise ValueError(f'{_describe(cfg)} could not be built: {type(error).__name__}: '
                         f'{error}{hint}') from error


def _image_path(dataset: Any, index: int) -> str:
    """The file of sample ``index`` where the dataset knows it, else ``'sample N'``."""
    info = dataset.get_data_info(index) if hasattr(dataset, 'get_data_info') else None
    path = info.get('img_path') if isinstance(info, dict) else None
    return f'{path!r}' if path else f'sample {index}'


def decode_dataset(dataset: Any, where: str = 'train_dataloader.dataset'
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Run the pipeline once over every sample, in order, into ``(images uint8 N×C×H×W,
    labels int64 N)`` on the CPU.

    Samples of an MMEngine ``BaseDataset`` go through ``prepare_data`` (no random re-fetch of
    failed samples), so the order and content are the dataset's own; other datasets are
    indexed.
    """
    prepare = getattr(dataset, 'prepare_data', dataset.__getitem__)
    num = len(dataset)
    if num == 0:
        raise ValueError(f'{where} has no images; check its data_root / ann_file')
    images: Optional[torch.Tensor] = None
    labels = torch.empty(num, dtype=torch.int64)
    for index in range(num):
        try:
            packed = prepare(index)
        except Exception as error:
            raise ValueError(f'{where}: cannot read {_image_path(dataset, index)}: '
                             f'{type(error).__name__}: {error}; fix or remove the file') from error
        if not isinstance(packed, dict) or 'inputs' not in packed:
            raise ValueError(f"{where}: the pipeline must end with dict(type='PackInputs') "
                             f'(uint8 C×H×W inputs), got {type(packed).__name__} for '
                             f'{_image_path(dataset, index)}')
        image = torch.as_tensor(packed['inputs'])
        if images is None:
            if image.dtype != torch.uint8 or image.dim() != 3:
                raise ValueError(f'{where}: the pipeline must give uint8 C×H×W images, got '
                                 f'{image.dtype} {tuple(image.shape)}; remove float or '
                                 f'normalising transforms (the search normalises)')
            images = torch.empty((num, *image.shape), dtype=torch.uint8)
        elif image.shape != images.shape[1:]:
            raise ValueError(f'{where}: {_image_path(dataset, index)} is '
                             f'{tuple(image.shape)} after the pipeline, the first image '
                             f'{tuple(images.shape[1:])}; bring every image to one size '
                             f'(e.g. Resize + CenterCrop in the pipeline)')
        images[index] = image
        labels[index] = int(packed['data_samples'].gt_label.reshape(-1)[0])
    return images, labels


def image_statistics(images: torch.Tensor, chunk: int = 4096
                     ) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    """Per-channel mean and (population) std of uint8 N×C×H×W images on the 0..1 scale."""
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk].to(torch.float64).div_(255.0)
        total += part.sum(dim=(0, 2, 3))
        squares += part.square().sum(dim=(0, 2, 3))
    count = images.numel() / images.shape[1]
    mean = total / count
    std = (squares / count - mean.square()).clamp_(min=0).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


def load_search_dataset(cfg: dict,
                        mean: Optional[Sequence[float]] = None,
                        std: Optional[Sequence[float]] = None) -> Tuple[DeviceDataset, int]:
    """Build a dataset config and decode it once into a :class:`DeviceDataset` on the CPU.

    Args:
        cfg (dict): The dataset config (``train_dataloader.dataset`` of a search).
        mean (Sequence[float], optional): Per-channel mean on the 0..1 scale; computed from
            the images when None.
        std (Sequence[float], optional): Per-channel std on the 0..1 scale; computed when None.

    Returns:
        tuple[DeviceDataset, int]: The images and the number of classes (the dataset's
        ``classes`` when it names them, else the largest label + 1).
    """
    dataset = build_search_dataset(cfg)
    images, labels = decode_dataset(dataset)
    if mean is None or std is None:
        computed = image_statistics(images)
        mean = computed[0] if mean is None else mean
        std = computed[1] if std is None else std
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    num_classes = len(classes) if classes else int(labels.max()) + 1
    check_classes(cfg, labels, num_classes, classes)
    return DeviceDataset(images, labels, mean, std), num_classes


def check_classes(cfg: dict, labels: torch.Tensor, num_classes: int,
                  classes: Optional[Sequence[str]]) -> None:
    """A search needs at least two classes, each with images."""
    names = list(classes) if classes else [str(index) for index in range(num_classes)]
    if num_classes < 2:
        raise ValueError(f'{_describe(cfg)} has one class ({names[0]!r}): a search classifies, '
                         f'it needs at least 2 classes (one sub-folder each in an image folder)')
    counts = torch.bincount(labels, minlength=num_classes)
    empty = [names[index] for index in torch.nonzero(counts == 0).flatten().tolist()]
    if empty:
        shown = ', '.join(map(repr, empty[:5])) + (f' and {len(empty) - 5} more'
                                                   if len(empty) > 5 else '')
        raise ValueError(f'{_describe(cfg)}: {len(empty)} of {num_classes} classes have no '
                         f'images ({shown}); add images (in a format the pipeline reads) or '
                         f'remove those classes')


def describe_search_data(cfg: dict, dataset: DeviceDataset, num_classes: int,
                         mean_given: bool, std_given: bool) -> str:
    """One log line: what was decoded, its size in memory and where mean / std come from."""
    size_mib = dataset.images.numel() / 2**20
    shape = 'x'.join(str(side) for side in dataset.images.shape[1:])

    def values(name: str, numbers: Sequence[float], given: bool) -> str:
        shown = ', '.join(f'{v:.4f}' for v in numbers)
        return f'{name} ({shown}) {"given" if given else "computed from the images"}'

    return (f'search data: {cfg.get("type")}, {len(dataset)} images {shape} uint8 '
            f'({size_mib:.1f} MiB), {num_classes} classes; '
            f'{values("mean", dataset.mean, mean_given)}, {values("std", dataset.std, std_given)}')


def build_search_split(dataset: DeviceDataset, train_indices: np.ndarray,
                       val_indices: np.ndarray, device: torch.device,
                       placement: str = 'device') -> Tuple[DeviceDataset, DeviceDataset]:
    """The training and validation halves serving batches on ``device``, held there
    (``placement='device'``) or in host memory (``'host'``, a :class:`HostDataset`)."""
    kind = HostDataset if placement == 'host' else DeviceDataset
    halves = (dataset.subset(train_indices), dataset.subset(val_indices))
    return tuple(kind(half.images, half.labels, half.mean, half.std, device) for half in halves)


def dataset_identity(cfg: dict, dataset: DeviceDataset, num_classes: int) -> Dict[str, Any]:
    """What identifies the data of a search, recorded in its checkpoints: the dataset config
    without where the files live (:data:`PATH_KEYS`: moving the data is fine), the number of
    images and classes, the normalisation, and the SHA-1 of the images and labels."""
    digest = hashlib.sha1()
    for tensor in (dataset.images, dataset.labels):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    config = {k: v for k, v in dict(cfg).items() if k not in PATH_KEYS}
    return dict(config=config, num_samples=len(dataset), num_classes=num_classes,
                mean=list(dataset.mean), std=list(dataset.std), sha1=digest.hexdigest())
