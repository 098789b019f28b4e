"""A search's ``train_dataloader``: checked, with its defaults filled in, before any data are
read (docs/search_guide.md, "Data placement")."""
import inspect
import math
from typing import Any, Dict, Optional

from mmrnas.registry import BATCH_AUGMENTS
from mmrnas.utils.config_keys import check_number, check_unknown_keys
from .batch_source import Augment
from .placement import DATA_PLACEMENTS, parse_memory_size
from .sample_loaders import LOADER_DEFAULTS
from .search_data import check_deterministic_pipeline

__all__ = ['DATALOADER_KEYS', 'parse_search_dataloader', 'build_batch_augment']

#: The keys of a search's ``train_dataloader``.
DATALOADER_KEYS = ('dataset', 'mean', 'std', 'train_portion', 'batch_size', 'val_batch_size',
                   'augment', 'validate_with_train_augment', 'data_placement',
                   'device_memory_budget', 'host_memory_budget', *LOADER_DEFAULTS)


def build_batch_augment(cfg: Any) -> Optional[Augment]:
    """The augmentation ``train_dataloader.augment`` describes, from
    :data:`~mmrnas.registry.BATCH_AUGMENTS`.

    Args:
        cfg: None (no augmentation), or a dict of the class's arguments with an optional
            ``type`` (a registered name or a class; default ``'BatchAugment'``).

    Raises:
        ValueError: not a dict, an unregistered type, or an argument the class does not take.
    """
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise ValueError(f'train_dataloader.augment must be a dict or None, got {cfg!r}')
    arguments = dict(cfg)
    kind = arguments.pop('type', 'BatchAugment')
    try:
        cls = kind if isinstance(kind, type) else BATCH_AUGMENTS.get(kind)
    except (RuntimeError, TypeError):  # mmengine's "Failed to get" of a dotted name
        cls = None
    if cls is None:
        raise ValueError(f'train_dataloader.augment: type={kind!r} is not a registered batch '
                         f'augment; register your own class with '
                         f'@mmrnas.registry.BATCH_AUGMENTS.register_module() and import it with '
                         f'custom_imports')
    parameters = inspect.signature(cls).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        check_unknown_keys('train_dataloader.augment', arguments, list(parameters))
    return cls(**arguments)


def parse_search_dataloader(dataloader: Any) -> Dict[str, Any]:
    """Check a search's ``train_dataloader`` and fill in its defaults; random transforms in
    the dataset's pipeline are refused (:func:`~mmrnas.datasets.search_data.
    check_deterministic_pipeline`).

    Args:
        dataloader: The config's ``train_dataloader`` (keys :data:`DATALOADER_KEYS`).

    Returns:
        dict: ``dataset`` (the dataset config), ``mean`` and ``std`` (per channel on the
        0..1 scale, or None: computed from the images), ``train_portion``, ``batch_size``,
        ``val_batch_size``, ``augment`` (built by :func:`build_batch_augment`, or None),
        ``validate_with_train_augment``, ``data_placement`` (``'auto'``, ``'device'``,
        ``'host'`` or ``'stream'``), ``device_memory_budget`` and ``host_memory_budget``
        (bytes, or None: the defaults), and the DataLoader settings ``num_workers``,
        ``pin_memory``, ``persistent_workers``, ``prefetch_factor``.
    """
    if not isinstance(dataloader, dict):
        raise ValueError(f'train_dataloader of a search must be a dict, got {dataloader!r}')
    check_unknown_keys('train_dataloader of a search', dataloader, DATALOADER_KEYS)
    if not isinstance(dataloader.get('dataset'), dict):
        raise ValueError("train_dataloader of a search needs dataset=dict(type=...), e.g. "
                         "dict(type='CIFAR10', data_root='data/cifar10', "
                         "pipeline=[dict(type='PackInputs')])")
    check_deterministic_pipeline(dataloader['dataset'])
    data = dict(mean=None, std=None, train_portion=0.5, batch_size=256,
                validate_with_train_augment=False, data_placement='auto',
                device_memory_budget=None, host_memory_budget=None, **LOADER_DEFAULTS)
    data.update(dataloader)
    data.setdefault('val_batch_size', data['batch_size'])
    for key in ('mean', 'std'):
        values = data[key]
        if values is not None and not (isinstance(values, (list, tuple)) and values and all(
                isinstance(v, (int, float)) and math.isfinite(v) for v in values)):
            raise ValueError(f'train_dataloader.{key} must be per-channel numbers on the 0..1 '
                             f'scale (or None: computed from the images), got {values!r}')
    if data['std'] is not None and min(data['std']) <= 0:
        raise ValueError(f'train_dataloader.std must be positive, got {data["std"]!r}')
    check_number('train_dataloader.train_portion', data['train_portion'], 0.0, 1.0,
                 high_open=True)
    for key in ('batch_size', 'val_batch_size'):
        if not isinstance(data[key], int) or data[key] < 1:
            raise ValueError(f'train_dataloader.{key} must be a positive integer, got '
                             f'{data[key]!r}')
    data['augment'] = build_batch_augment(data.get('augment'))
    data['validate_with_train_augment'] = bool(data['validate_with_train_augment'])
    if data['data_placement'] not in DATA_PLACEMENTS:
        raise ValueError(f'train_dataloader.data_placement must be one of {DATA_PLACEMENTS}, '
                         f'got {data["data_placement"]!r}')
    for key in ('device_memory_budget', 'host_memory_budget'):
        if data[key] is not None:
            data[key] = parse_memory_size(data[key], key)
    if not isinstance(data['num_workers'], int) or data['num_workers'] < 0:
        raise ValueError(f'train_dataloader.num_workers must be a non-negative integer, got '
                         f'{data["num_workers"]!r}')
    factor = data['prefetch_factor']
    if factor is not None and (not isinstance(factor, int) or factor < 1):
        raise ValueError(f'train_dataloader.prefetch_factor must be a positive integer or None, '
                         f'got {factor!r}')
    return data
