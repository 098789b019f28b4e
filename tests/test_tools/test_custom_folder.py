"""Own data end to end: a generated folder of real PNG / JPEG digits, searched with
configs/rnas_custom-folder.py and retrained with its retraining config."""
import shutil
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from mmrnas.datasets import SampleReader
from mmrnas.engine import load_search_checkpoint
from tests.test_configs.test_retrain_configs import read_scalars
from tests.test_tools.test_search_tool import one_line_error
from tests.utils import load_tool

pytestmark = pytest.mark.usefixtures('one_thread')

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
SEARCH = CONFIGS / 'rnas_custom-folder.py'
RETRAIN = CONFIGS / 'retrain' / 'rnas_c8l5_1xb64-30e_custom-folder-32.py'
generator = load_tool('dataset_converters/generate_tiny_image_folder')


def tiny_search(data_root: Path) -> list:
    """--cfg-options of a one-generation search of one pair on ``data_root``."""
    return [f'train_dataloader.dataset.data_root={data_root}', 'model.base_channels=4',
            'model.num_cells=3', 'train_cfg.max_generations=1', 'train_cfg.population_size=2']


@pytest.fixture(scope='module')
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('custom_folder')
    generator.main([str(root), '--classes', '4', '--per-class', '8', '--val-per-class', '2'])
    return root


def test_generator_writes_real_images(folder, tmp_path):
    assert sorted(p.name for p in (folder / 'train').iterdir()) == ['0', '1', '2', '3']
    files = sorted((folder / 'train' / '2').iterdir())
    assert [f.name for f in files] == [f'{i:04d}.png' for i in range(8)]
    assert len(list((folder / 'val').glob('*/*.png'))) == 8
    with Image.open(files[0]) as image:
        assert (image.format, image.mode, image.size) == ('PNG', 'L', (32, 32))
    generator.main([str(tmp_path / 'jpg'), '--classes', '2', '--per-class', '1',
                    '--val-per-class', '0', '--size', '16', '--format', 'jpg'])
    with Image.open(tmp_path / 'jpg' / 'train' / '1' / '0000.jpg') as image:
        assert (image.format, image.size) == ('JPEG', (16, 16))
    again = tmp_path / 'again'
    generator.main([str(again), '--classes', '4', '--per-class', '8', '--val-per-class', '2'])
    assert (again / 'train' / '2' / '0000.png').read_bytes() == files[0].read_bytes()


def test_search_then_retrain_on_the_folder(folder, tmp_path):
    """search -> best_genotype.yaml -> retraining, both on the generated PNG folder."""
    work_dir = tmp_path / 'search'
    assert load_tool('search').main([str(SEARCH), '--work-dir', str(work_dir), '--cfg-options',
                                     *tiny_search(folder), 'model.num_classes=4']) == 0
    settings = load_search_checkpoint(str(work_dir / 'checkpoints' / 'search_final.pth')
                                      )['meta']['settings']
    dataset = settings['dataset']
    assert (dataset['num_samples'], dataset['num_classes']) == (32, 4)
    assert dataset['config']['type'] == 'CustomDataset' and 'data_root' not in dataset['config']
    genotype = work_dir / 'best_genotype.yaml'
    retrain_dir = tmp_path / 'retrain'
    load_tool('train').main([
        str(RETRAIN), '--work-dir', str(retrain_dir), '--cfg-options', f'genotype={genotype}',
        'model.head.num_classes=4', 'data_preprocessor.num_classes=4',
        f'train_dataloader.dataset.data_root={folder}',
        f'val_dataloader.dataset.data_root={folder}',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16'
    ])
    (accuracy, ) = [s['accuracy/top1'] for s in read_scalars(retrain_dir) if 'accuracy/top1' in s]
    assert 0.0 <= accuracy <= 100.0
    (checkpoint, ) = retrain_dir.glob('epoch_1.pth')
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']
    assert [v.shape[0] for k, v in state.items() if k.startswith('head.') and k.endswith(
        '.weight')][-1] == 4


#: The image folder's pipelines read 1-channel images (the generated PNGs are grey).
GREY_SEARCH = ['train_dataloader.dataset.pipeline.0.color_type=grayscale', 'model.in_channels=1']
GREY_RETRAIN = ['train_dataloader.dataset.pipeline.0.color_type=grayscale',
                'val_dataloader.dataset.pipeline.0.color_type=grayscale']


