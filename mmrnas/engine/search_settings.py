"""The settings of a RelativeNAS search: checked before any work, recorded in every checkpoint
and compared when a search resumes (a resume never changes a search silently)."""
import inspect
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from mmrnas.datasets import BatchAugment, parse_memory_size
from mmrnas.datasets.host_data import DATA_PLACEMENTS
from mmrnas.datasets.search_data import check_deterministic_pipeline
from mmrnas.datasets.stream_data import LOADER_DEFAULTS
from mmrnas.search.population import check_population_size
from mmrnas.utils.config_keys import check_unknown_keys

__all__ = [
    'FIXED_SETTINGS', 'RESUME_CHANGEABLE', 'check_search_arguments', 'parse_search_dataloader',
    'parse_search_optim_wrapper', 'settings_diff', 'check_resume_settings', 'plain'
]

#: Settings that no resume may change: the population, the split and the weight set were made
#: with them.
FIXED_SETTINGS = ('seed', 'population_size', 'population_update', 'train_portion', 'dataset',
                  'supernet', 'constraints', 'constraint_model', 'objectives')
#: Settings a resume may change when ``train_cfg.resume_changes`` names them.
RESUME_CHANGEABLE = ('max_generations', 'lr', 'lr_min', 'reference_lr_quirk', 'drop_path_rate',
                     'phi', 'teacher_criterion', 'final_selection', 'optimizer', 'clip_grad',
                     'batch_size', 'val_batch_size', 'augment', 'validate_with_train_augment',
                     'precision', 'channels_last', 'cuda_graph', 'concurrent_pairs', 'teacher',
                     'estimator')
DATALOADER_KEYS = ('dataset', 'mean', 'std', 'train_portion', 'batch_size', 'val_batch_size',
                   'augment', 'validate_with_train_augment', 'data_placement',
                   'device_memory_budget', 'host_memory_budget', *LOADER_DEFAULTS)


def _number(name: str, value: Any, low: float, high: float = math.inf,
            high_open: bool = False) -> None:
    """``value`` is a finite real number in ``[low, high]`` (``[low, high)`` if high_open)."""
    valid = (isinstance(value, (int, float)) and not isinstance(value, bool)
             and math.isfinite(value) and value >= low
             and (value < high if high_open else value <= high))
    if not valid:
        bounds = f'[{low:g}, {high:g}{")" if high_open else "]"}'
        raise ValueError(f'{name} must be a finite number in {bounds}, got {value!r}')


def check_search_arguments(max_generations: Any, population_size: Any, lr_min: Any,
                           drop_path_rate: Any, max_keep_checkpoints: Any,
                           resume_changes: Any) -> None:
    """Check the search loop's own arguments (``train_cfg``; its parts check theirs when
    they are built); raise one ValueError."""
    if not isinstance(max_generations, int) or max_generations < 1:
        raise ValueError(f'max_generations must be a positive integer, got {max_generations!r}')
    check_population_size(population_size)
    _number('lr_min', lr_min, 0.0)
    _number('drop_path_rate', drop_path_rate, 0.0, 1.0, high_open=True)
    if not isinstance(max_keep_checkpoints, int) or max_keep_checkpoints < 1:
        raise ValueError(f'max_keep_checkpoints must be a positive integer, got '
                         f'{max_keep_checkpoints!r}')
    if isinstance(resume_changes, str) or not all(
            key in RESUME_CHANGEABLE for key in resume_changes):
        raise ValueError(f'resume_changes must be a list of settings a resume may change, '
                         f'out of {", ".join(RESUME_CHANGEABLE)}; got {resume_changes!r}')


