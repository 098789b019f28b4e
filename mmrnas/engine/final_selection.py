"""How a finished search picks its architecture: registered parts chosen with
``train_cfg.final_selection`` (``dict(type='ReevaluateSelection')``,
``dict(type='LastGenerationSelection')``, ``dict(type='MostFrequentSelection')``, or your own
class registered in ``mmrnas.registry.TASK_UTILS``; the strings ``'reevaluate'``,
``'last_generation'`` and ``'most_frequent'`` are shorthands). Not in the reference
(docs/reference.md §5)."""
from abc import abstractmethod
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple, Union

from mmrnas.registry import TASK_UTILS
from mmrnas.search.population_update import PopulationUpdate
from mmrnas.search.search_part import SearchPart, build_search_part
from mmrnas.structures import Genotype
from .search_record import finite_or_none, publish_scalars

__all__ = [
    'FinalSelection', 'ReevaluateSelection', 'LastGenerationSelection',
    'MostFrequentSelection', 'build_final_selection', 'FINAL_SELECTION_SHORTHANDS'
]

#: ``train_cfg.final_selection`` strings and the parts they stand for.
FINAL_SELECTION_SHORTHANDS = {
    'reevaluate': 'ReevaluateSelection',
    'last_generation': 'LastGenerationSelection',
    'most_frequent': 'MostFrequentSelection',
}


class FinalSelection(SearchPart):
    """Base of a final selection. :meth:`select` builds the record (``final_selection.json``)
    around :meth:`choose`, which subclasses implement.

    Args of :meth:`select` and :meth:`choose`: the search loop
    (:class:`~mmrnas.engine.RelativeNASSearchLoop`): a selection reads its ``history``,
    ``population``, ``population_update``, ``population_size``, ``budget``, ``teacher``,
    ``max_generations`` and ``runner`` (logger, MessageHub), calls :meth:`estimate_genotypes`.
    """

    #: Its name in ``final_selection.json`` (``mode``) and in the recorded settings.
    mode = 'custom'
    #: Whether it only makes sense on a population that converged (refused with an update
    #: that redraws the population, such as random search).
    needs_converged_population = False
    key = 'final_selection'
    example = 'ReevaluateSelection'

    @property
    def settings(self) -> Dict[str, Any]:
        """What the search records of this part: ``final_selection``, the config that built
        it (the shipped selections: their ``mode``, as earlier versions recorded)."""
        if type(self) in (ReevaluateSelection, LastGenerationSelection, MostFrequentSelection):
            return dict(final_selection=self.mode)
        return super().settings

    @abstractmethod
    def choose(self, loop, genotypes: List[Genotype], eligible: List[int],
               final: Dict[str, Any]) -> Tuple[str, Optional[bool]]:
        """The chosen genotype's text; ``final`` may take more entries. Also whether the
        choice is feasible, when it differs from that of ``eligible`` (else None).

        Args:
            loop: The search loop.
            genotypes: The candidates (:func:`candidates`).
            eligible: Indices of ``genotypes`` that may be chosen (:func:`eligible`).
            final: The record so far.
        """

    def select(self, loop) -> Dict[str, Any]:
        """The final selection's record: ``mode``, ``candidates``, ``most_frequent`` (and its
        count), ``population``, ``genotype`` and what :meth:`choose` and the budget add."""
        genotypes = candidates(loop)
        allowed, feasible = eligible(loop, genotypes)
        most_frequent, frequency = Counter(str(genotypes[i]) for i in allowed).most_common(1)[0]
        final: Dict[str, Any] = dict(
            mode=self.mode,
            candidates=('final population'
                        if loop.population_update.converges else 'best distinct estimates'),
            most_frequent=most_frequent,
            most_frequent_count=frequency,
            population=[str(g) for g in genotypes])
        final['genotype'], chosen_feasible = self.choose(loop, genotypes, allowed, final)
        loop.budget.annotate_final(final, feasible if chosen_feasible is None else
                                   chosen_feasible, loop.runner.logger)
        return final


@TASK_UTILS.register_module()
class ReevaluateSelection(FinalSelection):
    """Train and validate every candidate once more from the final weight set (without
    write-back, two by two at the last generation's lr and drop path) and take the best."""

    mode = 'reevaluate'

    def choose(self, loop, genotypes, eligible, final):
        members = []
        for index, result in enumerate(loop.estimate_genotypes(genotypes)):
            members.append(dict(index=index, val_loss=finite_or_none(result.val_loss),
                                val_accuracy=finite_or_none(result.val_accuracy)))
            loss, accuracy = members[-1]['val_loss'], members[-1]['val_accuracy']
            loop.runner.logger.info(f'final selection: member {index}: loss ' +
                                    ('n/a' if loss is None else f'{loss:.4f}') +
                                    ('' if accuracy is None else f', acc {accuracy:.2f}%'))
            loop.budget.record(genotypes[index], 'final', members[-1]['val_loss'],
                               members[-1]['val_accuracy'])
        best = min((members[i] for i in eligible),
                   key=lambda m: rank_key(loop, m['val_loss'], m['val_accuracy']))
        final.update(members=members, best_index=best['index'])
        publish_scalars(loop.runner, dict(val_loss=best['val_loss'],
                                          val_accuracy=best['val_accuracy']),
                        'search/final/', loop.max_generations)
        return str(genotypes[best['index']]), None


