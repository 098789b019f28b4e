"""The resource side of a search, a registered part (``train_cfg.budget``): constraints, cost
objectives and the archive of estimates; :class:`NoBudget` for a search without them."""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmrnas.registry import TASK_UTILS
from mmrnas.structures import Genotype
from mmrnas.utils.config_keys import check_unknown_keys
from .constraints import (
    check_reachable,
    feasibility_teacher,
    parse_constraints,
    relative_violation,
)
from .genotype_cost import COST_KEYS, LATENCY_KEY, GenotypeCost
from .pareto import hypervolume, non_dominated, pareto_teacher
from .search_part import SearchPart, build_search_part

__all__ = ['NoBudget', 'SearchBudget', 'parse_objectives', 'build_search_budget']

PRIMARY_OBJECTIVE = 'val_loss'
#: The flat ``train_cfg`` keys of earlier versions, shorthands for ``SearchBudget``'s.
FLAT_KEYS = ('constraints', 'constraint_model', 'objectives')
#: Where a budget's settings are in the config, spelled out (messages name them).
NESTED_NAMES = dict(constraints='train_cfg.budget.constraints',
                    objectives='train_cfg.budget.objectives', cost='train_cfg.budget.cost')
FLAT_NAMES = dict(constraints='train_cfg.constraints', objectives='train_cfg.objectives',
                  cost='train_cfg.constraint_model')
#: How the budget is spelled in a config (named by messages).
BUDGET_EXAMPLE = ("budget=dict(type='SearchBudget', constraints=dict(params=3.0e6), "
                  "cost=dict(type='GenotypeCost', base_channels=36, num_cells=20, "
                  "stem='cifar', num_classes=10, input_size=32))")


def parse_objectives(objectives: Any, name: str = 'train_cfg.objectives') -> Tuple[str, ...]:
    """Check ``train_cfg.objectives`` (at ``name`` in the config): ``'val_loss'`` followed by
    one or more cost keys."""
    if isinstance(objectives, str) or not isinstance(objectives, (list, tuple)):
        raise ValueError(f"{name} must be a list such as ('val_loss', 'params'), "
                         f'got {objectives!r}')
    check_unknown_keys(name, objectives, (PRIMARY_OBJECTIVE, ) + COST_KEYS)
    costs = tuple(objectives[1:])
    if (not objectives or objectives[0] != PRIMARY_OBJECTIVE or not costs
            or PRIMARY_OBJECTIVE in costs or len(set(costs)) != len(costs)):
        raise ValueError(f"{name} must be 'val_loss' followed by one or more of "
                         f"{COST_KEYS} (each once), got {tuple(objectives)!r}")
    return tuple(objectives)