def parse_search_dataloader(dataloader: Any) -> Dict[str, Any]:
    """Check a search's ``train_dataloader`` and fill in its defaults; random transforms in
    the dataset's pipeline are refused (:func:`~mmrnas.datasets.search_data.
    check_deterministic_pipeline`).

    Returns:
        dict: ``dataset`` (the dataset config), ``mean`` and ``std`` (per channel on the
        0..1 scale, or None: computed from the images), ``train_portion``, ``batch_size``,
        ``val_batch_size``, ``augment`` (a :class:`BatchAugment` or None),
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
    _number('train_dataloader.train_portion', data['train_portion'], 0.0, 1.0, high_open=True)
    for key in ('batch_size', 'val_batch_size'):
        if not isinstance(data[key], int) or data[key] < 1:
            raise ValueError(f'train_dataloader.{key} must be a positive integer, got '
                             f'{data[key]!r}')
    augment = data.get('augment')
    if augment is not None:
        if not isinstance(augment, dict):
            raise ValueError(f'train_dataloader.augment must be a dict or None, got {augment!r}')
        known = [p for p in inspect.signature(BatchAugment).parameters]
        check_unknown_keys('train_dataloader.augment', augment, known)
        augment = BatchAugment(**augment)
    data['augment'] = augment
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


def parse_search_optim_wrapper(optim_wrapper: Any, optimizer_exists: Callable[[str], bool]
                               ) -> Tuple[float, Dict[str, Any], Optional[float], float]:
    """Check the per-candidate optimizer config of a search; everything it does not honour is
    refused, not ignored.

    The search builds a fresh optimizer per candidate, sets the lr itself and clips the
    gradient norm: only ``type='OptimWrapper'``, ``optimizer`` and
    ``clip_grad=dict(max_norm=..., norm_type=...)`` are taken.

    Args:
        optim_wrapper: The config's ``optim_wrapper``.
        optimizer_exists: Whether an optimizer type is registered.

    Returns:
        tuple: ``(lr, optimizer config without lr, max_norm or None, norm_type)``.
    """
    if not isinstance(optim_wrapper, dict):
        raise ValueError(f'optim_wrapper must be a dict, got {optim_wrapper!r}')
    check_unknown_keys('optim_wrapper of a search (a fresh optimizer per candidate: no '
                       'param-wise settings, AMP or accumulation)', optim_wrapper,
                       ('type', 'optimizer', 'clip_grad'))
    if optim_wrapper.get('type', 'OptimWrapper') != 'OptimWrapper':
        raise ValueError(f"optim_wrapper.type={optim_wrapper['type']!r} is not supported by the "
                         f"search: use 'OptimWrapper' (mixed precision is "
                         f"train_cfg.precision='bf16')")
    optimizer = dict(optim_wrapper.get('optimizer') or {})
    if 'params' in optimizer:
        raise ValueError('optim_wrapper.optimizer.params is not supported: every candidate '
                         'trains all its parameters')
    if 'lr' not in optimizer:
        raise ValueError('optim_wrapper.optimizer.lr (the initial search lr) is required')
    lr = optimizer.pop('lr')
    _number('optim_wrapper.optimizer.lr', lr, 0.0)
    kind = optimizer.get('type')
    if not isinstance(kind, str) or not optimizer_exists(kind):
        raise ValueError(f'optim_wrapper.optimizer.type={kind!r} is not a registered optimizer '
                         f'(e.g. SGD)')
    clip = dict(optim_wrapper.get('clip_grad') or {})
    check_unknown_keys('optim_wrapper.clip_grad of a search (gradient-norm clipping)', clip,
                       ('type', 'max_norm', 'norm_type'))
    if clip.get('type', 'norm') != 'norm':
        raise ValueError(f"optim_wrapper.clip_grad.type={clip['type']!r} is not supported: the "
                         f"search clips the gradient norm (type='norm')")
    max_norm = clip.get('max_norm')
    if clip and max_norm is None:
        raise ValueError('optim_wrapper.clip_grad needs max_norm (or set clip_grad=None)')
    if max_norm is not None:
        _number('optim_wrapper.clip_grad.max_norm', max_norm, 0.0)
    norm_type = clip.get('norm_type', 2.0)
    if not (isinstance(norm_type, (int, float)) and norm_type > 0):
        raise ValueError(f'optim_wrapper.clip_grad.norm_type must be a positive number (or '
                         f'inf), got {norm_type!r}')
    return lr, optimizer, max_norm, float(norm_type)


def plain(value: Any) -> Any:
    """``value`` as plain dicts, lists and scalars (ConfigDicts and tuples converted)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def _flatten(settings: Dict[str, Any], prefix: str = '') -> Dict[str, Any]:
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f'{prefix}{key}.'))
        else:
            flat[f'{prefix}{key}'] = value
    return flat


def settings_diff(recorded: Dict[str, Any], current: Dict[str, Any]
                  ) -> Dict[str, Tuple[Any, Any]]:
    """Dotted keys whose values differ: ``{'augment.cutout': (16, 8), ...}`` (recorded,
    current); a key missing on one side is ``'<unset>'`` there."""
    old, new = _flatten(recorded), _flatten(current)
    return {
        key: (old.get(key, '<unset>'), new.get(key, '<unset>'))
        for key in sorted(set(old) | set(new)) if old.get(key, '<unset>') != new.get(
            key, '<unset>')
    }


def check_resume_settings(recorded: Dict[str, Any], current: Dict[str, Any],
                          allowed: Sequence[str], path: str) -> List[str]:
    """Compare a checkpoint's settings with the config's before a resume.

    Raises one ValueError naming every changed setting (and what to do) unless all changes
    are in ``allowed`` (``train_cfg.resume_changes``); returns the changed top-level settings
    that were allowed.
    """
    diff = settings_diff(recorded, current)
    changed = sorted({key.split('.')[0] for key in diff})
    refused = [key for key in changed if key not in allowed]
    if refused:
        shown = '; '.join(f'{key}: {old!r} in the checkpoint, {new!r} in the config'
                          for key, (old, new) in diff.items()
                          if key.split('.')[0] in refused)
        fixed = [key for key in refused if key in FIXED_SETTINGS]
        changeable = [key for key in refused if key not in FIXED_SETTINGS]
        advice = ('resume with the checkpoint\'s settings, or start a new search in another '
                  '--work-dir')
        if changeable:
            advice += (f'; to change {", ".join(changeable)} on purpose, add '
                       f'train_cfg.resume_changes={changeable!r}')
        if fixed:
            advice += f' ({", ".join(fixed)} can never change on resume)'
        raise ValueError(f'resume: {path} was written by a search with other settings: {shown}. '
                         f'To continue it, {advice}')
    return changed
