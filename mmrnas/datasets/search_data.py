"""The data a search runs on: any registered image-classification dataset, read once (checked,
hashed, counted) and then held as uint8 tensors on the device or in host memory (a
:class:`TensorBatches`), or, over both memory budgets, read from the files again for every
batch (a :class:`StreamBatches`); split in two halves.

The dataset config is an ordinary one, built from the registries in the mmpretrain scope (as
in a retraining config: ``'CIFAR10'``, ``'CustomDataset'``, ``'ImageNet'``,
``'mmrnas.DigitsDataset'``) unless it names its own ``_scope_``. Its pipeline brings every
image to the search resolution and ends with ``PackInputs`` (uint8 C×H×W ``inputs``); it must
be deterministic (:func:`check_deterministic_pipeline`).
"""
import contextlib
import hashlib
import inspect
import json
import math
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .batch_source import BatchSource
from .placement import (
    choose_placement,
    default_host_budget,
    default_memory_budget,
    format_size,
)
from .sample_loaders import LOADER_DEFAULTS, SampleLoaders
from .sample_reader import SampleReader
from .stream_batches import StreamBatches
from .tensor_batches import TensorBatches

__all__ = ['build_search_dataset', 'SearchData', 'read_search_data', 'load_search_dataset',
           'check_classes', 'describe_search_data', 'build_search_split', 'dataset_identity',
           'reuse_search_data', 'prepare_search_data', 'DATASET_SCOPE',
           'check_deterministic_pipeline', 'RANDOM_TRANSFORMS']

#: Scope the search builds its dataset config in unless the config sets ``_scope_``.
DATASET_SCOPE = 'mmpretrain'
#: Keys of a dataset config that say where the files live (moving the data is fine).
PATH_KEYS = ('data_root', 'data_prefix', 'ann_file', 'download')
#: Transforms that draw random numbers whatever their arguments (mmpretrain, mmcv, and
#: torchvision's as mmpretrain registers them, ``'torchvision/ColorJitter'``), besides every
#: type whose name contains ``Random``.
RANDOM_TRANSFORMS = ('RandAugment', 'AutoAugment', 'TrivialAugmentWide', 'AugMix',
                     'ColorJitter', 'Lighting', 'GaussianBlur', 'Cutout', 'ElasticTransform',
                     'Albumentations', 'Albu', 'SimMIMMaskGenerator', 'BEiTMaskGenerator')


def _describe(cfg: dict) -> str:
    return f'train_dataloader.dataset (type={cfg.get("type")!r})'


def _transform_class(kind: Any, scope: str) -> Any:
    """The class a transform config's ``type`` names in ``scope`` (None if unknown: building
    the dataset reports that)."""
    if not isinstance(kind, str):
        return kind if callable(kind) else None
    from mmrnas.registry import TRANSFORMS
    with TRANSFORMS.switch_scope_and_registry(scope) as registry:
        try:
            return registry.get(kind)
        except RuntimeError:  # mmengine's "Failed to get" for an unknown dotted name
            return None


