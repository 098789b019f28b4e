"""tools/search.py: a real (tiny) search from the command line, resume, Ctrl-C and bad input
(one line on stderr, exit code 2, before the Runner logs anything)."""
import json
import os
import os.path as osp
import shlex
import subprocess
import sys

import pytest
import torch
import yaml

from mmrnas.engine import RelativeNASSearchLoop, load_search_checkpoint
from tests.test_datasets.test_cifar import make_images, trust_generated_batches, write_batch
from tests.utils import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'search.py')
CONFIG = osp.join(ROOT, 'configs', 'rnas_quickstart.py')
PAPER_CONFIG = osp.join(ROOT, 'configs', 'rnas_cifar10.py')
BUDGET_CONFIG = osp.join(ROOT, 'configs', 'rnas_quickstart-budget.py')
PARETO_CONFIG = osp.join(ROOT, 'configs', 'rnas_quickstart-pareto.py')
TINY = ['model.base_channels=4', 'model.num_cells=3', 'train_dataloader.dataset.size=8',
        'train_dataloader.batch_size=256', 'train_cfg.max_generations=2',
        'train_cfg.population_size=2']

search_tool = load_tool('search')
pytestmark = pytest.mark.usefixtures('one_thread')


def search(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=ROOT)


@pytest.mark.slow
def test_search_then_resume_finished(tmp_path):
    result = search(CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    best = (tmp_path / 'best_genotype.yaml').read_text()
    assert (tmp_path / 'best_genotype_normal.png').is_file()
    assert 'threads: 1 (OMP_NUM_THREADS=1)' in result.stdout + result.stderr
    resumed = search(CONFIG, '--work-dir', str(tmp_path), '--resume', '--cfg-options', *TINY)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert 'resumed the search from' in resumed.stdout + resumed.stderr
    assert (tmp_path / 'best_genotype.yaml').read_text() == best


@pytest.fixture(scope='module')
def searched(tmp_path_factory):
    """The work dir of a finished tiny search (two generations of one pair)."""
    torch.set_num_threads(1)
    work_dir = tmp_path_factory.mktemp('searched')
    assert search_tool.main([CONFIG, '--work-dir', str(work_dir), '--cfg-options', *TINY]) == 0
    return work_dir


def one_line_error(capfd, argv) -> str:
    """Run the tool; expect exit code 2 and one line on stderr, nothing on stdout."""
    with pytest.raises(SystemExit) as exit_info:
        search_tool.main(argv)
    assert exit_info.value.code == 2
    out, err = capfd.readouterr()
    assert out == ''
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize('args, message', [
    (['missing.py'], "config file 'missing.py' does not exist"),
    ([CONFIG, '--work-dir', '/proc/no-such-dir'], 'cannot create the work dir'),
    ([CONFIG, '--cfg-options', 'train_cfg.population_size=3'],
     'population_size must be even and at least 2'),
    ([CONFIG, '--cfg-options', 'train_cfg.populaton_size=4'],
     "train_cfg of RelativeNASSearchLoop: unknown key(s) 'populaton_size' (did you mean "
     "'population_size'?)"),
    ([CONFIG, '--cfg-options', 'train_dataloader.dataset=None'],
     'train_dataloader of a search needs dataset=dict(type=...)'),
    ([CONFIG, '--cfg-options', 'train_dataloader.augment.cutuot=8'],
     "train_dataloader.augment: unknown key(s) 'cutuot' (did you mean 'cutout'?)"),
    ([CONFIG, '--cfg-options', 'train_cfg.drop_path_rate=1.0'],
     'drop_path_rate must be a finite number in [0, 1), got 1.0'),
    ([CONFIG, '--cfg-options', 'train_cfg.lr_min=-0.001'],
     'lr_min must be a finite number in [0, inf], got -0.001'),
    ([CONFIG, '--cfg-options', 'optim_wrapper.optimizer.lr=-0.1'],
     'optim_wrapper.optimizer.lr must be a finite number in [0, inf], got -0.1'),
    ([CONFIG, '--cfg-options', 'train_cfg.phi=nan'], 'phi must be a finite number'),
    ([CONFIG, '--cfg-options', 'optim_wrapper.type=AmpOptimWrapper'],
     "optim_wrapper.type='AmpOptimWrapper' is not supported by the search"),
    ([CONFIG, '--cfg-options', 'optim_wrapper.paramwise_cfg.norm_decay_mult=0'],
     "unknown key(s) 'paramwise_cfg'"),
    ([CONFIG, '--cfg-options', 'param_scheduler.type=CosineAnnealingLR'],
     'param_scheduler is not used by a search'),
    ([CONFIG, '--cfg-options', 'train_dataloader.dataset.type=CIFAR11'],
     "train_dataloader.dataset (type='CIFAR11') could not be built: KeyError: 'CIFAR11 is not "
     "in the mmpretrain::dataset registry."),
    ([CONFIG, '--cfg-options', 'train_dataloader.mean=[0.3,0.3]'],
     'mean/std need 3 values (one per channel)'),
    ([PAPER_CONFIG, '--cfg-options', 'train_dataloader.dataset.data_root=/nonexistent'],
     "train_dataloader.dataset (type='CIFAR10') could not be built: RuntimeError: Cannot find "
     "CIFAR10 dataset in /nonexistent"),
    ([CONFIG, '--cfg-options', 'train_dataloader.data_placement=device',
      'train_dataloader.device_memory_budget=100KiB'],
     "train_dataloader.data_placement='device', but the search data take 351.0 KiB (359400 "
     'bytes), more than the device memory budget of 100.0 KiB (102400 bytes); set '
     "data_placement='auto' (host memory, or a stream from the files), or "
     'train_dataloader.device_memory_budget=359400 or more'),
    ([CONFIG, '--cfg-options', 'train_dataloader.num_workers=two'],
     "train_dataloader.num_workers must be a non-negative integer, got 'two'"),
    ([CONFIG, '--cfg-options', 'train_dataloader.data_placement=gpu'],
     "train_dataloader.data_placement must be one of ('auto', 'device', 'host', 'stream'), "
     "got 'gpu'"),
    ([BUDGET_CONFIG, '--cfg-options', 'train_cfg.budget.constraints.param=40000'],
     "train_cfg.budget.constraints: unknown key(s) 'param' (did you mean 'params'?)"),
    ([BUDGET_CONFIG, '--cfg-options', 'train_cfg.budget.constraints.params=10000'],
     "train_cfg.budget.constraints.params=(0, 10000) is out of reach: the networks of the cost "
     "model {'base_channels': 8, 'num_cells': 5, 'stem': 'cifar', 'num_classes': 10, "
     "'input_size': 16, 'in_channels': 3} have 15,458 (pooling on every edge) to 102,370 "
     "(sep_conv_5x5 on every edge) params; choose a bound in that range"),
    ([BUDGET_CONFIG, '--cfg-options', 'train_cfg.budget.cost.stem=resnet'],
     "train_cfg.budget.cost={'base_channels': 8, 'num_cells': 5, 'stem': 'resnet', "
     "'num_classes': 10, 'input_size': 16, 'in_channels': 3} does not build a network: "
     "ValueError: stem must be 'imagenet' or 'cifar', got 'resnet'"),
    ([BUDGET_CONFIG, '--cfg-options', 'train_cfg.budget.cost=None'],
     'constraints and objectives need the network you will retrain, whose params and '
     "mult-adds are counted: train_cfg.budget.cost=dict(type='GenotypeCost', "),
    ([BUDGET_CONFIG, '--cfg-options', 'train_cfg.constraints.params=30000'],
     'train_cfg.constraints set beside train_cfg.budget: they are now spelled inside it, '
     "budget=dict(type='SearchBudget', "),
    ([PARETO_CONFIG, '--cfg-options', "train_cfg.budget.objectives=[val_loss,mult_add]"],
     "train_cfg.budget.objectives: unknown key(s) 'mult_add' (did you mean 'mult_adds'?)"),
    ([CONFIG, '--resume', '/nonexistent/search_generation_001.pth'],
     "resume: search checkpoint '/nonexistent/search_generation_001.pth' does not exist"),
])
def test_bad_input_is_one_line(tmp_path, capfd, args, message):
    if '--work-dir' not in args:
        args = args + ['--work-dir', str(tmp_path)]
    line = one_line_error(capfd, args)
    assert line.endswith(message) or message in line
    assert ': error: ' in line
    assert not os.listdir(tmp_path) if tmp_path.exists() else True


@pytest.mark.parametrize('options, message', [
    (['optim_wrapper.optimizer.lr=0.05'],
     "lr: 0.1 in the checkpoint, 0.05 in the config. To continue it, resume with the "
     "checkpoint's settings, or start a new search in another --work-dir; to change lr on "
     "purpose, add train_cfg.resume_changes=['lr']"),
    (['model.base_channels=8'],
     'supernet.base_channels: 4 in the checkpoint, 8 in the config. To continue it, resume with '
     "the checkpoint's settings, or start a new search in another --work-dir (supernet can "
     'never change on resume)'),
])
def test_resume_from_another_config_is_one_line(searched, capfd, options, message):
    path = osp.join(searched, 'checkpoints', 'search_generation_001.pth')
    line = one_line_error(capfd, [CONFIG, '--work-dir', str(searched), '--resume', path,
                                  '--cfg-options', *TINY, *options])
    assert f'resume: {path} was written by a search with other settings: ' in line
    assert line.endswith(message)


def test_resume_from_a_file_that_is_no_checkpoint(tmp_path, capfd):
    path = tmp_path / 'notes.pth'
    path.write_text('not a checkpoint')
    line = one_line_error(capfd, [CONFIG, '--work-dir', str(tmp_path / 'w'), '--resume',
                                  str(path)])
    assert f'resume: {path} is not a search checkpoint (torch.load: ' in line


def test_clip_norm_type_is_honoured(tmp_path, monkeypatch):
    """clip_grad.norm_type reaches the candidates' clipping (not ignored)."""
    seen = []
    original = torch.nn.utils.clip_grad_norm_

    def clip(params, max_norm, norm_type=2.0, **kwargs):
        seen.append((max_norm, norm_type))
        return original(params, max_norm, norm_type, **kwargs)

    monkeypatch.setattr(torch.nn.utils, 'clip_grad_norm_', clip)
    assert search_tool.main([CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *TINY,
                             'train_cfg.max_generations=1', 'optim_wrapper.clip_grad.norm_type=inf'
                             ]) == 0
    assert seen and set(seen) == {(5, float('inf'))}


def test_ctrl_c_names_the_last_generation_and_the_command(tmp_path, capfd, monkeypatch):
    """Ctrl-C in generation 2 of 2: the message names generation 1's checkpoint and a command
    that, run as printed, finishes the search."""
    real = RelativeNASSearchLoop._run_generation

    def interrupted(self, generation):
        if generation == 1:
            raise KeyboardInterrupt
        return real(self, generation)

    monkeypatch.setattr(RelativeNASSearchLoop, '_run_generation', interrupted)
    work_dir = str(tmp_path / 'work')
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--cfg-options', *TINY]) == 130
    last = capfd.readouterr().err.strip().splitlines()[-1]
    checkpoint = osp.join(work_dir, 'checkpoints', 'search_generation_001.pth')
    command = (f'python tools/search.py {CONFIG} --work-dir {work_dir} --resume --cfg-options '
               + ' '.join(TINY))
    assert last.endswith(f'interrupted during generation 2/2; the last checkpoint {checkpoint} '
                         f'holds generation 1/2. Continue with: {command}')
    monkeypatch.setattr(RelativeNASSearchLoop, '_run_generation', real)
    assert search_tool.main(shlex.split(command)[2:]) == 0
    history = [json.loads(line) for line in open(osp.join(work_dir, 'history.jsonl'))]
    assert [r['generation'] for r in history] == [1, 2]


def test_ctrl_c_before_the_first_checkpoint(tmp_path, capfd, monkeypatch):
    def interrupted(self, generation):
        raise KeyboardInterrupt

    monkeypatch.setattr(RelativeNASSearchLoop, '_run_generation', interrupted)
    assert search_tool.main([CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *TINY]) == 130
    assert capfd.readouterr().err.strip().splitlines()[-1].endswith(
        'interrupted in generation 1/2, before the first checkpoint: nothing to resume; start '
        'the search again')


@pytest.mark.slow
def test_paper_config_end_to_end_on_cifar_batches(tmp_path, monkeypatch):
    """configs/rnas_cifar10.py as it is (augmentation, validation with it, final
    re-evaluation) on generated CIFAR-10 python batches, with a tiny budget."""
    trust_generated_batches(monkeypatch)
    folder = tmp_path / 'cifar' / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    for i in range(1, 6):
        write_batch(folder / f'data_batch_{i}', make_images(16, seed=i), 'labels',
                    [(i + j) % 10 for j in range(16)])
    work_dir = tmp_path / 'work'
    assert search_tool.main([
        PAPER_CONFIG, '--work-dir', str(work_dir), '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path / "cifar"}', 'model.base_channels=4',
        'model.num_cells=3', 'train_dataloader.batch_size=16', 'train_dataloader.val_batch_size=16',
        'train_cfg.max_generations=2', 'train_cfg.population_size=2'
    ]) == 0
    state = load_search_checkpoint(str(work_dir / 'checkpoints' / 'search_final.pth'))
    settings = state['meta']['settings']
    assert settings['augment'] == dict(crop_padding=4, flip=True, cutout=16)
    assert settings['validate_with_train_augment'] is True
    assert settings['dataset']['config'] == dict(type='CIFAR10', split='train',
                                                 pipeline=[dict(type='PackInputs')])
    assert settings['dataset']['num_samples'] == 80
    assert settings['dataset']['mean'] == [0.49139968, 0.48215827, 0.44653124]
    assert (settings['seed'], settings['lr'], settings['drop_path_rate']) == (7, 0.1, 0.3)
    assert [len(state['split']['train']), len(state['split']['val'])] == [40, 40]
    assert [round(r['drop_path_rate'], 6) for r in state['history']] == [0.0, 0.15]
    final = json.load(open(work_dir / 'final_selection.json'))
    assert final['mode'] == 'reevaluate' and len(final['members']) == 2
    best = yaml.safe_load(open(work_dir / 'best_genotype.yaml'))
    assert best['normal'] and best['reduce']


def test_a_bad_hook_option_is_one_line_before_any_work(tmp_path, capfd):
    """custom_hooks are built by the preflight: a bad option is refused before the search,
    not after its last generation."""
    line = one_line_error(capfd, [CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                                  'custom_hooks.0.formats=[jpg]'])
    assert line.endswith("custom_hooks[0] could not be built: ValueError: GenotypeDumpHook: "
                         "formats=['jpg'] are not drawing formats; it takes a non-empty list "
                         "out of png, svg, pdf, e.g. ('png', 'svg')")
    assert os.listdir(tmp_path) == []


def test_a_random_transform_in_the_search_pipeline_is_one_line_before_any_reading(
        tmp_path, capfd, monkeypatch):
    import mmrnas.datasets.search_data as search_data

    def read(cfg):
        raise AssertionError('the data were read')

    monkeypatch.setattr(search_data, 'build_search_dataset', read)
    config = tmp_path / 'random_flip.py'
    config.write_text(f'_base_ = [{CONFIG!r}]\n'
                      'train_dataloader = dict(dataset=dict(pipeline=[\n'
                      "    dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')]))\n")
    line = one_line_error(capfd, [str(config), '--work-dir', str(tmp_path / 'work')])
    assert line.endswith(
        'train_dataloader.dataset.pipeline has random transforms (RandomFlip): the search reads '
        'the pipeline once when it holds the images (device, host) and for every batch when it '
        'streams them, so the placements would search on other data; remove them and augment '
        'with train_dataloader.augment=dict(crop_padding=..., flip=..., cutout=...) (batched on '
        'the device, the same for every placement)')
