"""Latency tables: the timing protocol's checks, prediction from stored numbers, the
fingerprint cache, and latency in a search budget."""
import json
import math
import os.path as osp

import pytest
import torch

from mmrnas.models.latency import (
    LatencyTable,
    latency_cache_dir,
    parse_latency,
    time_module,
    uniform_genotype,
)
from mmrnas.models.ops import OPS
from mmrnas.search import build_search_budget
from mmrnas.structures import SEARCH_PRIMITIVES, get_genotype

pytestmark = pytest.mark.usefixtures('one_thread')

#: C4 L3 at 8x8: cells 0 (reduction at 8x8 -> 4x4)... small enough to time in seconds.
TINY_NET = dict(base_channels=4, num_cells=3, stem='cifar', num_classes=10, input_size=8,
                in_channels=3)
TORCH_CPU = dict(backend='torch', device='cpu', threads=1, batch_size=1)
RELATIVENAS = get_genotype('RelativeNAS')


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv('MMRNAS_CACHE_DIR', str(tmp_path / 'cache'))
    return tmp_path / 'cache' / 'latency'


@pytest.fixture(scope='module')
def table():
    return LatencyTable.build(TINY_NET, parse_latency(TORCH_CPU, 'latency'), log=lambda _: None)


@pytest.mark.parametrize('latency, message', [
    (dict(backend='tensorrt'), "latency.backend must be one of ('torch', 'onnxruntime'), got "
                               "'tensorrt'"),
    (dict(device='gpu'), "latency.device must be one of ('cpu', 'cuda'), got 'gpu'"),
    (dict(backend='onnxruntime', device='cuda'), None),
    (dict(threads=0), 'latency.threads must be a positive integer or None'),
    (dict(batch_size=None), 'latency.batch_size must be a positive integer, got None'),
    (dict(thread=2), "latency: unknown key(s) 'thread' (did you mean 'threads'?)"),
    ('torch', 'latency must be a dict such as'),
])
def test_bad_latency_settings_are_one_error(latency, message):
    if message is None:  # the device check comes first where there is no GPU
        message = ("latency.device='cuda' but this machine has no CUDA device" if not
                   torch.cuda.is_available() else "backend='onnxruntime' times on the CPU")
    with pytest.raises(ValueError) as error:
        parse_latency(latency, 'latency')
    assert message in str(error.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks a machine without CUDA')
def test_cuda_on_a_cpu_machine_is_refused_before_any_work():
    with pytest.raises(ValueError) as error:
        parse_latency(dict(device='cuda'), 'train_cfg.budget.cost.latency')
    assert str(error.value) == (
        "train_cfg.budget.cost.latency.device='cuda' but this machine has no CUDA device: "
        "time on device='cpu', or run on the machine you will deploy on")


def test_a_missing_onnxruntime_is_named(monkeypatch):
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *args: None if name == 'onnxruntime' else find_spec(name))
    with pytest.raises(ValueError, match=r"backend='onnxruntime' but onnxruntime is not "
                       r'installed \(the export and its runtime\): bash tools/setup_env.sh'):
        parse_latency(dict(backend='onnxruntime'), 'latency')


def test_time_module_restores_threads_and_leaves_no_autograd():
    before = torch.get_num_threads()
    module = OPS['sep_conv_3x3'](4, 1)
    ms = time_module(module, (1, 4, 8, 8), 'torch', 'cpu', threads=1)
    assert math.isfinite(ms) and ms > 0
    assert torch.get_num_threads() == before and not module.training


def test_onnxruntime_times_the_exported_module():
    assert time_module(OPS['sep_conv_3x3'](4, 1), (1, 4, 8, 8), 'onnxruntime', 'cpu', 1) > 0
    # an identity exports to no node: 0 ms, not an invalid model
    assert time_module(OPS['skip_connect'](4, 1), (1, 4, 8, 8), 'onnxruntime', 'cpu', 1) == 0


def test_the_table_holds_every_part_a_genotype_can_use(table):
    # cifar stem, 3 cells (1 and 2 reduce: num_cells // 3, 2 * num_cells // 3), the head
    assert set(table.fixed) == {'stem', 'head'} | {f'cell{i}.preprocess{j}' for i in range(3)
                                                   for j in range(2)}
    assert [(c['reduction'], c['channels'], c['resolution']) for c in table.cells] == [
        (False, 4, 8), (True, 8, 8), (True, 16, 4)]
    # normal cell: stride 1 at 8x8; each reduction cell: stride 2 at its input resolution
    # and stride 1 at half of it
    configurations = {key.split('|', 1)[1] for key in table.edges}
    assert configurations == {'c4|r8|s1', 'c8|r8|s2', 'c8|r4|s1', 'c16|r4|s2', 'c16|r2|s1'}
    assert len(table.edges) == 5 * len(SEARCH_PRIMITIVES)
    assert len(table.correction['calibration']) == 8 and table.correction['scale'] > 0


