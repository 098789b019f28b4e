"""What several seeds of one search found: each seed's genotype and estimate, and the spread."""
import itertools
import statistics
from typing import Any, Dict, List, Optional, Sequence

from mmrnas.structures import Genotype, genotype_distance

__all__ = ['seed_result', 'summarize_seeds']


def seed_result(seed: int, work_dir: str, final: Dict[str, Any]) -> Dict[str, Any]:
    """One seed's line of the summary, from its search's final selection.

    The estimate is the chosen member's re-evaluation (``final_selection='reevaluate'``); the
    other selection modes re-estimate nothing, their estimate is None.

    Args:
        seed: The search's seed.
        work_dir: Where the search wrote its outputs.
        final: The final selection the search published (``final_selection.json``).
    """
    member = None
    if final.get('best_index') is not None:
        member = final['members'][final['best_index']]
    return dict(seed=seed, work_dir=work_dir, genotype=final['genotype'],
                val_loss=None if member is None else member['val_loss'],
                val_accuracy=None if member is None else member['val_accuracy'])


def _spread(values: List[Optional[float]]) -> Optional[Dict[str, float]]:
    """Mean, sample standard deviation (0 for one value), min and max of the known values."""
    known = [value for value in values if value is not None]
    if not known:
        return None
    return dict(mean=statistics.fmean(known),
                std=statistics.stdev(known) if len(known) > 1 else 0.0,
                min=min(known), max=max(known))


def summarize_seeds(results: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Summarize the :func:`seed_result` of several seeds.

    Returns:
        dict: ``seeds`` (the results), ``val_loss`` and ``val_accuracy`` (mean, std, min,
        max of the estimates, or None), ``distinct_genotypes`` (how many different genotypes
        the seeds found), ``same_genotype_groups`` (seeds that found the same genotype, groups
        of two or more), ``edge_distance`` (mean, min and max over pairs of seeds of
        :func:`~mmrnas.structures.genotype_distance`, in edges out of 16; None for one seed).
    """
    genotypes = [Genotype.from_string(result['genotype']) for result in results]
    groups: Dict[Genotype, List[int]] = {}
    for result, genotype in zip(results, genotypes):
        groups.setdefault(genotype, []).append(result['seed'])
    distances = [genotype_distance(a, b) for a, b in itertools.combinations(genotypes, 2)]
    return dict(
        seeds=list(results),
        val_loss=_spread([result['val_loss'] for result in results]),
        val_accuracy=_spread([result['val_accuracy'] for result in results]),
        distinct_genotypes=len(groups),
        same_genotype_groups=[seeds for seeds in groups.values() if len(seeds) > 1],
        edge_distance=dict(mean=statistics.fmean(distances), min=min(distances),
                           max=max(distances)) if distances else None)
