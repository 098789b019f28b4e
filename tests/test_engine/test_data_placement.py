"""Search data in host memory: the same search as with the data on the device."""
import glob
import os.path as osp

import pytest
from mmengine.runner import Runner

from mmrnas.datasets import DeviceDataset, HostDataset
from mmrnas.engine.search_settings import parse_search_dataloader
from .test_search_loop import run_search, tiny_cfg

pytestmark = pytest.mark.usefixtures('one_thread')

SHORT = {'train_cfg.max_generations': 2, 'train_cfg.population_size': 4,
         'train_cfg.final_selection': 'last_generation'}
DIGITS_BYTES = 1797 * (3 * 8 * 8 + 8)  # uint8 images + int64 labels


def log_text(loop) -> str:
    (log, ) = glob.glob(osp.join(loop.work_dir, '*', '*.log'))
    with open(log) as f:
        return f.read()


def test_host_placement_gives_the_same_search(tmp_path):
    on_device = run_search(tmp_path / 'device', **SHORT,
                           **{'train_dataloader.data_placement': 'device'})
    on_host = run_search(tmp_path / 'host', **SHORT,
                         **{'train_dataloader.data_placement': 'host'})
    assert type(on_device.trainer.train_set) is DeviceDataset
    assert isinstance(on_host.trainer.train_set, HostDataset)
    assert isinstance(on_host.trainer.val_set, HostDataset)
    assert [r['pairs'] for r in on_host.history] == [r['pairs'] for r in on_device.history]
    assert on_host.best_genotype == on_device.best_genotype
    assert on_host.settings == on_device.settings  # placement does not change results
    assert "search data placement: host (" in log_text(on_host)


@pytest.mark.parametrize('budget, placement, line', [
    ('1KiB', 'host', 'search data placement: host (351.0 KiB > budget 1.0 KiB)'),
    (DIGITS_BYTES, 'device', 'search data placement: device (351.0 KiB <= budget 351.0 KiB)'),
])
def test_auto_placement_picks_by_budget(tmp_path, budget, placement, line):
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **{
        'train_dataloader.device_memory_budget': budget}))
    loop = runner.train_loop
    assert loop.data_placement == placement
    assert line in log_text(loop)


def test_device_placement_over_the_budget_fails_before_work(tmp_path):
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **{
        'train_dataloader.data_placement': 'device',
        'train_dataloader.device_memory_budget': '100KiB'}))
    with pytest.raises(ValueError, match=(
            rf"data_placement='device', but the search data take 351.0 KiB \({DIGITS_BYTES} "
            r'bytes\), more than the device memory budget of 100.0 KiB \(102400 bytes\)')):
        runner.train_loop
    assert not osp.exists(osp.join(tmp_path, 'checkpoints'))


@pytest.mark.parametrize('options, message', [
    (dict(data_placement='gpu'),
     r"data_placement must be one of \('auto', 'device', 'host'\), got 'gpu'"),
    (dict(device_memory_budget='2 gigs'), "device_memory_budget must be a positive number"),
    (dict(device_memory_budget=0), 'device_memory_budget must be a positive number'),
    (dict(data_placment='host'), r"unknown key\(s\) 'data_placment' \(did you mean "
                                 r"'data_placement'\?\)"),
])
def test_bad_placement_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        parse_search_dataloader(dict(dataset=dict(type='CIFAR10'), **options))


def test_placement_defaults():
    data = parse_search_dataloader(dict(dataset=dict(type='CIFAR10'),
                                        device_memory_budget='2GiB'))
    assert (data['data_placement'], data['device_memory_budget']) == ('auto', 2 * 2**30)
