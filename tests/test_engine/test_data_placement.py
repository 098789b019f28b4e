"""Search data in host memory: the same search as with the data on the device."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from mmrnas.datasets import (
    StreamBatches,
    TensorBatches,
    default_host_budget,
    default_memory_budget,
    format_size,
)
from .test_search_loop import run_search, tiny_cfg

pytestmark = pytest.mark.usefixtures('one_thread')

SHORT = {'train_cfg.max_generations': 2, 'train_cfg.population_size': 4,
         'train_cfg.final_selection': 'last_generation'}
DIGITS_BYTES = 1797 * (3 * 8 * 8 + 8)  # uint8 images + int64 labels


def log_text(loop) -> str:
    (log, ) = glob.glob(osp.join(loop.work_dir, '*', '*.log'))
    with open(log) as f:
        return f.read()


@pytest.fixture(scope='module')
def on_device(tmp_path_factory):
    threads = torch.get_num_threads()  # as one_thread, which a module fixture precedes
    torch.set_num_threads(1)
    try:
        return run_search(tmp_path_factory.mktemp('device'), **SHORT,
                          **{'train_dataloader.data_placement': 'device'})
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize('placement, workers, kind', [
    ('host', 0, TensorBatches), ('stream', 0, StreamBatches), ('stream', 2, StreamBatches)])
def test_every_placement_gives_the_same_search(on_device, tmp_path, placement, workers, kind):
    """Held on the device, in host memory, or read from the files for every batch (in the
    main process or by two workers): the same batches, so the same pair decisions."""
    other = run_search(tmp_path, **SHORT, **{'train_dataloader.data_placement': placement,
                                             'train_dataloader.num_workers': workers})
    assert type(on_device.estimator.trainer.train_set) is TensorBatches
    trainer = other.estimator.trainer
    assert type(trainer.train_set) is kind and type(trainer.val_set) is kind
    assert [r['pairs'] for r in other.history] == [r['pairs'] for r in on_device.history]
    assert other.best_genotype == on_device.best_genotype
    assert other.settings == on_device.settings  # placement does not change results
    assert f"search data placement: {placement} (" in log_text(other)


def test_stream_placement_logs_its_readers(tmp_path):
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **{
        'train_dataloader.data_placement': 'stream', 'train_dataloader.num_workers': 2}))
    assert runner.train_loop.estimator.trainer.train_set.loaders.settings['num_workers'] == 2
    device_budget = format_size(default_memory_budget(torch.device('cpu')))
    host_budget = format_size(default_host_budget())
    assert (f'search data placement: stream (351.0 KiB <= device budget {device_budget}, <= '
            f"host budget {host_budget}, data_placement='stream'); every batch read from the "
            f'files by 2 DataLoader workers') in log_text(runner.train_loop)


@pytest.mark.parametrize('budgets, placement, line', [
    (dict(device_memory_budget='1KiB'), 'host',
     'search data placement: host (351.0 KiB > device budget 1.0 KiB, <= host budget '),
    (dict(device_memory_budget='1KiB', host_memory_budget='2KiB'), 'stream',
     'search data placement: stream (351.0 KiB > device budget 1.0 KiB, > host budget 2.0 KiB); '
     'every batch read from the files in the main process (set train_dataloader.num_workers to '
     'read in parallel)'),
    (dict(device_memory_budget=DIGITS_BYTES), 'device',
     'search data placement: device (351.0 KiB <= device budget 351.0 KiB)'),
])
def test_auto_placement_picks_by_budget(tmp_path, budgets, placement, line):
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **{
        f'train_dataloader.{key}': value for key, value in budgets.items()}))
    loop = runner.train_loop
    assert loop.data_placement == placement
    assert line in log_text(loop)


@pytest.mark.parametrize('placement, budget', [('device', 'device_memory_budget'),
                                               ('host', 'host_memory_budget')])
def test_forced_placement_over_its_budget_fails_before_work(tmp_path, placement, budget):
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **{
        'train_dataloader.data_placement': placement,
        f'train_dataloader.{budget}': '100KiB'}))
    with pytest.raises(ValueError, match=(
            rf"data_placement='{placement}', but the search data take 351.0 KiB "
            rf'\({DIGITS_BYTES} bytes\), more than the {placement} memory budget of 100.0 KiB '
            r'\(102400 bytes\)')):
        runner.train_loop
    assert not osp.exists(osp.join(tmp_path, 'checkpoints'))
