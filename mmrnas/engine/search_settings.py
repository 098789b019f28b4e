"""The settings of a RelativeNAS search: checked before any work, recorded in every checkpoint
and compared when a search resumes (a resume never changes a search silently)."""
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from mmrnas.search.population import check_population_size
from mmrnas.utils.config_keys import check_number, check_unknown_keys

__all__ = [
    'FIXED_SETTINGS', 'RESUME_CHANGEABLE', 'check_search_arguments', 'parse_search_optim_wrapper',
    'settings_diff', 'check_resume_settings', 'plain', 'resume_settings'
]

#: Settings that no resume may change: the population, the split and the weight set were made
#: with them.
FIXED_SETTINGS = ('seed', 'population_size', 'population_update', 'train_portion', 'dataset',
                  'supernet', 'constraints', 'constraint_model', 'objectives', 'budget')
#: Settings a resume may change when ``train_cfg.resume_changes`` names them.
RESUME_CHANGEABLE = ('max_generations', 'lr', 'lr_min', 'reference_lr_quirk', 'drop_path_rate',
                     'phi', 'teacher_criterion', 'final_selection', 'optimizer', 'clip_grad',
                     'batch_size', 'val_batch_size', 'augment', 'validate_with_train_augment',
                     'precision', 'channels_last', 'cuda_graph', 'concurrent_pairs', 'teacher',
                     'estimator')


def check_search_arguments(max_generations: Any, population_size: Any, lr_min: Any,
                           drop_path_rate: Any, max_keep_checkpoints: Any,
                           resume_changes: Any) -> None:
    """Check the search loop's own arguments (``train_cfg``; its parts check theirs when
    they are built); raise one ValueError."""
    if not isinstance(max_generations, int) or max_generations < 1:
        raise ValueError(f'max_generations must be a positive integer, got {max_generations!r}')
    check_population_size(population_size)
    check_number('lr_min', lr_min, 0.0)
    check_number('drop_path_rate', drop_path_rate, 0.0, 1.0, high_open=True)
    if not isinstance(max_keep_checkpoints, int) or max_keep_checkpoints < 1:
        raise ValueError(f'max_keep_checkpoints must be a positive integer, got '
                         f'{max_keep_checkpoints!r}')
    if isinstance(resume_changes, str) or not all(
            key in RESUME_CHANGEABLE for key in resume_changes):
        raise ValueError(f'resume_changes must be a list of settings a resume may change, '
                         f'out of {", ".join(RESUME_CHANGEABLE)}; got {resume_changes!r}')


def parse_search_optim_wrapper(optim_wrapper: Any, optimizer_exists: Callable[[str], bool],
                               param_scheduler: Any = None
                               ) -> Tuple[float, Dict[str, Any], Optional[float], float]:
    """Check the per-candidate optimizer config of a search; everything it does not honour is
    refused, not ignored.

    The search builds a fresh optimizer per candidate, sets the lr itself and clips the
    gradient norm: only ``type='OptimWrapper'``, ``optimizer`` and
    ``clip_grad=dict(max_norm=..., norm_type=...)`` are taken.

    Args:
        optim_wrapper: The config's ``optim_wrapper``.
        optimizer_exists: Whether an optimizer type is registered.
        param_scheduler: The config's ``param_scheduler``, refused: the lr is the search's.

    Returns:
        tuple: ``(lr, optimizer config without lr, max_norm or None, norm_type)``.
    """
    if param_scheduler:
        raise ValueError('param_scheduler is not used by a search: the lr follows the '
                         "loop's cosine from optim_wrapper.optimizer.lr to "
                         'train_cfg.lr_min; remove param_scheduler from the config')
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
    check_number('optim_wrapper.optimizer.lr', lr, 0.0)
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
        check_number('optim_wrapper.clip_grad.max_norm', max_norm, 0.0)
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


def resume_settings(state: Dict[str, Any], path: str, settings: Dict[str, Any],
                    resume_changes: Sequence[str], seed_given: bool,
                    max_generations: int) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Check a checkpoint's settings against the config's before a resume (everything but
    ``resume_changes`` must match, :func:`check_resume_settings`).

    Args:
        state: The checkpoint.
        path: Its path (named by messages).
        settings: The config's settings (``RelativeNASSearchLoop.settings``).
        resume_changes: ``train_cfg.resume_changes``.
        seed_given: Whether the config sets a seed; if not, the checkpoint's is taken.
        max_generations: The config's.

    Returns:
        tuple: The settings the resumed search records and its resume log (the checkpoint's,
        plus an entry with the changes made on purpose).
    """
    recorded = dict(state['meta']['settings'])
    # Checkpoints written before population_update existed moved by slow-fast learning.
    recorded.setdefault('population_update', 'slow_fast')
    for key in ('constraints', 'constraint_model', 'objectives'):
        recorded.setdefault(key, None)
    current = dict(settings)
    if not seed_given:
        current['seed'] = recorded['seed']
    if 'max_generations' in resume_changes and max_generations < state['generation']:
        raise ValueError(f'resume: {path} has already run {state["generation"]} generations; '
                         f'max_generations={max_generations} cannot shorten it')
    changed = check_resume_settings(recorded, current, resume_changes, path)
    selection_changes = sorted(set(changed) & {'final_selection', 'teacher_criterion',
                                               'teacher'})
    if (state['final'] is not None and selection_changes
            and max_generations == state['generation']):
        last = osp.join(osp.dirname(path), f'search_generation_{state["generation"]:03d}.pth')
        raise ValueError(
            f'resume: {path} holds a finished search whose final selection was made with the '
            f'old {", ".join(selection_changes)}; to select again, resume from its last '
            f'generation checkpoint {last} (--resume PATH or train_cfg.resume=PATH) with the '
            f'same options')
    resume_log = list(state['meta']['resume_log'])
    if changed:
        diff = settings_diff(recorded, current)
        resume_log.append(dict(generation=state['generation'],
                               changed={key: list(values) for key, values in diff.items()}))
    return current, resume_log