@TASK_UTILS.register_module()
class LastGenerationSelection(FinalSelection):
    """The best teacher of the last generation, by its estimate there."""

    mode = 'last_generation'

    def choose(self, loop, genotypes, eligible_candidates, final):
        last = loop.history[-1]
        teachers = [Genotype.from_string(last['population'][pair['teacher']])
                    for pair in last['pairs']]
        allowed, feasible = eligible(loop, teachers)

        def key(index):
            pair = last['pairs'][index]
            position = pair['members'].index(pair['teacher'])
            return rank_key(loop, pair['val_loss'][position], pair['val_accuracy'][position])

        return str(teachers[min(allowed, key=key)]), feasible


@TASK_UTILS.register_module()
class MostFrequentSelection(FinalSelection):
    """The mode of the final population (among the feasible members under constraints)."""

    mode = 'most_frequent'
    needs_converged_population = True

    def choose(self, loop, genotypes, eligible, final):
        return final['most_frequent'], None


def build_final_selection(cfg: Union[str, dict], population_update: PopulationUpdate,
                          population_update_cfg: Any) -> FinalSelection:
    """The part ``train_cfg.final_selection`` describes, checked against the search's
    population update.

    Args:
        cfg: A shorthand of :data:`FINAL_SELECTION_SHORTHANDS` or ``dict(type=...)``.
        population_update: The search's population update.
        population_update_cfg: Its config, for the message.

    Raises:
        ValueError: an unknown selection, or one that needs a converged population with an
            update that redraws it.
    """
    given = cfg
    if isinstance(cfg, str) and cfg in FINAL_SELECTION_SHORTHANDS:
        cfg = dict(type=FINAL_SELECTION_SHORTHANDS[cfg])
    elif not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'final_selection must be one of {tuple(FINAL_SELECTION_SHORTHANDS)} '
                         f'or dict(type=...), got {cfg!r}')
    selection = build_search_part('final_selection', cfg, FinalSelection)
    if selection.needs_converged_population and not population_update.converges:
        raise ValueError(
            f'final_selection={given!r} takes the mode of the final population, which '
            f'population_update={population_update_cfg!r} draws afresh after the last '
            f"generation and never evaluates: set final_selection='reevaluate' or "
            f"'last_generation' (or population_update='slow_fast')")
    return selection


# ---------------------------------------------------------------------- shared rules


def rank_key(loop, loss: Optional[float], accuracy: Optional[float]) -> tuple:
    """Sort key of an estimate, by the search's teacher rule: lower is better."""
    return loop.teacher.rank_key(loss, accuracy)


def eligible(loop, genotypes: List[Genotype]) -> Tuple[List[int], bool]:
    """Indices of ``genotypes`` a final selection may take: the feasible ones, or, when none
    is, the one closest to the constraints; and whether they are feasible."""
    indices = list(range(len(genotypes)))
    budget = loop.budget
    if not budget.bounds:
        return indices, True
    feasible = [i for i in indices if budget.feasible(genotypes[i])]
    if feasible:
        return feasible, True
    return [min(indices, key=lambda i: budget.violation(genotypes[i]))], False


def candidates(loop) -> List[Genotype]:
    """What a final selection chooses from: the final population, or, when the population
    update does not converge (random search ends on a fresh draw nobody estimated), the
    ``population_size`` best distinct genotypes the search estimated, each by its latest
    estimate (feasible ones first, then by violation, under constraints; ties in the order
    first estimated)."""
    if loop.population_update.converges:
        return loop.population.genotypes()
    latest: Dict[str, Tuple[Optional[float], Optional[float]]] = {}
    for record in loop.history:
        for pair in record['pairs']:
            for position, member in enumerate(pair['members']):
                latest[record['population'][member]] = (pair['val_loss'][position],
                                                        pair['val_accuracy'][position])
    genotypes = {text: Genotype.from_string(text) for text in latest}
    budget = loop.budget

    def key(text):
        return (budget.violation(genotypes[text]), rank_key(loop, *latest[text]))

    return [genotypes[text] for text in sorted(latest, key=key)[:loop.population_size]]
