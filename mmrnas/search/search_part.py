"""The registered parts of a search (estimator, teacher, population update, final selection,
budget): their common base, and building them from ``train_cfg`` (each problem one
``ValueError`` line)."""
from abc import ABC
from typing import Any, Dict, Optional, Type, TypeVar

from mmrnas.registry import TASK_UTILS

__all__ = ['SearchPart', 'build_search_part']

Part = TypeVar('Part')


class SearchPart(ABC):
    """Base of a search's parts: what every part records and how messages name it."""

    #: Its ``train_cfg`` key, under which it records the config that built it.
    key = ''
    #: The shipped part a message names as an example.
    example = ''
    #: The config that built it (set by :func:`build_search_part`).
    config: Optional[dict] = None

    @property
    def settings(self) -> Dict[str, Any]:
        """What the search records of this part (checked on resume): the config that built it
        under its key; a shipped part records what earlier versions recorded instead."""
        return {self.key: self.config}


def build_search_part(key: str, cfg: dict, base: Type[Part]) -> Part:
    """Build ``train_cfg.<key>`` = ``cfg`` (``dict(type=...)``) from ``TASK_UTILS``; the part
keeps ``cfg`` as its ``config`` (the settings a part records by default).

    Raises:
        ValueError: ``cfg`` is not ``dict(type=...)``, the type is not registered (register
            your class in ``mmrnas.registry.TASK_UTILS`` and import its module with
            ``custom_imports``), its arguments are wrong, or it is not a ``base``.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'{key} must be dict(type=...), e.g. dict(type={base.example!r}), got '
                         f'{cfg!r}')
    try:
        # in mmrnas's scope whatever the current default scope (another toolbox's config)
        with TASK_UTILS.switch_scope_and_registry('mmrnas') as registry:
            part: Any = registry.build(dict(cfg))
    except KeyError as error:
        raise ValueError(f'{key}={cfg!r}: {error.args[0] if error.args else error}; register '
                         f'your own class with @mmrnas.registry.TASK_UTILS.register_module() '
                         f'and import it with custom_imports') from error
    except TypeError as error:
        raise ValueError(f'{key}={cfg!r}: {error}') from error
    if not isinstance(part, base):
        raise ValueError(f'{key}={cfg!r} builds a {type(part).__name__}, not a '
                         f'{base.__module__}.{base.__name__}')
    part.config = dict(cfg)  # what the search records of a part that does not say otherwise
    return part
