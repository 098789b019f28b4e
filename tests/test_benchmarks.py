"""The GPU check's bookkeeping: before/after per target, failed variants, decision agreement."""
import json
import math
import os
import os.path as osp
import statistics
import struct
import sys

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import budget_search  # noqa: E402
import data_placement  # noqa: E402
import gpu_check  # noqa: E402
import latency_model  # noqa: E402
import search_decisions  # noqa: E402
import search_quality  # noqa: E402
import search_quality_fashion_mnist  # noqa: E402
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


@pytest.fixture(scope='module')
def png_folder(tmp_path_factory):
    return data_placement.write_png_folder(str(tmp_path_factory.mktemp('png')), 30, size=8)


@pytest.mark.parametrize('placement', list(data_placement.PLACEMENTS))
def test_data_placement_measures_both_data_sets(png_folder, placement):
    for name in data_placement.DATA:
        result = data_placement.measure(name, placement, 'cpu', 1, png_folder)
        assert result['placement'] == data_placement.PLACEMENTS[placement][0]
        assert result['num_workers'] == data_placement.PLACEMENTS[placement][1]
        assert result['images'] == (1797 if name == 'digits_8x8' else 30)
        assert result['shape'] == [3, 8, 8]
        assert result['images_per_second'] > 0 and result['peak_rss_mib'] > 0


def test_gpu_check_measures_every_data_placement(tmp_path):
    report = gpu_check.Report(str(tmp_path), torch.device('cpu'), ['--smoke'])
    gpu_check.measure_data_placement(report, torch.device('cpu'), smoke=True)
    results = report.data['data_placement']
    assert sorted(results) == sorted(f'{name}/{placement}' for name in data_placement.DATA
                                     for placement in data_placement.PLACEMENTS)
    assert all('error' not in result for result in results.values())
    assert results['folder_png/stream_2_workers']['images'] == 300
    assert results['folder_png/stream_2_workers']['shape'] == [3, 16, 16]


def test_png_folder_is_classes_of_real_files(png_folder):
    from PIL import Image
    files = sorted(os.listdir(osp.join(png_folder, 'train', '3')))
    assert files == ['00003.png', '00013.png', '00023.png']
    with Image.open(osp.join(png_folder, 'train', '3', files[0])) as image:
        assert (image.format, image.mode, image.size) == ('PNG', 'RGB', (8, 8))


def test_search_quality_calibration_numbers():
    spread = search_quality.seed_spread({'a': [90, 92], 'b': [80, 80], 'c': [85, 87]})
    assert spread['seed_std'] == pytest.approx((4 / 3)**0.5)  # variances 2, 0, 2
    assert spread['spread_std'] == pytest.approx((91 / 3)**0.5)  # means 91, 80, 86
    assert spread['spread_range'] == 11
    assert spread['criterion_met'] and spread['ratio'] == pytest.approx((91 / 4)**0.5)
    assert spread['per_genotype']['a'] == dict(mean=91, std=pytest.approx(2**0.5))
    assert not search_quality.seed_spread({'a': [90, 94], 'b': [91, 95]})['criterion_met']


def test_search_quality_rank_correlations():
    exact = search_quality.rank_correlations([1, 2, 3, 4], [10, 20, 30, 40], 50)
    assert (exact['kendall_tau'], exact['spearman_rho']) == (1.0, 1.0)
    assert exact['kendall_tau_interval'] == [1.0, 1.0]
    swapped = search_quality.rank_correlations([1, 2, 3, 4], [1, 3, 2, 4], 200)
    assert swapped['kendall_tau'] == pytest.approx(2 / 3)  # one discordant pair of six
    assert swapped['spearman_rho'] == pytest.approx(0.8)  # 1 - 6 * 2 / (4 * 15)
    low, high = swapped['kendall_tau_interval']
    assert low < 2 / 3 <= high <= 1.0
    assert 0 < swapped['bootstrap_resamples'] <= 200


