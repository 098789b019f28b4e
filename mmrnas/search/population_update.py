"""How the population moves after a generation: registered parts of the search, chosen with
``train_cfg.population_update`` (``dict(type='SlowFastUpdate', phi=0.0)``,
``dict(type='RandomRedraw')``, or your own class registered in ``mmrnas.registry.TASK_UTILS``;
the strings ``'slow_fast'`` and ``'random'`` are shorthands)."""
import math
from abc import abstractmethod
from typing import Any, Dict, Union

import numpy as np

from mmrnas.registry import TASK_UTILS
from .population import Population
from .search_part import SearchPart, build_search_part

__all__ = [
    'PopulationUpdate', 'SlowFastUpdate', 'RandomRedraw', 'build_population_update',
    'POPULATION_UPDATE_SHORTHANDS'
]

#: ``train_cfg.population_update`` strings and the parts they stand for.
POPULATION_UPDATE_SHORTHANDS = {'slow_fast': 'SlowFastUpdate', 'random': 'RandomRedraw'}


class PopulationUpdate(SearchPart):
    """Base of a population update. Subclasses implement :meth:`update`; their constructor
    arguments are their settings (recorded in checkpoints, checked on resume)."""

    #: Whether the population after the last generation is what the search converged to
    #: (so the final selection may choose among it); False for an update that redraws it.
    converges = True
    key = 'population_update'
    example = 'SlowFastUpdate'

    @abstractmethod
    def update(self, population: Population, pairs: np.ndarray, teachers: np.ndarray,
               skips: np.ndarray, rng: np.random.Generator) -> None:
        """Move ``population`` in place after a generation.

        Args:
            population: The population.
            pairs: ``(P/2, 2)`` member indices of the generation's pairs.
            teachers: Per pair, 0 or 1: which member taught.
            skips: Per pair, True where both estimates were not finite (nothing learned).
            rng: The population's random stream.
        """

    @property
    def settings(self) -> Dict[str, Any]:
        """What the search records of this part: ``population_update`` (the config that
        built it) and ``phi``."""
        return dict(super().settings, phi=0.0)


@TASK_UTILS.register_module()
class SlowFastUpdate(PopulationUpdate):
    """The reference's update (docs/reference.md §3.1): every student moves towards its
    teacher (:meth:`Population.update <mmrnas.search.Population.update>`).

    Args:
        phi (float): Weight of the optional population-mean (CSO) term; 0 = the reference.
    """

    def __init__(self, phi: float = 0.0) -> None:
        if (isinstance(phi, bool) or not isinstance(phi, (int, float))
                or not math.isfinite(phi)):
            raise ValueError(f'phi must be a finite number, got {phi!r}')
        self.phi = phi

    def update(self, population, pairs, teachers, skips, rng) -> None:
        population.update(pairs, teachers, rng, phi=self.phi, skip=skips)

    @property
    def settings(self) -> Dict[str, Any]:
        if type(self) is not SlowFastUpdate:  # a subclass records its config
            return super().settings
        return dict(phi=self.phi, population_update='slow_fast')  # as earlier versions


@TASK_UTILS.register_module()
class RandomRedraw(PopulationUpdate):
    """Random search: every individual is redrawn uniformly, velocities zero
    (:meth:`Population.redraw <mmrnas.search.Population.redraw>`), with the same
    weight-sharing estimates, pair write-back and cost: the baseline that shows what
    slow-fast learning adds. Its last draw is never estimated (:attr:`converges` is False)."""

    converges = False

    def update(self, population, pairs, teachers, skips, rng) -> None:
        population.redraw(rng)

    @property
    def settings(self) -> Dict[str, Any]:
        if type(self) is not RandomRedraw:  # a subclass records its config
            return super().settings
        return dict(phi=0.0, population_update='random')  # as earlier versions


def build_population_update(cfg: Union[str, dict], phi: float = 0.0) -> PopulationUpdate:
    """The part ``train_cfg.population_update`` describes.

    Args:
        cfg: A shorthand of :data:`POPULATION_UPDATE_SHORTHANDS` or ``dict(type=...)``.
        phi: ``train_cfg.phi``, the shorthand's CSO weight (slow-fast only).

    Raises:
        ValueError: an unknown update, or ``phi`` that the update would not use.
    """
    if isinstance(cfg, str):
        if cfg not in POPULATION_UPDATE_SHORTHANDS:
            raise ValueError(f'population_update must be one of '
                             f'{tuple(POPULATION_UPDATE_SHORTHANDS)} or dict(type=...), got '
                             f'{cfg!r}')
        if cfg == 'random' and phi != 0:
            raise ValueError(f"phi={phi!r} weights the population-mean term of the slow-fast "
                             f"update, which population_update='random' does not run: set "
                             f"phi=0 (or population_update='slow_fast')")
        cfg = dict(type=POPULATION_UPDATE_SHORTHANDS[cfg],
                   **(dict(phi=phi) if cfg == 'slow_fast' else {}))
    elif not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'population_update must be one of '
                         f'{tuple(POPULATION_UPDATE_SHORTHANDS)} or dict(type=...), got {cfg!r}')
    elif phi != 0:
        raise ValueError(f"train_cfg.phi={phi!r} is the shorthand's argument: with "
                         f"population_update=dict(type=...) give it there, e.g. "
                         f"dict(type='SlowFastUpdate', phi={phi!r})")
    return build_search_part('population_update', cfg, PopulationUpdate)