def _chance(value: Any) -> bool:
    """Whether a probability argument (a number or a list of them) leaves the outcome to
    chance: some probability strictly between 0 and 1."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return any(isinstance(v, (int, float)) and 0 < v < 1 for v in values)


def _randomness(transform: dict, scope: str) -> Optional[str]:
    """Why a transform config is random (its name, or the argument that makes it so, given
    or by default), or None for a deterministic one."""
    kind = transform.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', repr(kind))
    bare = name.rsplit('.', 1)[-1].rsplit('/', 1)[-1]
    if 'Random' in bare or bare in RANDOM_TRANSFORMS:
        return name
    cls = _transform_class(kind, transform.get('_scope_', scope))
    arguments = {}
    if cls is not None:
        arguments = {key: parameter.default
                     for key, parameter in inspect.signature(cls).parameters.items()
                     if parameter.default is not inspect.Parameter.empty}
    arguments.update(transform)
    for key, value in arguments.items():
        if ((key == 'prob' or key.endswith('_prob')) and _chance(value)) or (
                key == 'magnitude_std' and value not in (0, None)):
            return f'{name} ({key}={value!r})'
    return None


def _random_transforms(cfg: Any, scope: str) -> Iterator[str]:
    """The random transforms in a config: its transform dicts (``type``) and every transform
    nested in their arguments (``RandomApply``, ``MultiView`` ...)."""
    if isinstance(cfg, (list, tuple)):
        for item in cfg:
            yield from _random_transforms(item, scope)
    elif isinstance(cfg, dict):
        if 'type' in cfg:
            reason = _randomness(cfg, scope)
            if reason is not None:
                yield reason
        for key, value in cfg.items():
            if key != 'type':
                yield from _random_transforms(value, scope)


def _pipelines(cfg: dict, scope: str) -> Iterator[Tuple[Any, str]]:
    """``(pipeline, scope)`` of a dataset config and of the datasets it wraps
    (``dataset=``, ``datasets=[...]``)."""
    scope = cfg.get('_scope_', scope)
    if 'pipeline' in cfg:
        yield cfg['pipeline'], scope
    inner = cfg.get('datasets') or []
    for wrapped in [cfg.get('dataset'), *(inner if isinstance(inner, (list, tuple)) else [])]:
        if isinstance(wrapped, dict):
            yield from _pipelines(wrapped, scope)


def check_deterministic_pipeline(cfg: dict) -> None:
    """Refuse random transforms in the pipeline of a search's dataset config (one
    ValueError naming them), before anything is read.

    The search reads the pipeline once when it holds the images (device, host memory) and
    again for every batch when it streams them: a random transform would give each placement
    other data. A transform is random when its type name contains ``Random``, when it is one
    of :data:`RANDOM_TRANSFORMS`, or when a probability argument (``prob``, ``*_prob``; given
    or by default) lies strictly between 0 and 1 or a ``magnitude_std`` is set (mmpretrain's
    ``Rotate``, ``Solarize`` ...); so are transforms nested in another's arguments.

    Args:
        cfg (dict): ``train_dataloader.dataset`` of a search (wrappers' datasets included).
    """
    reasons: List[str] = []
    for pipeline, scope in _pipelines(cfg, DATASET_SCOPE):
        for reason in _random_transforms(pipeline, scope):
            if reason not in reasons:
                reasons.append(reason)
    if reasons:
        raise ValueError(
            f'train_dataloader.dataset.pipeline has random transforms ({", ".join(reasons)}): '
            f'the search reads the pipeline once when it holds the images (device, host) and '
            f'for every batch when it streams them, so the placements would search on other '
            f'data; remove them and augment with train_dataloader.augment=dict(crop_padding=..., '
            f'flip=..., cutout=...) (batched on the device, the same for every placement)')


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


@dataclass
class SearchData:
    """The data of a search after the one pass over them.

    Attributes:
        dataset: All samples in the dataset's order: a :class:`TensorBatches` on the CPU
            (decoded into memory) or a :class:`StreamBatches` (read from the files).
        num_classes: The dataset's ``classes`` when it names them, else the largest label + 1.
        shape: C×H×W of every image.
        sha1: SHA-1 of the uint8 images then the int64 labels (the in-memory bytes).
    """
    dataset: TensorBatches | StreamBatches
    num_classes: int
    shape: Tuple[int, ...]
    sha1: str

    @property
    def nbytes(self) -> int:
        """Bytes the images and labels take in memory."""
        return len(self.dataset) * (int(np.prod(self.shape)) + 8)


class _PixelSums:
    """Per-channel histograms of the uint8 values: exact sums of values and of their squares
    (Python ints), with no large temporaries (an int64 copy of each batch fragments the heap
    of a process that also receives batches from DataLoader workers)."""

    def __init__(self, channels: int) -> None:
        self.counts = torch.zeros(channels, 256, dtype=torch.int64)

    def add(self, images: torch.Tensor) -> None:
        for channel in range(images.shape[1]):
            self.counts[channel] += torch.bincount(images[:, channel].flatten(), minlength=256)

    def statistics(self) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
        """Per-channel mean and population std on the 0..1 scale."""
        mean, std = [], []
        for counts in self.counts.tolist():
            n = sum(counts)
            total = sum(value * count for value, count in enumerate(counts))
            squares = sum(value * value * count for value, count in enumerate(counts))
            mean.append(total / (255 * n))
            std.append(math.sqrt(max(squares * n - total * total, 0)) / (255 * n))
        return tuple(mean), tuple(std)


def read_search_data(cfg: dict, loaders: SampleLoaders, mean: Optional[Sequence[float]] = None,
                     std: Optional[Sequence[float]] = None, in_memory: bool = True,
                     batch_size: int = 256) -> SearchData:
    """Read every sample once, in the dataset's order, with ``loaders``: check it, count its
    label, hash it, sum its pixels and, ``in_memory``, keep it.

    Args:
        cfg (dict): The dataset config (for messages and the checks of the classes).
        loaders (SampleLoaders): Over the built dataset's probed :class:`SampleReader`.
        mean (Sequence[float], optional): Per-channel mean on the 0..1 scale; computed from
            the images (exactly) when None.
        std (Sequence[float], optional): Per-channel std on the 0..1 scale; computed when None.
        in_memory (bool): Keep the images (a :class:`TensorBatches` on the CPU); else the
            dataset is a :class:`StreamBatches` reading them again for every batch.
        batch_size (int): Samples per batch of this pass.

    Raises:
        ValueError: a sample cannot be read or has another shape (naming its file), fewer
            than two classes, or classes without images.
    """
    reader = loaders.reader
    num, shape = len(reader), reader.shape
    images = torch.empty((num, *shape), dtype=torch.uint8) if in_memory else None
    labels = torch.empty(num, dtype=torch.int64)
    digest, sums = hashlib.sha1(), _PixelSums(shape[0])
    batches = [range(lo, min(lo + batch_size, num)) for lo in range(0, num, batch_size)]
    for indices, (batch, batch_labels) in zip(batches, loaders.read(batches, keep=False)):
        digest.update(batch.contiguous().numpy())
        sums.add(batch)
        labels[indices.start:indices.stop] = batch_labels
        if images is not None:
            images[indices.start:indices.stop] = batch
    digest.update(labels.numpy())
    if mean is None or std is None:
        computed = sums.statistics()
        mean = computed[0] if mean is None else mean
        std = computed[1] if std is None else std
    classes = (getattr(reader.dataset, 'metainfo', None) or {}).get('classes')
    num_classes = len(classes) if classes else int(labels.max()) + 1
    check_classes(cfg, labels, num_classes, classes)
    dataset = (TensorBatches(images, labels, mean, std) if images is not None else
               StreamBatches(loaders, np.arange(num), labels, mean, std))
    return SearchData(dataset, num_classes, shape, digest.hexdigest())


def load_search_dataset(cfg: dict,
                        mean: Optional[Sequence[float]] = None,
                        std: Optional[Sequence[float]] = None) -> Tuple[TensorBatches, int]:
    """Build a dataset config and decode it once, in the main process, into a
    :class:`TensorBatches` on the CPU.

    Args:
        cfg (dict): The dataset config (``train_dataloader.dataset`` of a search).
        mean (Sequence[float], optional): Per-channel mean on the 0..1 scale; computed from
            the images when None.
        std (Sequence[float], optional): Per-channel std on the 0..1 scale; computed when None.

    Returns:
        tuple[TensorBatches, int]: The images and the number of classes (the dataset's
        ``classes`` when it names them, else the largest label + 1).
    """
    reader = SampleReader(build_search_dataset(cfg))
    reader.probe()
    data = read_search_data(cfg, SampleLoaders(reader, 'cpu'), mean, std)
    return data.dataset, data.num_classes


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


def describe_search_data(cfg: dict, data: SearchData, mean_given: bool,
                         std_given: bool) -> str:
    """One log line: what was read, its size in memory and where mean / std come from."""
    shape = 'x'.join(str(side) for side in data.shape)
    dataset = data.dataset

    def values(name: str, numbers: Sequence[float], given: bool) -> str:
        shown = ', '.join(f'{v:.4f}' for v in numbers)
        return f'{name} ({shown}) {"given" if given else "computed from the images"}'

    return (f'search data: {cfg.get("type")}, {len(dataset)} images {shape} uint8 '
            f'({format_size(data.nbytes)} with the labels), {data.num_classes} classes; '
            f'{values("mean", dataset.mean, mean_given)}, {values("std", dataset.std, std_given)}')


def build_search_split(dataset: TensorBatches | StreamBatches, train_indices: np.ndarray,
                       val_indices: np.ndarray, device: torch.device,
                       placement: str = 'device') -> Tuple[BatchSource, BatchSource]:
    """The training and validation halves serving batches on ``device``.

    Args:
        dataset: all samples (:attr:`SearchData.dataset`).
        train_indices: positions of the training half.
        val_indices: positions of the validation half.
        device: where batches are served.
        placement: ``'device'`` (the images copied there once and shared by both halves),
            ``'host'`` (kept in host memory, sharing ``dataset``'s images) or ``'stream'``
            (read from the files, ``dataset`` a :class:`StreamBatches`).
    """
    if placement == 'stream':
        return dataset.subset(train_indices).to(device), dataset.subset(val_indices).to(device)
    held = TensorBatches(dataset.images, dataset.labels, dataset.mean, dataset.std, device,
                         dataset.indices, storage='cpu' if placement == 'host' else None)
    return held.view(train_indices), held.view(val_indices)  # the images once, no copies


def dataset_identity(cfg: dict, data: SearchData) -> Dict[str, Any]:
    """What identifies the data of a search, recorded in its checkpoints: the dataset config
    without where the files live (:data:`PATH_KEYS`: moving the data is fine), the number of
    images and classes, the normalisation, and the SHA-1 of the images and labels (the same
    however they are held)."""
    config = {k: v for k, v in dict(cfg).items() if k not in PATH_KEYS}
    return dict(config=config, num_samples=len(data.dataset), num_classes=data.num_classes,
                mean=list(data.dataset.mean), std=list(data.dataset.std), sha1=data.sha1)


#: Search data read within :func:`reuse_search_data`, by everything that shapes them.
_reused: Optional[Dict[str, Tuple[SearchData, str, str]]] = None


@contextlib.contextmanager
def reuse_search_data() -> Iterator[None]:
    """Within this context, :func:`prepare_search_data` reads each data config once and
    serves it again: ``tools/search.py`` checks a config by building its loop, then runs it
    (and, with ``--seeds``, runs one search per seed), reading the data once."""
    global _reused
    outer = _reused
    _reused = {} if outer is None else outer
    try:
        yield
    finally:
        _reused = outer


def prepare_search_data(data: Dict[str, Any], device: torch.device,
                        seed: int = 0) -> Tuple[SearchData, str, str]:
    """Build and read a search's data where ``train_dataloader`` places them.

    Decodes the first image (its size gives the data's size), chooses the placement
    (:func:`choose_placement`), then reads every sample once (:func:`read_search_data`):
    into memory for ``'device'`` / ``'host'``, without keeping the images for ``'stream'``.

    Args:
        data (dict): ``train_dataloader`` as :func:`parse_search_dataloader` returns it.
        device (torch.device): The model's device.
        seed (int): Seeds the DataLoader workers (the samples do not depend on it).

    Returns:
        tuple[SearchData, str, str]: The data, the placement and the log line saying why.
    """
    settings = {key: data[key] for key in LOADER_DEFAULTS}
    key = json.dumps([data['dataset'], data['mean'], data['std'], data['data_placement'],
                      data['device_memory_budget'], data['host_memory_budget'], settings,
                      str(device)], sort_keys=True, default=repr)
    if _reused is not None and key in _reused:
        return _reused[key]
    reader = SampleReader(build_search_dataset(data['dataset']))
    shape = reader.probe()
    size = len(reader) * (int(np.prod(shape)) + 8)
    placement, line = choose_placement(
        data['data_placement'], size, data['device_memory_budget']
        or default_memory_budget(device), data['host_memory_budget'] or default_host_budget())
    loaders = SampleLoaders(reader, device, seed, **settings)
    if placement == 'stream':
        workers = settings['num_workers']
        line += (f'; every batch read from the files by {workers} DataLoader workers' if workers
                 else '; every batch read from the files in the main process (set '
                 'train_dataloader.num_workers to read in parallel)')
    result = (read_search_data(data['dataset'], loaders, data['mean'], data['std'],
                               in_memory=placement != 'stream'), placement, line)
    if _reused is not None:
        _reused[key] = result
    return result