def test_search_quality_journal_keeps_finished_work(tmp_path):
    journal = search_quality.Journal(str(tmp_path / 'journal.jsonl'))
    assert journal.get('a', lambda: 1) == 1
    with open(tmp_path / 'journal.jsonl', 'a') as f:
        f.write('{"key": "b", "val')  # a run killed while writing
    again = search_quality.Journal(str(tmp_path / 'journal.jsonl'))
    assert again.get('a', lambda: 1 / 0) == 1
    assert again.get('b', lambda: 2) == 2
    # the entry written after the cut-off line is kept, on a line of its own
    assert search_quality.Journal(str(tmp_path / 'journal.jsonl')).entries == dict(a=1, b=2)


@pytest.mark.slow
def test_search_quality_miniature_end_to_end_and_resume(tmp_path, monkeypatch):
    """The whole benchmark on a miniature setting; run again, it trains and searches nothing
    and writes the same numbers."""
    torch.set_num_threads(1)
    out = tmp_path / 'out' / 'search_quality.json'
    work = tmp_path / 'work'
    argv = ['--mini', '--work-dir', str(work), '--out', str(out)]
    assert search_quality.main(argv) == 0
    first = json.loads(out.read_text())
    assert {'device', 'commit', 'proxy', 'calibration', 'ranking', 'methods',
            'references'} <= set(first)
    assert set(first['methods']) == {'relativenas', 'random'}
    for method in first['methods'].values():
        assert [seed['seed'] for seed in method['seeds']] == [0, 1]
        tests = [seed['test_accuracy'] for seed in method['seeds']]
        assert method['mean'] == pytest.approx(sum(tests) / 2)
    repeat = first['methods']['relativenas']['repeat_of_first_seed']
    assert repeat == dict(identical_genotype_file=True, identical_decisions=True)
    ranking = first['ranking']
    kinds = [entry['kind'] for entry in ranking['genotypes']]
    assert kinds == ['random', 'random', 'RelativeNAS', 'DARTS_V2', 'all_pooling']
    assert all(len(entry['estimates']) == 2 for entry in ranking['genotypes'])
    assert -1 <= ranking['kendall_tau'] <= 1 and len(ranking['kendall_tau_interval']) == 2
    assert set(first['references']) == {'RelativeNAS', 'DARTS_V2', 'all_pooling',
                                        'random_genotype'}
    assert first['calibration']['chosen'] == 'mini'
    assert [osp.basename(p) for p in first['plots']] == ['search_quality_ranking.png',
                                                         'search_quality_methods.png']
    assert (out.parent / 'search_quality_ranking.png').is_file()
    journal = (work / 'journal.jsonl').read_text()

    def no_training(*args, **kwargs):
        raise AssertionError('a finished training ran again')

    monkeypatch.setattr(search_quality.StandAlone, 'train', no_training)
    monkeypatch.setattr(search_quality, 'estimate_all', no_training)
    assert search_quality.main(argv) == 0
    assert (work / 'journal.jsonl').read_text() == journal
    second = json.loads(out.read_text())
    for key in ('calibration', 'ranking', 'methods', 'references'):
        assert second[key] == first[key], key


@pytest.mark.slow
def test_budget_search_miniature(tmp_path):
    """The budget benchmark's bookkeeping on tiny searches (one generation of one pair)."""
    torch.set_num_threads(1)
    out = tmp_path / 'budget.json'
    assert budget_search.main([
        '--work-dir', str(tmp_path / 'work'), '--out', str(out), '--seeds', '0', '1',
        '--cfg-options', 'model.base_channels=4', 'model.num_cells=3',
        'train_cfg.max_generations=1', 'train_cfg.population_size=2',
        # 200 of the digits (100 to train, 100 to validate): the bookkeeping checked here
        # does not depend on the amount of data
        'train_dataloader.dataset.split=train', 'train_dataloader.dataset.num_train=200'
    ]) == 0
    results = json.loads(out.read_text())
    assert results['constraints'] == dict(params=[0.0, 40000.0])
    assert results['constraint_model'] == dict(base_channels=8, num_cells=5, stem='cifar',
                                               num_classes=10, input_size=16,
                                               in_channels=3)
    budget = results['budget']
    # one pair, one generation: a seed may end without a feasible cell (then the closest)
    assert budget['feasible_finals'] == budget['within_budget'] == sum(
        seed['costs']['params'] <= 40000 for seed in budget['seeds'])
    assert set(budget['feasible_share_per_generation']) == {'0', '1'}
    for name in ('pareto', 'pareto_random'):
        volumes = [seed['hypervolume'] for seed in results[name]['seeds']]
        assert results[name]['hypervolume']['mean'] == pytest.approx(sum(volumes) / 2)
        assert all(0 <= volume < 1 for volume in volumes)
    assert (tmp_path / 'budget_pareto_front.png').is_file()


