"""tools/dataset_converters/fashion_mnist.py: the official files checked and unpacked where
mmpretrain's FashionMNIST reads them (tiny files in the idx format here; the real release when
Debian's dataset-fashion-mnist is installed)."""
import gzip
import hashlib
import importlib.util
import os.path as osp
import struct
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location(
    'fashion_mnist_tool', ROOT / 'tools' / 'dataset_converters' / 'fashion_mnist.py')
tool = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tool)


def idx_file(magic: int, array: np.ndarray) -> bytes:
    """``array`` (uint8) in the idx format, gzipped."""
    header = struct.pack(f'>{array.ndim + 1}I', magic, *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture
def release(tmp_path, monkeypatch):
    """Four tiny files of the release's names and format, and the tool's table for them."""
    rng = np.random.default_rng(0)
    counts = dict(train=20, t10k=10)  # every class in both
    files = {}
    folder = tmp_path / 'release'
    folder.mkdir()
    for split, count in counts.items():
        for kind, magic, array in (
                ('images', 2051, rng.integers(0, 256, (count, 28, 28))),
                ('labels', 2049, rng.permutation(np.arange(count) % 10))):
            name = f'{split}-{kind}-idx{3 if kind == "images" else 1}-ubyte.gz'
            packed = idx_file(magic, array)
            (folder / name).write_bytes(packed)
            files[name] = (hashlib.md5(packed).hexdigest(),
                           hashlib.sha256(gzip.decompress(packed)).hexdigest(), magic, count)
    monkeypatch.setattr(tool, 'FILES', files)
    return folder


def test_unpacks_what_mmpretrain_reads(release, tmp_path, capsys):
    out = tmp_path / 'data' / 'fashion_mnist'
    assert tool.main([str(release), '--out', str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 'train-images-idx3-ubyte',
        'train-labels-idx1-ubyte']
    from mmpretrain.datasets import FashionMNIST
    for test_mode, count in ((False, 20), (True, 10)):
        dataset = FashionMNIST(data_root=str(out), test_mode=test_mode, download=False,
                               pipeline=[])
        assert len(dataset) == count
        assert dataset[0]['img'].shape == (28, 28) and dataset[0]['img'].dtype == np.uint8
    assert tool.main([str(release), '--out', str(out)]) == 0  # a second run changes nothing
    assert capsys.readouterr().out.count('already there') == 4


def test_missing_files_name_the_package_and_the_download(tmp_path, capsys):
    assert tool.main([str(tmp_path), '--out', str(tmp_path / 'out')]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f'fashion_mnist.py: error: {tmp_path} lacks train-images-idx3-')
    assert 'apt-get install dataset-fashion-mnist' in error and tool.OFFICIAL in error
    assert not (tmp_path / 'out').exists()


def test_a_damaged_file_is_refused(release, tmp_path, capsys):
    name = 't10k-labels-idx1-ubyte.gz'
    (release / name).write_bytes(b'not the release')
    assert tool.main([str(release), '--out', str(tmp_path / 'out')]) == 2
    assert f'{release / name} is not a gzip file' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()  # checked all four before writing any
    # a well-formed file with other content: neither hash matches
    (release / name).write_bytes(idx_file(2049, np.zeros(10, np.uint8)))
    assert tool.main([str(release), '--out', str(tmp_path / 'out')]) == 2
    assert (f"{release / name} is not the release's file (neither its MD5 nor the SHA-256 of "
            f'its content match)') in capsys.readouterr().err
    # a repackaged copy of the right content (another gzip header) is accepted
    expected = tool.FILES[name]
    content = gzip.decompress(idx_file(2049, np.zeros(10, np.uint8)))
    (release / name).write_bytes(gzip.compress(content, mtime=12345))
    tool.FILES[name] = ('0' * 32, hashlib.sha256(content).hexdigest(), *expected[2:])
    assert tool.main([str(release), '--out', str(tmp_path / 'out')]) == 0


@pytest.mark.skipif(not osp.isdir(tool.DEBIAN_FOLDER), reason='dataset-fashion-mnist is not '
                    'installed')
def test_the_real_release(tmp_path):
    lines = tool.prepare(tool.DEBIAN_FOLDER, str(tmp_path))
    assert lines[0].endswith('train-images-idx3-ubyte: 60,000 images')
    assert lines[3].endswith('t10k-labels-idx1-ubyte: 10,000 labels')


@pytest.fixture
def prepared(release, tmp_path):
    """The tiny release converted into data/fashion_mnist's layout."""
    out = tmp_path / 'fashion_mnist'
    tool.prepare(str(release), str(out))
    return out


def test_the_search_config_reads_it_through_the_registry(prepared, tmp_path):
    import uuid

    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(ROOT / 'configs' / 'rnas_fashion-mnist.py'))
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': str(prepared), 'model.base_channels': 4,
        'model.num_cells': 3, 'train_cfg.max_generations': 1, 'train_cfg.population_size': 2,
        'train_dataloader.batch_size': 2})
    cfg.work_dir, cfg.experiment_name = str(tmp_path / 'search'), uuid.uuid4().hex
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    assert len(loop.dataset) == 20 and tuple(loop.dataset.images.shape[1:]) == (1, 28, 28)
    assert loop.settings['dataset']['num_samples'] == 20
    runner.train()
    assert loop.best_genotype is not None


def test_the_retraining_config_reads_train_and_test_files(prepared):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(str(ROOT / 'configs' / 'retrain' /
                              'rnas_c16l8_1xb128-50e_fashion-mnist-28.py'))
    init_default_scope('mmpretrain')
    sizes = []
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        dataset = DATASETS.build(dict(loader.dataset, data_root=str(prepared)))
        sizes.append(len(dataset))
        sample = dataset[0]
        assert tuple(sample['inputs'].shape) == (1, 28, 28)
    assert sizes == [20, 10]  # train files for training, test files (test_mode) for validation