def test_prediction_is_the_corrected_sum_of_stored_parts(table):
    raw = sum(table.fixed.values())
    for cell in table.cells:
        edges, _ = RELATIVENAS.cell('reduce' if cell['reduction'] else 'normal')
        for edge, (op, state) in enumerate(edges):
            reduced = cell['reduction'] and state < 2
            resolution = cell['resolution'] if reduced or not cell['reduction'] else (
                cell['resolution'] // 2)
            raw += table.edges[f'{op}|c{cell["channels"]}|r{resolution}|s{1 + reduced}']
    assert table.raw(RELATIVENAS) == pytest.approx(raw, rel=1e-12)
    assert table.predict(RELATIVENAS) == (table.correction['scale'] * table.raw(RELATIVENAS) +
                                          table.correction['offset'])
    # the same numbers give the same prediction after a round trip
    again = LatencyTable.from_dict(json.loads(json.dumps(table.to_dict())))
    assert again.predict(RELATIVENAS) == table.predict(RELATIVENAS)
    low, high = table.extremes()
    for op in SEARCH_PRIMITIVES:
        assert low <= table.predict(uniform_genotype(op)) <= high
    with pytest.raises(ValueError, match='outside the search space the latency table covers'):
        table.predict(get_genotype('NASNet'))


def test_the_cache_serves_its_own_fingerprint_only(cache, table):
    latency = parse_latency(TORCH_CPU, 'latency')
    lines = []
    built = LatencyTable.cached(TINY_NET, latency, lines.append)
    path = cache / f'{built.fingerprint_digest}.json'
    assert path.is_file() and lines[-1] == f'latency table cached in {path}'
    assert osp.dirname(str(path)) == latency_cache_dir()
    again = LatencyTable.cached(TINY_NET, latency, lines.append)
    assert again.edges == built.edges and 'built in' in lines[-1]
    # a table of another machine copied under this fingerprint's name is rebuilt, not used
    foreign = built.to_dict()
    foreign['fingerprint'] = dict(foreign['fingerprint'], hardware='another CPU')
    path.write_text(json.dumps(foreign))
    rebuilt = LatencyTable.cached(TINY_NET, latency, lines.append)
    assert 'belongs to another fingerprint; building it again' in lines[-3]
    assert rebuilt.fingerprint == built.fingerprint
    # another thread count is another fingerprint
    assert (LatencyTable.fingerprint_of(TINY_NET, dict(latency, threads=2)) !=
            built.fingerprint)


def latency_budget(constraints=None, objectives=None, **latency):
    cost = dict(TINY_NET, latency=dict(TORCH_CPU, **latency))
    return build_search_budget(dict(type='SearchBudget', constraints=constraints,
                                    objectives=objectives, cost=cost))


def test_latency_in_a_budget(cache):
    probe = latency_budget(dict(latency_ms=1e6))
    probe.setup(num_classes=10, in_channels=3)
    table = probe.cost.latency_table
    low, high = table.extremes()
    limit = (low + high) / 2
    budget = latency_budget(dict(latency_ms=limit), ['val_loss', 'latency_ms'])
    budget.setup(num_classes=10, in_channels=3)
    assert budget.settings['constraint_model']['latency'] == dict(TORCH_CPU)
    assert budget.cost_scales['latency_ms'] == high
    cheap, dear = uniform_genotype('max_pool_3x3'), uniform_genotype('sep_conv_5x5')
    assert budget.costs(cheap)['latency_ms'] == table.predict(cheap)
    assert budget.feasible(cheap) and not budget.feasible(dear)
    assert budget.violation(dear) == pytest.approx((table.predict(dear) - limit) / limit)
    assert budget.teacher([dear, cheap], [0.1, 2.0]) == 1  # the feasible member teaches
    # the checkpoint carries the table: a resume predicts with the same numbers
    state = budget.state_dict()
    foreign = dict(state['latency_table'])
    foreign['edges'] = {key: 2 * value for key, value in foreign['edges'].items()}
    resumed = latency_budget(dict(latency_ms=limit), ['val_loss', 'latency_ms'])
    resumed.setup(num_classes=10, in_channels=3)
    resumed.load_state_dict(dict(state, latency_table=foreign))
    assert resumed.costs(dear)['latency_ms'] == LatencyTable.from_dict(foreign).predict(dear)


def test_latency_limits_are_checked_before_the_search(cache):
    with pytest.raises(ValueError, match=r"latency_ms needs a cost model that times the "
                       r"network: train_cfg.budget.cost=dict\(..., latency=dict\("):
        build_search_budget(dict(type='SearchBudget', constraints=dict(latency_ms=5.0),
                                 cost=TINY_NET))
    with pytest.raises(ValueError, match='high bound must be a finite number >= 0'):
        latency_budget(dict(latency_ms=-1.0))
    # above every network (an upper limit near 0 is not enough: the table's linear correction
    # can predict 0 ms, its floor, for the smallest networks on a fast run)
    unreachable = latency_budget(dict(latency_ms=(1e6, 2e6)))
    with pytest.raises(ValueError) as error:
        unreachable.setup(num_classes=10, in_channels=3)
    assert ("train_cfg.budget.constraints.latency_ms=(1e+06, 2e+06) is out of reach: the latency "
            "this machine's table predicts for the networks of the cost model") in str(
                error.value)
    assert ' ms; choose a limit in that range' in str(error.value)


def _cached_in_a_group(rank, tmp_dir):
    """One process of a two-process gloo group: its table, and the cache files it sees."""
    import os

    import torch.distributed as dist
    os.environ['MMRNAS_CACHE_DIR'] = osp.join(tmp_dir, 'cache')
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{tmp_dir}/group', rank=rank,
                            world_size=2)
    try:
        lines = []
        table = LatencyTable.cached(TINY_NET, parse_latency(TORCH_CPU, 'latency'), lines.append)
        with open(osp.join(tmp_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(dict(table=table.to_dict(), lines=lines), f)
    finally:
        dist.destroy_process_group()


def test_in_a_distributed_search_rank_0_times_and_every_process_takes_its_table(tmp_path):
    torch.multiprocessing.spawn(_cached_in_a_group, args=(str(tmp_path), ), nprocs=2)
    ranks = [json.loads((tmp_path / f'rank{rank}.json').read_text()) for rank in range(2)]
    assert ranks[0]['table'] == ranks[1]['table']
    assert ranks[0]['lines'][-1].startswith('latency table cached in ')
    assert ranks[1]['lines'] == []  # the other process timed nothing
    assert len(list((tmp_path / 'cache' / 'latency').glob('*.json'))) == 1


def test_an_unwritable_cache_keeps_the_table_for_the_run(tmp_path, monkeypatch):
    blocker = tmp_path / 'not_a_folder'
    blocker.write_text('')
    monkeypatch.setenv('MMRNAS_CACHE_DIR', str(blocker))
    lines = []
    table = LatencyTable.cached(TINY_NET, parse_latency(TORCH_CPU, 'latency'), lines.append)
    assert table.predict(RELATIVENAS) > 0
    assert lines[-1].startswith('latency table not cached (') and 'MMRNAS_CACHE_DIR' in lines[-1]


def test_predictions_are_never_negative(table):
    low = LatencyTable.from_dict(dict(table.to_dict(), correction=dict(scale=1.0,
                                                                       offset=-1e6)))
    assert low.predict(RELATIVENAS) == 0.0 and low.extremes() == (0.0, 0.0)


def test_a_resumed_budget_predicts_with_its_checkpoints_table_without_timing(cache, table):
    """Another machine's table (a foreign fingerprint, a device this machine lacks) is used,
    not timed again, and the constraints are checked against it."""
    foreign = table.to_dict()
    foreign['fingerprint'] = dict(foreign['fingerprint'], hardware='another machine',
                                  device='cuda')
    low, high = table.extremes()
    budget = build_search_budget(dict(
        type='SearchBudget', constraints=dict(latency_ms=(low + high) / 2),
        cost=dict(TINY_NET, latency=dict(TORCH_CPU, device='cuda'))))
    budget.setup(num_classes=10, in_channels=3, state=dict(archive=[], latency_table=foreign))
    assert budget.cost.latency_table.fingerprint['hardware'] == 'another machine'
    assert budget.costs(RELATIVENAS)['latency_ms'] == table.predict(RELATIVENAS)
    assert not cache.exists()  # nothing was timed