def tiny_retrain(folder: Path, work_dir: Path) -> list:
    """argv of one short retraining epoch on ``folder`` (4 classes, no workers)."""
    return [str(RETRAIN), '--work-dir', str(work_dir), '--cfg-options',
            'model.head.num_classes=4', 'data_preprocessor.num_classes=4',
            f'train_dataloader.dataset.data_root={folder}',
            f'val_dataloader.dataset.data_root={folder}',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16']


@pytest.mark.slow
def test_grey_images_search_then_retrain(folder, tmp_path):
    """What the search accepts, retraining accepts: a search on the 1-channel images, then its
    genotype retrained on the same images with a 1-channel stem."""
    work_dir = tmp_path / 'search'
    assert load_tool('search').main([
        str(SEARCH), '--work-dir', str(work_dir), '--cfg-options', *tiny_search(folder),
        'model.num_classes=4', 'train_cfg.max_generations=2', *GREY_SEARCH]) == 0
    settings = load_search_checkpoint(str(work_dir / 'checkpoints' / 'search_final.pth')
                                      )['meta']['settings']
    # The search's mean / std (0..1 scale) of its 1-channel data, x 255 for the retraining.
    (mean, ), (std, ) = settings['dataset']['mean'], settings['dataset']['std']
    retrain_dir = tmp_path / 'retrain'
    load_tool('train').main(tiny_retrain(folder, retrain_dir) + [
        f'genotype={work_dir / "best_genotype.yaml"}', 'model.backbone.in_channels=1',
        f'data_preprocessor.mean=[{mean * 255}]', f'data_preprocessor.std=[{std * 255}]',
        *GREY_RETRAIN])
    (accuracy, ) = [s['accuracy/top1'] for s in read_scalars(retrain_dir) if 'accuracy/top1' in s]
    assert 0.0 <= accuracy <= 100.0
    state = torch.load(retrain_dir / 'epoch_1.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    assert state['backbone.stem.0.weight'].shape == (24, 1, 3, 3)  # 3C, 1 input channel


@pytest.mark.parametrize('options, message', [
    ([], 'train_dataloader.dataset gives 1-channel images but the model takes 3: set '
         '--cfg-options model.backbone.in_channels=1 data_preprocessor.mean=[...] '
         'data_preprocessor.std=[...] (1 value each, not 3)'),
    (['model.backbone.in_channels=1'],
     'train_dataloader.dataset gives 1-channel images but data_preprocessor.mean / std have 3 '
     'values: set --cfg-options data_preprocessor.mean=[...] data_preprocessor.std=[...] (1 '
     'value each, not 3)'),
])
def test_grey_images_need_a_grey_model(folder, tmp_path, capfd, monkeypatch, options, message):
    """Grey images into the colour retraining config: one line naming the keys, before the
    Runner writes anything (PyTorch's "expected input[...] to have 3 channels" came mid-run)."""
    work_dir = tmp_path / 'w'
    argv = tiny_retrain(folder, work_dir) + GREY_RETRAIN + options
    monkeypatch.setattr(sys, 'argv', ['tools/train.py'] + argv)  # the tool's name in the line
    with pytest.raises(SystemExit) as exit_info:
        load_tool('train').main(argv)
    assert exit_info.value.code == 2
    out, err = capfd.readouterr()
    assert err.splitlines() == [f'train.py: error: {message}']
    assert not work_dir.exists()


def test_a_grey_model_tests_on_grey_test_data(folder, tmp_path, capfd, monkeypatch):
    """tools/test.py reads test_dataloader, which the config copied from val_dataloader when it
    was parsed: the retraining's grey options do not reach it, and the line names the one that
    does (not in_channels=3, which would undo the grey model)."""
    checkpoint = tmp_path / 'grey.pth'
    checkpoint.write_bytes(b'')  # the data are checked before the checkpoint is read
    work_dir = tmp_path / 'w'
    argv = [str(RETRAIN), str(checkpoint), '--work-dir', str(work_dir), '--cfg-options',
            'model.head.num_classes=4', 'data_preprocessor.num_classes=4',
            f'test_dataloader.dataset.data_root={folder}', 'model.backbone.in_channels=1',
            'data_preprocessor.mean=[127.5]', 'data_preprocessor.std=[50.0]', *GREY_RETRAIN]
    monkeypatch.setattr(sys, 'argv', ['tools/test.py'] + argv)
    with pytest.raises(SystemExit) as exit_info:
        load_tool('test').main(argv)
    assert exit_info.value.code == 2
    assert capfd.readouterr().err.splitlines() == [
        'test.py: error: test_dataloader.dataset gives 3-channel images but the model takes 1: '
        'set --cfg-options test_dataloader.dataset.pipeline.0.color_type=grayscale']
    assert not work_dir.exists()


def break_folder(folder: Path, root: Path, case: str) -> Path:
    """A copy of the generated folder with one defect; returns its data_root."""
    broken = root / case
    if case == 'missing':
        return broken
    shutil.copytree(folder, broken)
    train = broken / 'train'
    if case == 'empty':
        shutil.rmtree(train)
        train.mkdir()
    elif case == 'single_class':
        for name in ('1', '2', '3'):
            shutil.rmtree(train / name)
    elif case == 'class_without_images':
        for path in (train / '2').iterdir():
            path.unlink()
    elif case == 'corrupt':
        (train / '1' / '0003.png').write_bytes(b'\x89PNG not really')
    elif case == 'other_size':
        image = Image.open(train / '3' / '0005.png')
        image.resize((40, 32)).save(train / '3' / '0005.png')
    return broken


@pytest.mark.parametrize('case, message', [
    ('missing', "train_dataloader.dataset (type='CustomDataset') could not be built: "
                "FileNotFoundError: [Errno 2] No such file or directory: '{root}/train'; check "
                "data_root (and data_prefix / ann_file)"),
    ('empty', "train_dataloader.dataset (type='CustomDataset') could not be built: RuntimeError: "
              "Found 0 files in subfolders of: {{'img_path': '{root}/train'}}"),
    ('single_class', "train_dataloader.dataset (type='CustomDataset') has one class ('0'): a "
                     "search classifies, it needs at least 2 classes"),
    ('class_without_images', "train_dataloader.dataset (type='CustomDataset'): 1 of 4 classes "
                             "have no images ('2'); add images (in a format the pipeline reads) "
                             "or remove those classes"),
    ('corrupt', "train_dataloader.dataset: cannot read '{root}/train/1/0003.png': "
                "AssertionError: failed to load image: {root}/train/1/0003.png; fix or remove "
                "the file"),
    ('other_size', "train_dataloader.dataset: '{root}/train/3/0005.png' is (3, 32, 40) after the "
                   "pipeline, the first image (3, 32, 32); bring every image to one size"),
])
def test_bad_folder_is_one_line_before_any_work(folder, tmp_path, capfd, case, message):
    root = break_folder(folder, tmp_path, case)
    options = tiny_search(root) + ['model.num_classes=4']
    if case == 'other_size':  # a crop larger than the images keeps their sizes
        options.append('train_dataloader.dataset.pipeline.2.crop_size=64')
    work_dir = tmp_path / 'work'
    line = one_line_error(capfd, [str(SEARCH), '--work-dir', str(work_dir), '--cfg-options',
                                  *options])
    assert f': error: {message.format(root=root)}' in line
    assert not list(work_dir.iterdir())


def test_a_dataset_without_samples():
    with pytest.raises(ValueError, match='train_dataloader.dataset has no images; check its '
                                         'data_root / ann_file'):
        SampleReader([]).probe()


def test_retraining_classes_must_match_the_folder(folder, tmp_path, capfd):
    """A head of 10 classes on a folder of 4: one line naming both numbers, before training."""
    with pytest.raises(SystemExit) as exit_info:
        load_tool('train').main([
            str(RETRAIN), '--work-dir', str(tmp_path / 'w'), '--cfg-options',
            f'train_dataloader.dataset.data_root={folder}',
            f'val_dataloader.dataset.data_root={folder}', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False'])
    assert exit_info.value.code == 2
    assert capfd.readouterr().err.strip().splitlines()[-1].endswith(
        'error: the data has 4 classes but model.head.num_classes=10: set --cfg-options '
        'model.head.num_classes=4 data_preprocessor.num_classes=4')
    assert not (tmp_path / 'w' / 'epoch_1.pth').exists()