@pytest.mark.slow
def test_latency_model_miniature(tmp_path, monkeypatch):
    """The latency benchmark's bookkeeping: a table built without the cache, held-out and
    library cells measured, one tiny latency-budget search whose final cell is measured."""
    torch.set_num_threads(1)
    monkeypatch.setenv('MMRNAS_CACHE_DIR', str(tmp_path / 'cache'))
    out = tmp_path / 'latency.json'
    assert latency_model.main([
        '--work-dir', str(tmp_path / 'work'), '--out', str(out), '--seeds', '0',
        '--backends', 'torch', '--held-out', '2', '--cfg-options', 'model.base_channels=4',
        'model.num_cells=3', 'train_cfg.max_generations=1', 'train_cfg.population_size=2',
        'train_dataloader.dataset.split=train', 'train_dataloader.dataset.num_train=200'
    ]) == 0
    results = json.loads(out.read_text())
    assert results['backend'] == 'torch' and results['threads'] == 1
    assert results['constraint_model']['latency'] == dict(backend='torch', device='cpu',
                                                          threads=1, batch_size=1)
    names = [entry['name'] for entry in results['genotypes']]
    assert names[:2] == ['random_0', 'random_1'] and 'RelativeNAS' in names
    assert 'NASNet' not in names  # outside the search space
    errors = [abs(e['predicted_ms'] - e['measured_ms']) / e['measured_ms']
              for e in results['genotypes']]
    assert results['within_10pct'] == sum(e <= 0.1 for e in errors) / len(errors)
    assert results['rmspe'] == pytest.approx((sum(e * e for e in errors) / len(errors))**0.5)
    (search, ) = results['budget_search']
    assert search['limit'] == 7.0 and search['seed'] == 0
    assert search['within_limit_measured'] == (search['measured_ms'] <= 7.0)
    assert results['other_backends'] == []
    # the search used (and filled) the cache; the validation built its own table
    assert len(list((tmp_path / 'cache' / 'latency').glob('*.json'))) == 1


