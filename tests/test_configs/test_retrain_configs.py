"""The retraining configs (configs/retrain): schedules, and short real runs on tiny data
written in the real CIFAR / ImageNet formats."""
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope
from mmengine.runner import Runner

pytestmark = pytest.mark.usefixtures('one_thread')

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'retrain'
CIFAR10 = CONFIGS / 'rnas_c36l20_1xb128-600e_cifar10.py'
CIFAR100 = CONFIGS / 'rnas_c36l20_1xb128-600e_cifar100.py'
IN1K = CONFIGS / 'rnas_c46l14_8xb128-250e_in1k.py'
WNIDS = ('n01440764', 'n01443537')


def write_cifar10(root: Path, num_train: int = 4, num_test: int = 2) -> None:
    """CIFAR-10 python batches with the real file names and keys (all training images in
    data_batch_1, the other batches empty)."""
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def batch(name: str, count: int) -> None:
        entry = {
            'batch_label': name,
            'labels': [i % 10 for i in range(count)],
            'data': rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            'filenames': [f'img_{i}.png' for i in range(count)],
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))

    for index in range(1, 6):
        batch(f'data_batch_{index}', num_train if index == 1 else 0)
    batch('test_batch', num_test)
    meta = {'num_cases_per_batch': 10000, 'num_vis': 3072,
            'label_names': ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
                            'horse', 'ship', 'truck']}
    (folder / 'batches.meta').write_bytes(pickle.dumps(meta, protocol=2))


@pytest.fixture
def tiny_cifar10(tmp_path, monkeypatch) -> Path:
    """Generated CIFAR-10 files. mmpretrain's CIFAR10 compares the md5 of every file with the
    real release (and would download it on a mismatch): the md5 lists are set to None for
    this test, which skips the check (mmpretrain's own convention for unchecked files)."""
    from mmpretrain.datasets import CIFAR10
    root = tmp_path / 'cifar10'
    write_cifar10(root)
    monkeypatch.setattr(CIFAR10, 'train_list', [[f'data_batch_{i}', None] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, 'test_list', [['test_batch', None]])
    monkeypatch.setattr(CIFAR10, 'meta', dict(CIFAR10.meta, md5=None))
    return root


def write_imagenet(root: Path, per_class: int = 2) -> None:
    """mmpretrain's ImageNet folder layout: {train,val}/<wnid>/*.JPEG."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for wnid in WNIDS:
            folder = root / split / wnid
            folder.mkdir(parents=True)
            for index in range(per_class):
                pixels = rng.integers(0, 256, (150, 180, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f'{wnid}_{index}.JPEG')


def tiny_options(work_dir: Path, data_root: Path, max_epochs: int) -> dict:
    """Small model, batch 2, no workers, log every iteration, validate every epoch."""
    return {
        'work_dir': str(work_dir),
        'experiment_name': work_dir.name,
        'model.backbone.base_channels': 8,
        'model.backbone.num_cells': 5,
        'model.head.in_channels': 128,
        'model.head.aux_in_channels': 128,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.data_root': str(data_root),
        'val_dataloader.batch_size': 2,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'val_dataloader.dataset.data_root': str(data_root),
        'test_dataloader.batch_size': 2,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'test_dataloader.dataset.data_root': str(data_root),
        'train_cfg.max_epochs': max_epochs,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 1,
    }


def read_scalars(work_dir: Path) -> list:
    (path, ) = work_dir.glob('*/vis_data/scalars.json')
    return [json.loads(line) for line in path.read_text().splitlines()]


class RecordDropPath(Hook):
    """Record the backbone's drop-path rate seen by the training iterations of each epoch."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.rates = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.rates.setdefault(runner.epoch, set()).add(runner.model.backbone.drop_path_rate)


def scheduled_lrs(config: Path, num_epochs: int) -> list:
    """The lr of each epoch from the config's schedulers, stepped per epoch as the runner does."""
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                                lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = cfg.param_scheduler if isinstance(cfg.param_scheduler, list) else [
        cfg.param_scheduler]
    for scheduler in schedulers:
        assert scheduler['by_epoch'] and 'convert_to_iter_based' not in scheduler
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer)) for s in schedulers]
    lrs = []
    for _ in range(num_epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def test_imagenet_lr_schedule():
    lrs = scheduled_lrs(IN1K, 250)

    def reference(e: int) -> float:  # docs/reference.md §6.2
        if e < 5:
            return 0.5 * (e + 1) / 5
        if e < 245:
            return 0.5 * (245 - e) / 245
        return 0.5 * (250 - e) / 1225

    for epoch in (0, 4, 5, 100, 244, 245, 249):
        assert lrs[epoch] == pytest.approx(reference(epoch), rel=1e-9), epoch
    assert lrs[:5] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert all(lrs[e] == pytest.approx(reference(e), rel=1e-9) for e in range(250))


def test_cifar_cosine_schedule():
    lrs = scheduled_lrs(CIFAR10, 600)
    for epoch in (0, 1, 150, 300, 599):
        expected = 0.025 * (1 + math.cos(math.pi * epoch / 600)) / 2
        assert lrs[epoch] == pytest.approx(expected, abs=1e-12)


def test_cifar_configs_follow_reference():
    cfg = Config.fromfile(CIFAR10)
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.train_cfg.max_epochs == 600
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4)
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=5, norm_type=2)
    assert cfg.custom_hooks == [dict(type='mmrnas.DropPathScheduleHook', max_rate=0.3)]
    assert dict(type='Cutout', shape=16, pad_val=(125, 123, 114),
                prob=1.0) in cfg.train_pipeline
    assert cfg.test_dataloader.dataset.pipeline == [dict(type='PackInputs')]
    # The Cutout fill is the normalisation mean (filling 0 after normalisation).
    fill = (np.array(cfg.cutout_fill) - cfg.data_preprocessor.mean) / cfg.data_preprocessor.std
    assert np.abs(fill).max() < 0.01