@TASK_UTILS.register_module()
class NoBudget(SearchPart):
    """The budget of a search without constraints or cost objectives: the teacher rule alone
    decides pairs, every genotype is feasible, nothing is recorded. The base of a budget part:
    a budget overrides the rules it adds.

    The search calls :meth:`setup` once its data is read, :meth:`teacher` for each pair whose
    estimates are both finite, the ``annotate_*`` methods on the pair, generation and final
    records, :meth:`record` for every estimate, and checkpoints :meth:`state_dict`.
    """

    key = 'budget'
    example = 'SearchBudget'
    #: ``{key: (low, high)}`` constraints (none here).
    bounds: Dict[str, Tuple[float, float]] = {}
    #: ``('val_loss', cost, ...)`` of a multi-objective search (none here).
    objectives: Tuple[str, ...] = ()

    def __init__(self) -> None:
        #: Every estimate of a multi-objective search (empty here).
        self.archive: List[Dict[str, Any]] = []

    @property
    def settings(self) -> Dict[str, Any]:
        """What a checkpoint records of the budget (the keys earlier versions recorded; a
        subclass also its config)."""
        settings: Dict[str, Any] = dict(constraints=None, constraint_model=None, objectives=None)
        if type(self) is not NoBudget:
            settings[self.key] = self.config
        return settings

    def setup(self, num_classes: int, in_channels: int,
              state: Optional[Dict[str, Any]] = None) -> None:
        """Learn the search data's classes and channels (before generation 1); ``state``: the
        budget state of the checkpoint a resume will load (:meth:`load_state_dict`), or None."""

    def violation(self, genotype: Genotype) -> float:
        """Total relative violation of the constraints (0: feasible)."""
        return 0.0

    def feasible(self, genotype: Genotype) -> bool:
        return self.violation(genotype) == 0

    def teacher(self, genotypes: Sequence[Genotype], val_losses: Sequence[float]
                ) -> Optional[int]:
        """0 or 1 when the budget decides the pair, None when the teacher rule must."""
        return None

    def record(self, genotype: Genotype, generation: Any, val_loss: Optional[float],
               val_accuracy: Optional[float]) -> None:
        """Note an estimate (``generation`` from 1, or ``'final'``)."""

    def annotate_pair(self, record: Dict[str, Any], members: Sequence[Genotype],
                      generation: int) -> None:
        """Add to a pair's record (``history.jsonl``) and record its estimates."""

    def annotate_generation(self, record: Dict[str, Any],
                            genotypes: Sequence[Genotype]) -> None:
        """Add to a generation's record the budget's view of its population."""

    def annotate_final(self, final: Dict[str, Any], feasible: bool, logger) -> None:
        """Add to the final selection's record (``final_selection.json``); ``feasible``: of
        the chosen genotype."""

    def state_dict(self) -> Optional[Dict[str, Any]]:
        return None

    def load_state_dict(self, state: Optional[Dict[str, Any]]) -> None:
        pass


