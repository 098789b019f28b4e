"""The summary of several seeds of a search: estimates, spread, distinct genotypes."""
import pytest

from mmrnas.engine.seed_summary import seed_result, summarize_seeds
from mmrnas.structures import get_genotype

RELATIVENAS, DARTS = str(get_genotype('RelativeNAS')), str(get_genotype('DARTS_V2'))


def reevaluated(genotype, loss, accuracy):
    return dict(mode='reevaluate', genotype=genotype, best_index=1,
                members=[dict(index=0, val_loss=9.0, val_accuracy=1.0),
                         dict(index=1, val_loss=loss, val_accuracy=accuracy)])


def test_seed_result_takes_the_chosen_members_estimate():
    assert seed_result(3, 'w/seed_3', reevaluated(DARTS, 0.5, 80.0)) == dict(
        seed=3, work_dir='w/seed_3', genotype=DARTS, val_loss=0.5, val_accuracy=80.0)
    assert seed_result(1, 'w', dict(mode='most_frequent', genotype=DARTS))['val_loss'] is None


def test_summary_numbers():
    results = [seed_result(0, 'a', reevaluated(RELATIVENAS, 0.5, 80.0)),
               seed_result(1, 'b', reevaluated(DARTS, 0.7, 70.0)),
               seed_result(2, 'c', reevaluated(RELATIVENAS, 0.6, 90.0))]
    summary = summarize_seeds(results)
    assert summary['seeds'] == results
    assert summary['val_accuracy'] == dict(mean=80.0, std=10.0, min=70.0, max=90.0)
    assert summary['val_loss']['mean'] == pytest.approx(0.6)
    assert summary['val_loss']['std'] == pytest.approx(0.1)
    assert summary['distinct_genotypes'] == 2
    assert summary['same_genotype_groups'] == [[0, 2]]
    # distances 10 (0-1), 10 (1-2) and 0 (0-2)
    assert summary['edge_distance'] == dict(mean=pytest.approx(20 / 3), min=0, max=10)


def test_one_seed_and_no_estimates():
    summary = summarize_seeds([seed_result(0, 'a', dict(mode='last_generation',
                                                        genotype=DARTS))])
    assert summary['val_accuracy'] is None and summary['edge_distance'] is None
    assert summary['distinct_genotypes'] == 1 and summary['same_genotype_groups'] == []
