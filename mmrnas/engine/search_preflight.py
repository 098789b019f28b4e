"""Check a search config completely before MMEngine's Runner is built.

The Runner logs the environment and the whole config (a few hundred lines) before the search
loop is built and validates its arguments; ``tools/search.py`` runs this check first, so that
bad input ends in one error and nothing else.
"""
import inspect
import logging
import warnings
from types import SimpleNamespace
from typing import Any, Sequence

from mmengine.config import Config
from mmengine.device import get_device
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import get_priority

from mmrnas.registry import HOOKS, MODELS
from mmrnas.utils.config_keys import check_unknown_keys
from .search_loop import RelativeNASSearchLoop

__all__ = ['build_custom_hooks', 'check_search_config']

LOOP_TYPES = ('RelativeNASSearchLoop', 'mmrnas.RelativeNASSearchLoop')


def build_custom_hooks(hooks: Sequence[Any]) -> None:
    """Build every ``custom_hooks`` entry as the Runner will (in the current default scope),
    so that a bad hook option is one error before any work, not one after the search.

    An unknown type, an unknown or bad option (hooks check theirs when built; MMEngine's with
    ``assert``), a missing package or a bad ``priority`` is one ``ValueError`` naming the entry
    and the cause.

    Args:
        hooks (Sequence): The config's ``custom_hooks``: dicts, or hooks already built.
    """
    for index, hook in enumerate(hooks):
        if not isinstance(hook, dict):
            continue  # a Hook object: built already
        options = dict(hook)
        try:
            if 'priority' in options:  # the Runner takes it out before building the hook
                get_priority(options.pop('priority'))
            HOOKS.build(options)
        except (AssertionError, ImportError, KeyError, TypeError, ValueError) as error:
            # MMEngine's hooks assert their arguments, some without a message.
            cause = ' '.join(str(error).split()) or (
                f"{options.get('type')} refused its arguments {_arguments(options)}")
            raise ValueError(f'custom_hooks[{index}] could not be built: '
                             f'{type(error).__name__}: {cause}') from error


def _arguments(options: dict) -> str:
    """The options of one hook entry (all but ``type``) as ``(name=value, ...)``."""
    return '(' + ', '.join(f'{name}={value!r}' for name, value in options.items()
                           if name != 'type') + ')'


def check_search_config(cfg: Config) -> None:
    """Raise one ``ValueError`` / ``FileNotFoundError`` for anything a search would refuse.

    Checks the loop type, unknown or misspelled ``train_cfg`` keys (with the closest
    spelling), then builds the supernet, the ``custom_hooks`` (:func:`build_custom_hooks`) and
    the loop itself with a stand-in for the Runner: the loop checks its arguments, the data
    config and the data files, the optimizer config, and, with ``train_cfg.resume``, the
    checkpoint and its settings. Nothing is written.

    Args:
        cfg (Config): The search config, with ``work_dir`` and ``train_cfg.resume`` set.
    """
    train_cfg = dict(cfg.get('train_cfg') or {})
    loop_type = train_cfg.pop('type', None)
    if loop_type not in LOOP_TYPES:
        raise ValueError(f"train_cfg.type must be 'RelativeNASSearchLoop' for a search, got "
                         f'{loop_type!r}')
    arguments = list(inspect.signature(RelativeNASSearchLoop).parameters)[2:]
    check_unknown_keys('train_cfg of RelativeNASSearchLoop', train_cfg, arguments)
    if 'model' not in cfg:
        raise ValueError("a search config needs model=dict(type='RelativeNASSupernet', ...)")
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmrnas')):
        model = MODELS.build(cfg.model)
        build_custom_hooks(cfg.get('custom_hooks') or [])
    model.to(get_device())
    seed = (cfg.get('randomness') or {}).get('seed')
    # The loop's info lines (the search data) are left to the real build: nothing printed here.
    runner = SimpleNamespace(cfg=cfg, seed=0 if seed is None else seed, work_dir=cfg.work_dir,
                             model=model, logger=logging.getLogger(__name__))
    # The real build warns again, after the Runner's log (Python warnings and the datasets'
    # MMEngine log warnings, e.g. mmpretrain's "Found no valid file in the folder").
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            RelativeNASSearchLoop(runner, cfg.get('train_dataloader'), **train_cfg)
    finally:
        logger.setLevel(level)