@TASK_UTILS.register_module()
class SearchBudget(NoBudget):
    """Constraints and cost objectives of a search, on the network the user will retrain.

    Pair decisions (:meth:`teacher`): a feasible member beats an infeasible one, between two
    infeasible ones the smaller total relative violation wins; then, with cost objectives, the
    member that Pareto-dominates wins, and if neither dominates the one whose estimate, once
    recorded (replacing its genotype's earlier one), leaves the larger hypervolume of the front
    the search reports (:meth:`front_candidates`); otherwise the
    search's usual criterion decides. Every estimate (with objectives) goes into
    :attr:`archive`.

    Objectives are compared normalised: the validation loss divided by ``ln(num_classes)``
    (the loss of a uniform guess) and each cost divided by the largest cost of the search
    space, so the hypervolume's reference point is ``(1, ..., 1)``: the loss of a uniform
    guess and the most expensive network.

    Args:
        constraints (dict, optional): Upper bounds or ``(low, high)`` ranges,
            ``dict(params=3.0e6, mult_adds=6.0e8, latency_ms=5.0)``
            (:func:`~mmrnas.search.constraints.parse_constraints`).
        objectives (Sequence[str], optional): ``('val_loss', 'params')``, and/or
            ``'mult_adds'``, ``'latency_ms'`` (:func:`parse_objectives`).
        cost (dict | GenotypeCost): The retraining network the costs are counted on,
            ``dict(type='GenotypeCost', base_channels=36, num_cells=20, stem='cifar',
            num_classes=10, input_size=32)``; ``in_channels`` defaults to the search data's;
            ``latency=dict(...)`` times it (``latency_ms``).
        names (dict, optional): Where the three are in the config, for messages; defaults to
            ``train_cfg.budget.*``.
    """

    def __init__(self, constraints: Optional[dict] = None,
                 objectives: Optional[Sequence[str]] = None,
                 cost: Any = None,
                 names: Optional[Dict[str, str]] = None) -> None:
        super().__init__()
        self.names = dict(names or NESTED_NAMES)
        self.bounds = ({} if constraints is None else parse_constraints(
            constraints, self.names['constraints']))
        self.objectives = (() if objectives is None else parse_objectives(
            objectives, self.names['objectives']))
        if not self.bounds and not self.objectives:
            raise ValueError(f'SearchBudget needs constraints or objectives, e.g. '
                             f'{BUDGET_EXAMPLE}; leave train_cfg.budget out for a search '
                             f'without them')
        if cost is None:
            raise ValueError(f'constraints and objectives need the network you will retrain, '
                             f'whose params and mult-adds are counted: {self.names["cost"]}'
                             f"=dict(type='GenotypeCost', base_channels=36, num_cells=20, "
                             f"stem='cifar', num_classes=10, input_size=32)")
        wants_latency = LATENCY_KEY in self.bounds or LATENCY_KEY in self.objectives
        times = (cost.latency_table is not None if isinstance(cost, GenotypeCost) else
                 isinstance(cost, dict) and cost.get('latency') is not None)
        if wants_latency and not times:
            raise ValueError(f"{LATENCY_KEY} needs a cost model that times the network: "
                             f"{self.names['cost']}=dict(..., latency=dict(backend='torch', "
                             f"device='cpu', threads=None, batch_size=1))")
        self._cost_config = cost
        self.cost: Optional[GenotypeCost] = cost if isinstance(cost, GenotypeCost) else None
        self.loss_scale = math.nan
        self.cost_scales: Dict[str, float] = {}

    def setup(self, num_classes, in_channels, state=None) -> None:
        """Build the cost model (``in_channels`` the data's unless it sets its own; a resumed
        search's latency table from ``state``, not timed again) and check that the constraints
        are reachable; any problem is one ValueError."""
        if self.cost is None:
            self.cost = build_cost(self._cost_config, in_channels, self.names['cost'],
                                   (state or {}).get('latency_table'))
        check_reachable(self.bounds, self.cost.extremes(), self.cost.config,
                        self.names['constraints'])
        self.loss_scale = math.log(num_classes)
        self._scale_costs()

    def _scale_costs(self) -> None:
        """Each cost's normaliser: its largest value over the search space."""
        self.cost_scales = {key: largest for key, (_, largest) in self.cost.extremes().items()}

    @property
    def settings(self) -> Dict[str, Any]:
        settings = dict(constraints={key: list(bound) for key, bound in self.bounds.items()},
                        constraint_model=dict(self.cost.config),
                        objectives=list(self.objectives))
        if type(self) is not SearchBudget:  # a subclass records its config too
            settings[self.key] = self.config
        return settings

    # ------------------------------------------------------------------ one genotype
    def costs(self, genotype: Genotype) -> Dict[str, int]:
        """``{'params': ..., 'mult_adds': ...}`` of ``genotype``'s retraining network."""
        return self.cost(genotype)

    def violation(self, genotype: Genotype) -> float:
        if not self.bounds:
            return 0.0  # without constraints nothing is counted
        return relative_violation(self.costs(genotype), self.bounds)

    def _point(self, val_loss: float, costs: Dict[str, int]) -> List[float]:
        """Normalised objective vector."""
        return [val_loss / self.loss_scale] + [
            costs[key] / self.cost_scales[key] for key in self.objectives[1:]
        ]

    # ------------------------------------------------------------------ decisions
    def teacher(self, genotypes: Sequence[Genotype], val_losses: Sequence[float]
                ) -> Optional[int]:
        """0 or 1 when feasibility or the cost objectives decide the pair (both members'
        estimates are finite), None when the usual criterion must."""
        if self.bounds:
            decided = feasibility_teacher(*(self.violation(g) for g in genotypes))
            if decided is not None:
                return decided
        if not self.objectives:
            return None
        points = [self._point(loss, self.costs(g)) for g, loss in zip(genotypes, val_losses)]
        candidates = self.front_candidates()
        after = [self._hypervolume_after(candidates, g, p) for g, p in zip(genotypes, points)]
        return pareto_teacher(points[0], points[1], after[0], after[1])

    def _hypervolume_after(self, candidates: List[Dict[str, Any]], genotype: Genotype,
                           point: List[float]) -> float:
        """Hypervolume of the reported front once ``point``, an estimate of ``genotype``, is
        recorded: it replaces the genotype's earlier estimate, and counts only when feasible."""
        points = [self._point(entry['val_loss'], entry) for entry in candidates
                  if entry['genotype'] != str(genotype)]
        if not self.bounds or self.feasible(genotype):
            points.append(point)
        return hypervolume(points, [1.0] * len(self.objectives))

    def record(self, genotype, generation, val_loss, val_accuracy) -> None:
        """Add an estimate to the archive (multi-objective searches only)."""
        if self.objectives:
            self.archive.append(
                dict(genotype=str(genotype), generation=generation, val_loss=val_loss,
                     val_accuracy=val_accuracy, **self.costs(genotype),
                     feasible=self.feasible(genotype)))

    # ------------------------------------------------------------------ records
    def annotate_pair(self, record, members, generation) -> None:
        """``costs`` (and ``violation``) of the members; their estimates into the archive."""
        record['costs'] = [self.costs(g) for g in members]
        if self.bounds:
            record['violation'] = [self.violation(g) for g in members]
        for position, genotype in enumerate(members):
            self.record(genotype, generation, record['val_loss'][position],
                        record['val_accuracy'][position])

    def annotate_generation(self, record, genotypes) -> None:
        """``feasible_share`` of the population, under constraints."""
        if self.bounds:
            record['feasible_share'] = float(
                sum(self.feasible(g) for g in genotypes) / len(genotypes))

    def annotate_final(self, final, feasible, logger) -> None:
        """The chosen genotype's costs and feasibility; with cost objectives the front of the
        archive and its hypervolume."""
        chosen = Genotype.from_string(final['genotype'])
        final['costs'] = self.costs(chosen)
        if self.bounds:
            final.update(feasible=feasible, violation=self.violation(chosen),
                         constraints={k: list(b) for k, b in self.bounds.items()})
            if not feasible:
                logger.warning(
                    f'final selection: no genotype of the final population meets the '
                    f'constraints {final["constraints"]}; taking the closest one '
                    f'({final["costs"]}, total relative violation {final["violation"]:.4f}). '
                    f'Loosen the constraints or search longer.')
        if self.objectives:
            final['pareto_front'] = self.front()
            final['hypervolume'] = self.hypervolume_report(final['pareto_front'])
            logger.info(
                f'pareto front: {len(final["pareto_front"])} genotypes, hypervolume '
                f'{final["hypervolume"]["value"]:.4f} (objectives {list(self.objectives)}'
                f', normalised, reference point (1, ..., 1))')

    # ------------------------------------------------------------------ results
    def front_candidates(self) -> List[Dict[str, Any]]:
        """The archive entries the reported front is chosen from, and that pair decisions
        measure hypervolume against: each genotype's latest finite estimate (the most trained
        weight set), feasible genotypes only when there are constraints."""
        latest: Dict[str, Dict[str, Any]] = {}
        for entry in self.archive:
            if entry['val_loss'] is not None and (entry['feasible'] or not self.bounds):
                latest[entry['genotype']] = entry
        return list(latest.values())

    def front(self) -> List[Dict[str, Any]]:
        """The non-dominated entries of :meth:`front_candidates`, sorted by the first cost
        objective."""
        entries = self.front_candidates()
        points = [self._point(entry['val_loss'], entry) for entry in entries]
        front = [entries[i] for i in non_dominated(points)]
        return sorted(front, key=lambda entry: (entry[self.objectives[1]], entry['val_loss']))

    def hypervolume_report(self, front: List[Dict[str, Any]]) -> Dict[str, Any]:
        """The front's hypervolume and its reference point, raw and normalised."""
        from importlib.metadata import version
        reference = dict(val_loss=self.loss_scale,
                         **{key: self.cost_scales[key] for key in self.objectives[1:]})
        points = [self._point(entry['val_loss'], entry) for entry in front]
        return dict(value=hypervolume(points, [1.0] * len(self.objectives)),
                    objectives=list(self.objectives), reference_point=reference,
                    normalised='each objective divided by its reference point (loss of a '
                    'uniform guess, ln(classes); the largest cost of the search space), '
                    'reference point (1, ..., 1)', library=f'pymoo {version("pymoo")} '
                    'pymoo.indicators.hv.HV')

    def state_dict(self) -> Dict[str, Any]:
        """The archive, and the latency table (a resume predicts with the same numbers)."""
        state: Dict[str, Any] = dict(archive=[dict(entry) for entry in self.archive])
        if self.cost.latency_table is not None:
            state['latency_table'] = self.cost.latency_table.to_dict()
        return state

    def load_state_dict(self, state: Optional[Dict[str, Any]]) -> None:
        self.archive = [] if state is None else [dict(entry) for entry in state['archive']]
        if state is not None and 'latency_table' in state:
            from mmrnas.models.latency import LatencyTable
            here = self.cost.latency_table
            if here is None or here.to_dict() != state['latency_table']:
                self.cost.use_latency_table(LatencyTable.from_dict(state['latency_table']))
                self._scale_costs()