def unpacked_fashion_mnist(folder, train: int = 60, test: int = 20) -> None:
    """Tiny random files in the unpacked idx layout mmpretrain's FashionMNIST reads."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for split, count in (('train', train), ('t10k', test)):
        for kind, magic, array in (
                ('images', 2051, rng.integers(0, 256, (count, 28, 28))),
                ('labels', 2049, np.arange(count) % 10)):
            header = struct.pack(f'>{array.ndim + 1}I', magic, *array.shape)
            name = f'{split}-{kind}-idx{3 if kind == "images" else 1}-ubyte'
            (folder / name).write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.slow
def test_fashion_mnist_search_quality_miniature(tmp_path, monkeypatch, capsys):
    """Every stage on tiny files through tools/train.py and tools/search.py; run again, it
    trains, searches and estimates nothing and writes the same numbers."""
    torch.set_num_threads(1)
    data = tmp_path / 'fashion_mnist'
    unpacked_fashion_mnist(data)
    out = tmp_path / 'out' / 'quality.json'
    journal = tmp_path / 'journal.jsonl'
    argv = ['--mini', '--data-root', str(data), '--work-dir', str(tmp_path / 'work'), '--out',
            str(out), '--journal', str(journal)]
    # a process may stop after a number of new entries; the next one goes on from there
    assert search_quality_fashion_mnist.main(argv + ['--max-new', '3']) == 3
    assert len(journal.read_text().splitlines()) == 3 and not out.exists()
    assert 'stopped after 3 new entries in this process' in capsys.readouterr().out
    assert search_quality_fashion_mnist.main(argv) == 0
    first = json.loads(out.read_text())
    assert first['stages_run'] == ['calibration', 'ranking', 'estimators', 'methods']
    assert first['calibration']['chosen'] == 'mini' and first['calibration']['cells'] == 2
    assert [cell['kind'] for cell in first['cells']] == [
        'random', 'random', 'RelativeNAS', 'DARTS_V2', 'all_max_pooling', 'all_skip']
    assert all(len(cell['standalone_test_accuracy']) == 2 for cell in first['cells'])
    power = first['power']
    assert power['binomial_se'] > 0 and -1 <= power['noise_ceiling_tau'] <= 1
    assert set(first['estimators']) == {
        'one_epoch', 'one_epoch_accuracy', 'train_loss', 'recalibrated_bn', 'whole_validation',
        'synflow', 'naswot', 'synflow_init', 'naswot_init', 'params', 'mult_adds'}
    assert 'tau_with_another_data_order' in first['estimators']['one_epoch']
    assert first['cells'][-1]['scores']['params'] < first['cells'][2]['scores']['params']
    for method in ('relativenas', 'random'):
        assert [seed['seed'] for seed in first['methods'][method]['seeds']] == [0, 1]
    difference = first['paired_difference']
    assert difference['mean'] == pytest.approx(statistics.fmean(
        a['test_accuracy'] - b['test_accuracy'] for a, b in zip(
            first['methods']['relativenas']['seeds'], first['methods']['random']['seeds'])))
    assert first['plots'] == ['quality_estimators.png', 'quality_ranking.png',
                              'quality_methods.png']
    # the journal keys name the code: a training from other code is not reused
    keys = [json.loads(line)['key'] for line in journal.read_text().splitlines()]
    assert keys[0] == 'data'  # the journal belongs to these files
    assert keys[1].startswith('standalone/mini/') and len(keys[1].split('/')[2]) == 12
    assert any(key.startswith('search/relativenas/') for key in keys)
    assert any(key.startswith('estimates/') for key in keys)
    recorded = journal.read_text()

    def nothing_again(*args, **kwargs):
        raise AssertionError('finished work ran again')

    monkeypatch.setattr(search_quality_fashion_mnist.StandAlone, 'train', nothing_again)
    monkeypatch.setattr(search_quality_fashion_mnist.Searches, 'run', nothing_again)
    monkeypatch.setattr(search_quality_fashion_mnist, 'estimator_scores', nothing_again)
    assert search_quality_fashion_mnist.main(argv) == 0
    assert journal.read_text() == recorded
    second = json.loads(out.read_text())
    for key in ('calibration', 'power', 'cells', 'estimators', 'methods', 'paired_difference'):
        assert second[key] == first[key], key
    # the plots are drawn again from the JSON alone, which stays as it was
    results = out.read_bytes()
    for name in second['plots']:
        (out.parent / name).unlink()
    assert search_quality_fashion_mnist.main(['--plots-only', '--out', str(out)]) == 0
    assert sorted(p.name for p in out.parent.glob('*.png')) == sorted(second['plots'])
    assert out.read_bytes() == results
    with pytest.raises(SystemExit):
        search_quality_fashion_mnist.main(['--plots-only', '--out', str(tmp_path / 'none.json')])
    assert 'there is no' in capsys.readouterr().err
    early = tmp_path / 'early.json'
    early.write_text(json.dumps(dict(stages_run=['calibration', 'ranking'])))
    with pytest.raises(SystemExit):
        search_quality_fashion_mnist.main(['--plots-only', '--out', str(early)])
    assert 'holds no stage with plots (stages run: calibration, ranking)' in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit):
        search_quality_fashion_mnist.main(['--plots-only', '--out', str(out), '--until',
                                           'ranking'])
    assert '--plots-only runs nothing' in capsys.readouterr().err
    # another data set is refused with this journal
    (data / 't10k-labels-idx1-ubyte').write_bytes(
        (data / 't10k-labels-idx1-ubyte').read_bytes()[:-1] + b'\x01')
    with pytest.raises(SystemExit):
        search_quality_fashion_mnist.main(argv)
    assert 'holds results of other data' in capsys.readouterr().err


def test_fashion_mnist_tau_gain_and_the_clearly_better_estimator():
    """The gain over the default is measured on the same resamples; an estimator counts as
    clearly better only when the interval of its gain is above 0 and it can drive a search."""
    rng = np.random.default_rng(0)
    truth = np.arange(30, dtype=float)
    standalone = np.stack([truth + rng.normal(0, 0.3, 30), truth + rng.normal(0, 0.3, 30)], 1)
    noise = rng.permutation(30).astype(float)
    perfect = search_quality_fashion_mnist.two_level_correlations(truth, standalone, 300,
                                                                  baseline=noise)
    low, high = perfect['tau_gain_interval']
    assert perfect['kendall_tau'] > 0.9 and 0 < low <= perfect['tau_gain'] <= high
    same = search_quality_fashion_mnist.two_level_correlations(noise, standalone, 300,
                                                               baseline=noise)
    assert same['tau_gain'] == 0 and same['tau_gain_interval'] == [0.0, 0.0]
    # chosen on the validation accuracies ('selection'), whatever the test set says
    ranked = dict(recalibrated_bn=dict(kendall_tau=0.1, selection=dict(
        kendall_tau=0.5, tau_gain_interval=[0.1, 0.6])),
                  naswot_init=dict(kendall_tau=0.9, selection=dict(
                      kendall_tau=0.7, tau_gain_interval=[-0.1, 0.9])),
                  synflow_init=dict(kendall_tau=0.4, selection=dict(
                      kendall_tau=0.4, tau_gain_interval=[0.05, 0.5])),
                  params=dict(kendall_tau=0.9, selection=dict(
                      kendall_tau=0.9, tau_gain_interval=[0.5, 1.0])))
    assert search_quality_fashion_mnist.clearly_better(ranked) == 'recalibrated_bn'
    ranked['recalibrated_bn']['selection']['tau_gain_interval'] = [-0.2, 0.3]
    ranked['synflow_init']['selection']['tau_gain_interval'] = None
    assert search_quality_fashion_mnist.clearly_better(ranked) is None


def test_fashion_mnist_power_numbers():
    accuracies = {'a': [90.0, 91.0], 'b': [80.0, 80.0], 'c': [85.0, 86.0], 'd': [70.0, 71.0]}
    power = search_quality_fashion_mnist.power_report(accuracies, ['a', 'b', 'c'], 10000, 10,
                                                      50)
    p = 653 / 8 / 100  # the mean of all eight accuracies
    assert power['binomial_se'] == pytest.approx(100 * math.sqrt(p * (1 - p) / 10000))
    assert power['seed_std'] == pytest.approx(math.sqrt(1 / 3))  # variances 0.5, 0, 0.5
    assert power['cell_spread'] == pytest.approx(statistics.stdev([90.5, 80.0, 85.5]))
    assert power['noise_ceiling_tau'] == pytest.approx(1.0)
    # t(0.975, 9) * sqrt(2) * spread / sqrt(10)
    assert power['resolvable_difference'] == pytest.approx(
        2.2621571627 * math.sqrt(2) * power['cell_spread'] / math.sqrt(10))


def test_fashion_mnist_calibration_takes_the_cheapest_proxy_within_the_noise():
    """Neither meets the criterion: a costlier proxy with a ratio inside one standard error of
    the largest buys nothing; one far above it is taken."""
    report = [dict(name='cheap', ratio=0.81), dict(name='costly', ratio=0.87)]
    # relative error sqrt(1 / 14 + 1 / 16) = 0.366 of 0.87: 0.32
    assert search_quality_fashion_mnist.ratio_standard_error(0.87, 8, 2) == pytest.approx(
        0.87 * math.sqrt(1 / 14 + 1 / 16))
    assert search_quality_fashion_mnist.cheapest_within_noise(report, 8, 2)['name'] == 'cheap'
    report[1]['ratio'] = 1.9
    assert search_quality_fashion_mnist.cheapest_within_noise(report, 8, 2)['name'] == 'costly'