def test_cifar100_builds_100_classes():
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(CIFAR100)
    init_default_scope('mmpretrain')
    assert cfg.train_dataloader.dataset.type == 'CIFAR100'
    assert cfg.train_dataloader.dataset.data_root == 'data/cifar100'
    assert cfg.data_preprocessor.mean == pytest.approx([129.3105, 124.1085, 112.404])
    model = MODELS.build(cfg.model)
    assert model.head.classifier.out_features == 100
    assert model.head.aux_head.classifier.out_features == 100


@pytest.mark.slow
def test_cifar10_short_run(tiny_cifar10, tmp_path):
    """2 iterations x 3 epochs + validation each epoch, then test: losses, metrics, drop path."""
    cfg = Config.fromfile(CIFAR10)
    work_dir = tmp_path / 'cifar10_run'
    cfg.merge_from_dict(tiny_options(work_dir, tiny_cifar10, max_epochs=3))
    runner = Runner.from_cfg(cfg)
    recorder = RecordDropPath()
    runner.register_hook(recorder)
    runner.train()

    # p = 0.3 * e / E with E = 3 (the runner's max_epochs).
    assert {epoch: sorted(rates) for epoch, rates in recorder.rates.items()} == {
        0: [0.0], 1: [pytest.approx(0.1)], 2: [pytest.approx(0.2)]}
    scalars = read_scalars(work_dir)
    train = [s for s in scalars if 'loss' in s]
    assert len(train) == 6  # 2 iterations x 3 epochs
    assert all(math.isfinite(s['loss']) and math.isfinite(s['loss_aux']) for s in train)
    val = [s for s in scalars if 'accuracy/top1' in s]
    assert len(val) == 3 and all(0 <= s['accuracy/top1'] <= 100 for s in val)
    assert not any('loss_aux' in s for s in val)

    metrics = runner.test()
    assert set(metrics) == {'accuracy/top1'}
    assert isinstance(metrics['accuracy/top1'], float)
    # At test time only the main logits come out (no auxiliary output).
    model = runner.model.eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, 10)


@pytest.mark.slow
def test_imagenet_short_run(tmp_path):
    """2 iterations + validation at the real 224x224 (the avg7 head and the ImageNet auxiliary
    head both need the 7x7 map of a 224 input)."""
    root = tmp_path / 'imagenet'
    write_imagenet(root)
    cfg = Config.fromfile(IN1K)
    work_dir = tmp_path / 'in1k_run'
    cfg.merge_from_dict(tiny_options(work_dir, root, max_epochs=1))
    cfg.merge_from_dict({
        # A folder layout needs one subfolder per class of the metainfo: 2 here, not 1000.
        'train_dataloader.dataset.metainfo': dict(classes=WNIDS),
        'val_dataloader.dataset.metainfo': dict(classes=WNIDS),
    })
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = read_scalars(work_dir)
    train = [s for s in scalars if 'loss' in s]
    assert len(train) == 2
    assert all(math.isfinite(s['loss']) and math.isfinite(s['loss_aux']) for s in train)
    (val, ) = [s for s in scalars if 'accuracy/top1' in s]
    assert 0 <= val['accuracy/top1'] <= 100 and 0 <= val['accuracy/top5'] <= 100
    assert 'loss_aux' not in val


def test_imagenet_avg7_needs_224():
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(IN1K)
    init_default_scope('mmpretrain')
    cfg.model.backbone.update(base_channels=8, num_cells=5)
    cfg.model.head.update(in_channels=128, aux_in_channels=128)
    model = MODELS.build(cfg.model).eval()
    assert model(torch.randn(1, 3, 224, 224), mode='tensor').shape == (1, 1000)
    with pytest.raises(ValueError, match=r"224x224 input.*got a 5x5 feature map.*"
                       r"pool='adaptive'"):
        model(torch.randn(1, 3, 160, 160), mode='tensor')


def test_imagenet_wrong_layout(tmp_path):
    """Images directly in train/ instead of train/<wnid>/."""
    from mmpretrain.datasets import ImageNet
    root = tmp_path / 'imagenet'
    write_imagenet(root)
    for image in list((root / 'train').glob('*/*.JPEG')):
        image.rename(root / 'train' / image.name)
    for folder in (root / 'train').iterdir():
        if folder.is_dir():
            folder.rmdir()
    with pytest.raises(AssertionError, match=r'number of subfolders \(0\) doesn\'t match'):
        ImageNet(data_root=str(root), split='train')