def build_cost(cfg: Any, in_channels: int, name: str,
               latency_table: Optional[Dict[str, Any]] = None) -> GenotypeCost:
    """The cost model of ``cfg`` (at ``name`` in the config): ``GenotypeCost``'s keys, with
    ``type`` (optional) naming it or a registered subclass; ``in_channels`` is the search
    data's unless given; each key checked (:meth:`GenotypeCost.from_config`);
    ``latency_table``: a stored table to predict with."""
    if not isinstance(cfg, dict):
        return GenotypeCost.from_config(cfg, name)  # its one-line error
    cfg = dict(cfg)
    kind = cfg.pop('type', GenotypeCost)
    if isinstance(kind, str):
        with TASK_UTILS.switch_scope_and_registry('mmrnas') as registry:
            found = registry.get(kind)
        if found is None:
            raise ValueError(f'{name}.type={kind!r} is not registered in '
                             f'mmrnas.registry.TASK_UTILS; the shipped cost model is '
                             f"'GenotypeCost'")
        kind = found
    if not (isinstance(kind, type) and issubclass(kind, GenotypeCost)):
        raise ValueError(f'{name}.type={kind!r} is not a GenotypeCost')
    cfg.setdefault('in_channels', in_channels)
    return kind.from_config(cfg, name, latency_table)


def build_search_budget(cfg: Optional[dict], constraints: Optional[dict] = None,
                        constraint_model: Optional[dict] = None,
                        objectives: Optional[Sequence[str]] = None) -> NoBudget:
    """The part ``train_cfg.budget`` describes (not set up yet: :meth:`NoBudget.setup`).

    Args:
        cfg: ``dict(type='SearchBudget', ...)``, or None: built from the shorthands, a
            :class:`NoBudget` when they set no constraints and no objectives.
        constraints, constraint_model, objectives: The flat ``train_cfg`` keys, shorthands
            for ``SearchBudget(constraints, objectives, cost=constraint_model)``; refused
            beside ``cfg``.
    """
    flat = dict(constraints=constraints, constraint_model=constraint_model,
                objectives=objectives)
    if cfg is not None:
        given = [key for key, value in flat.items() if value is not None]
        if given:
            raise ValueError(f'train_cfg.{", train_cfg.".join(given)} set beside '
                             f'train_cfg.budget: they are now spelled inside it, '
                             f'{BUDGET_EXAMPLE}')
        return build_search_part('budget', cfg, NoBudget)
    if constraints is None and objectives is None:
        return NoBudget()
    return SearchBudget(constraints, objectives, constraint_model, names=FLAT_NAMES)
