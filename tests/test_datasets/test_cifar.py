"""load_cifar on tiny batches written in the real python-pickle format."""
import ast
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import mmrnas.datasets
from mmrnas.datasets import CIFAR10_MEAN, CIFAR100_STD, load_cifar


def make_images(n: int, seed: int) -> np.ndarray:
    """N×3×32×32 uint8 images with one marked pixel per image at (c, y, x) = (1, 5, 7)."""
    images = np.random.default_rng(seed).integers(0, 200, (n, 3, 32, 32), dtype=np.uint8)
    images[:, 1, 5, 7] = 250 + np.arange(n) % 6
    return images


def write_batch(path, images: np.ndarray, label_key: bytes, labels: list) -> None:
    """Write a batch like the CIFAR release: bytes keys, N×3072 uint8 rows, list labels."""
    entry = {b'batch_label': b'testing batch', label_key: labels,
             b'data': images.reshape(len(images), 3072),
             b'filenames': [f'img_{i}.png'.encode() for i in range(len(images))]}
    if label_key == b'fine_labels':
        entry[b'coarse_labels'] = [label % 20 for label in labels]
    with open(path, 'wb') as f:
        pickle.dump(entry, f, protocol=2)


@pytest.fixture
def cifar10_root(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    batches = {}
    for i in range(1, 6):
        images, labels = make_images(3, seed=i), [(i + j) % 10 for j in range(3)]
        write_batch(folder / f'data_batch_{i}', images, b'labels', labels)
        batches[i] = (images, labels)
    write_batch(folder / 'test_batch', make_images(4, seed=9), b'labels', [9, 8, 7, 6])
    return tmp_path, batches


def test_cifar10_train(cifar10_root):
    root, batches = cifar10_root
    images, labels = load_cifar(root)
    assert images.shape == (15, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.shape == (15, ) and labels.dtype == torch.int64
    expected = np.concatenate([batches[i][0] for i in range(1, 6)])
    assert torch.equal(images, torch.from_numpy(expected))
    assert labels.tolist() == sum((batches[i][1] for i in range(1, 6)), [])
    # Channel-major rows: (c, y, x) is column c*1024 + y*32 + x of the raw row.
    assert images[4, 1, 5, 7].item() == 251  # data_batch_2, its image 1
    raw = expected.reshape(15, 3072)
    assert images[2, 2, 31, 0].item() == raw[2, 2 * 1024 + 31 * 32 + 0]


def test_cifar10_test_and_folder_itself(cifar10_root):
    root, _ = cifar10_root
    images, labels = load_cifar(root / 'cifar-10-batches-py', train=False)
    assert images.shape == (4, 3, 32, 32)
    assert labels.tolist() == [9, 8, 7, 6]
    assert torch.equal(images, load_cifar(str(root), train=False)[0])


def test_cifar100(tmp_path):
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    train = make_images(5, seed=1)
    write_batch(folder / 'train', train, b'fine_labels', [99, 0, 42, 17, 63])
    write_batch(folder / 'test', make_images(2, seed=2), b'fine_labels', [1, 2])
    images, labels = load_cifar(tmp_path, name='cifar100')
    assert torch.equal(images, torch.from_numpy(train))
    assert labels.dtype == torch.int64 and labels.tolist() == [99, 0, 42, 17, 63]
    assert images[3, 1, 5, 7].item() == 253
    images, labels = load_cifar(folder, name='cifar100', train=False)
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [1, 2]


def test_missing_files_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_cifar(tmp_path)
    message = str(info.value)
    assert str(tmp_path / 'cifar-10-batches-py') in message
    assert 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz' in message
    assert 'download=True' in message
    with pytest.raises(FileNotFoundError, match='cifar-100-python.tar.gz'):
        load_cifar(tmp_path, name='cifar100')


def test_unknown_name(tmp_path):
    with pytest.raises(ValueError, match='cifar10'):
        load_cifar(tmp_path, name='svhn')


def test_constants():
    assert CIFAR10_MEAN == (0.49139968, 0.48215827, 0.44653124)
    assert CIFAR100_STD == (0.2675, 0.2565, 0.2761)


def test_optional_dependencies_are_imported_lazily():
    """torchvision and scikit-learn are imported only inside functions, never at module level."""
    for path in Path(mmrnas.datasets.__file__).parent.glob('*.py'):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or '']
            else:
                continue
            assert not any(n.split('.')[0] in ('torchvision', 'sklearn') for n in names), path
