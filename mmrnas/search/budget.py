"""The resource side of a search: constraints, cost objectives and the archive of estimates."""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmrnas.structures import Genotype
from mmrnas.utils.config_keys import check_unknown_keys
from .constraints import (
    check_reachable,
    feasibility_teacher,
    parse_constraints,
    relative_violation,
)
from .genotype_cost import COST_KEYS, GenotypeCost
from .pareto import hypervolume, non_dominated, pareto_teacher

__all__ = ['SearchBudget', 'parse_objectives']

PRIMARY_OBJECTIVE = 'val_loss'


def parse_objectives(objectives: Any) -> Tuple[str, ...]:
    """Check ``train_cfg.objectives``: ``'val_loss'`` followed by one or both cost keys."""
    if isinstance(objectives, str) or not isinstance(objectives, (list, tuple)):
        raise ValueError(f"train_cfg.objectives must be a list such as ('val_loss', 'params'), "
                         f'got {objectives!r}')
    check_unknown_keys('train_cfg.objectives', objectives, (PRIMARY_OBJECTIVE, ) + COST_KEYS)
    costs = tuple(objectives[1:])
    if (not objectives or objectives[0] != PRIMARY_OBJECTIVE or not costs
            or PRIMARY_OBJECTIVE in costs or len(set(costs)) != len(costs)):
        raise ValueError(f"train_cfg.objectives must be 'val_loss' followed by one or both of "
                         f"{COST_KEYS} (each once), got {tuple(objectives)!r}")
    return tuple(objectives)


class SearchBudget:
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
        cost (GenotypeCost): Counts the retraining network of a genotype.
        bounds (dict): ``{key: (low, high)}`` from
            :func:`~mmrnas.search.constraints.parse_constraints`, may be empty.
        objectives (tuple): ``()`` or from :func:`parse_objectives`.
        num_classes (int): Classes of the search data (normalises the loss).
    """

    def __init__(self, cost: GenotypeCost, bounds: Dict[str, Tuple[float, float]],
                 objectives: Tuple[str, ...], num_classes: int):
        self.cost = cost
        self.bounds = bounds
        self.objectives = objectives
        self.loss_scale = math.log(num_classes)
        self.cost_scales = {key: largest for key, (_, largest) in cost.extremes().items()}
        #: Every estimate of a multi-objective search: genotype, generation, val_loss,
        #: val_accuracy, params, mult_adds, feasible.
        self.archive: List[Dict[str, Any]] = []

    @classmethod
    def from_config(cls, constraints: Optional[dict], constraint_model: Optional[dict],
                    objectives: Optional[Sequence[str]], num_classes: int,
                    in_channels: int = 3) -> Optional['SearchBudget']:
        """The budget of ``train_cfg``; None for a search without constraints and objectives.
        Any problem is one ValueError, raised before training. ``in_channels`` (the search
        data's) is the constraint model's unless it sets its own."""
        bounds = {} if constraints is None else parse_constraints(constraints)
        objectives = () if objectives is None else parse_objectives(objectives)
        if not bounds and not objectives:
            return None
        if constraint_model is None:
            raise ValueError('train_cfg.constraints and objectives need '
                             'train_cfg.constraint_model=dict(base_channels=36, num_cells=20, '
                             "stem='cifar', num_classes=10, input_size=32): the network you "
                             'will retrain, whose params and mult-adds are counted')
        cost = GenotypeCost.from_config(
            dict(constraint_model, in_channels=constraint_model.get('in_channels', in_channels))
            if isinstance(constraint_model, dict) else constraint_model)
        check_reachable(bounds, cost.extremes(), cost.config)
        return cls(cost, bounds, objectives, num_classes)

    @property
    def settings(self) -> Dict[str, Any]:
        """What a checkpoint records of the budget."""
        return dict(constraints={key: list(bound) for key, bound in self.bounds.items()},
                    constraint_model=dict(self.cost.config), objectives=list(self.objectives))

    # ------------------------------------------------------------------ one genotype
    def costs(self, genotype: Genotype) -> Dict[str, int]:
        return self.cost(genotype)

    def violation(self, genotype: Genotype) -> float:
        """Total relative violation of the constraints (0: feasible)."""
        return relative_violation(self.costs(genotype), self.bounds)

    def feasible(self, genotype: Genotype) -> bool:
        return self.violation(genotype) == 0

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

    def record(self, genotype: Genotype, generation: Any, val_loss: Optional[float],
               val_accuracy: Optional[float]) -> None:
        """Add an estimate to the archive (multi-objective searches only)."""
        if self.objectives:
            self.archive.append(
                dict(genotype=str(genotype), generation=generation, val_loss=val_loss,
                     val_accuracy=val_accuracy, **self.costs(genotype),
                     feasible=self.feasible(genotype)))

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
        return dict(archive=[dict(entry) for entry in self.archive])

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.archive = [dict(entry) for entry in state['archive']]
