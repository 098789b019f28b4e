"""The GPU check's bookkeeping: before/after per target, failed variants, decision agreement."""
import json
import os.path as osp
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import data_placement  # noqa: E402
import gpu_check  # noqa: E402
import search_decisions  # noqa: E402
import search_throughput  # noqa: E402


def test_report_keeps_failures_and_picks_the_fastest_variant(tmp_path):
    report = gpu_check.Report(str(tmp_path), torch.device('cpu'), ['--smoke'])
    report.record('search', 'baseline', lambda: dict(search_seconds_per_candidate=2.5))
    report.record('search', 'cuda_graph', lambda: dict(search_seconds_per_candidate=0.9))
    report.record('search', 'broken', lambda: 1 / 0)
    report.record('retrain', 'baseline', lambda: dict(retrain_step_seconds=0.08))
    report.record('retrain', 'bf16', lambda: dict(retrain_step_seconds=0.05))
    with open(tmp_path / 'gpu_check_cpu.json') as f:
        data = json.load(f)
    assert data['search_seconds_per_candidate'] == dict(
        before=2.5, after=0.9, after_variant='cuda_graph', target=1.2, met=True)
    assert data['retrain_step_seconds'] == dict(
        before=0.08, after=0.05, after_variant='bf16', target=0.04, met=False)
    assert data['search']['broken']['error'] == 'ZeroDivisionError: division by zero'
    assert data['commit'] and data['device_type'] == 'cpu'


@pytest.mark.parametrize('variant, on_cpu', [
    (dict(), True), (dict(channels_last=True), True), (dict(precision='bf16'), False),
    (dict(cuda_graph=True), False), (dict(concurrent_pairs=True), True)])
def test_gpu_only_variants_are_skipped_on_a_cpu(variant, on_cpu):
    assert gpu_check.usable(variant, torch.device('cpu')) is on_cpu
    assert gpu_check.usable(variant, torch.device('cuda'))


def test_decision_agreement_counts_up_to_the_first_difference():
    reference = dict(teachers=[[0, 1], [2, 3]], best_genotype='a')
    assert search_decisions.agreement(dict(teachers=[[0, 1], [2, 3]], best_genotype='a'),
                                      reference) == dict(pairs_before_first_difference=4,
                                                         identical=True)
    assert search_decisions.agreement(dict(teachers=[[0, 1], [3, 3]], best_genotype='a'),
                                      reference) == dict(pairs_before_first_difference=2,
                                                         identical=False)
    assert not search_decisions.agreement(dict(teachers=[[0, 1], [2, 3]], best_genotype='b'),
                                          reference)['identical']


def test_decision_variants_are_the_speed_options_as_cfg_options():
    assert search_decisions.VARIANTS['baseline'] == []
    assert search_decisions.VARIANTS['cuda_graph_bf16_channels_last_concurrent_pairs'] == [
        'train_cfg.cuda_graph=True', 'train_cfg.precision=bf16', 'train_cfg.channels_last=True',
        'train_cfg.concurrent_pairs=True'
    ]
    assert set(gpu_check.SEARCH_VARIANTS) == set(search_decisions.VARIANTS)


@pytest.mark.usefixtures('one_thread')
@pytest.mark.filterwarnings('ignore:concurrent_pairs=True on a CPU')
def test_concurrent_throughput_times_pairs():
    """Three candidates round up to two pairs; the second pair is the one reported."""
    result = search_throughput.measure(torch.device('cpu'), candidates=3, num_images=64,
                                       batch_size=32, concurrent_pairs=True)
    assert result['candidates_measured'] == 2
    assert set(result['seconds_per_phase']) == {'extract', 'train_and_validate', 'write_back'}
    assert len(result['losses']) == 4
    assert result['settings']['concurrent_pairs'] is True
    assert result['search_seconds_per_candidate'] == pytest.approx(
        sum(result['seconds_per_phase'].values()))


@pytest.mark.parametrize('placement', ['device', 'host'])
def test_data_placement_measures_both_data_sets(placement):
    for name in data_placement.DATA:
        result = data_placement.measure(name, placement, 'cpu', 1, 300)
        assert result['images'] == (1797 if name == 'digits_8x8' else 300)
        assert result['images_per_second'] > 0 and result['peak_rss_mib'] > 0
