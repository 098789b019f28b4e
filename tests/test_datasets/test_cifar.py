"""The search's CIFAR data: mmpretrain's CIFAR10 / CIFAR100 on tiny batches written in the real
python-pickle format, decoded once by load_search_dataset in file order (what the reference's
torchvision dataset reads)."""
import pickle

import numpy as np
import pytest
import torch

from mmrnas.datasets import load_search_dataset

PACK = [dict(type='PackInputs')]


def make_images(n: int, seed: int) -> np.ndarray:
    """N×3×32×32 uint8 images with one marked pixel per image at (c, y, x) = (1, 5, 7)."""
    images = np.random.default_rng(seed).integers(0, 200, (n, 3, 32, 32), dtype=np.uint8)
    images[:, 1, 5, 7] = 250 + np.arange(n) % 6
    return images


def write_batch(path, images: np.ndarray, label_key: str, labels: list) -> None:
    """Write a batch like the CIFAR release (pickled by Python 2: its keys read back as
    ``str`` with mmpretrain's ``encoding='latin1'``): N×3072 uint8 rows, list labels."""
    entry = {'batch_label': 'testing batch', label_key: labels,
             'data': images.reshape(len(images), 3072),
             'filenames': [f'img_{i}.png' for i in range(len(images))]}
    if label_key == 'fine_labels':
        entry['coarse_labels'] = [label % 20 for label in labels]
    with open(path, 'wb') as f:
        pickle.dump(entry, f, protocol=2)


def trust_generated_batches(monkeypatch) -> None:
    """mmpretrain checks the MD5 sums of the real release, which generated batches cannot
    match: skip that check."""
    from mmpretrain.datasets import CIFAR10
    monkeypatch.setattr(CIFAR10, '_check_integrity', lambda self: True)


@pytest.fixture
def cifar10_root(tmp_path, monkeypatch):
    trust_generated_batches(monkeypatch)
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    batches = {}
    for i in range(1, 6):
        images, labels = make_images(3, seed=i), [(3 * i + j) % 10 for j in range(3)]
        write_batch(folder / f'data_batch_{i}', images, 'labels', labels)
        batches[i] = (images, labels)
    return tmp_path, batches


def test_cifar10_train_in_file_order(cifar10_root):
    root, batches = cifar10_root
    dataset, num_classes = load_search_dataset(
        dict(type='CIFAR10', data_root=str(root), download=False, pipeline=PACK))
    assert num_classes == 10
    images, labels = dataset.images, dataset.labels
    assert images.shape == (15, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.shape == (15, ) and labels.dtype == torch.int64
    expected = np.concatenate([batches[i][0] for i in range(1, 6)])
    assert torch.equal(images, torch.from_numpy(expected))
    assert labels.tolist() == sum((batches[i][1] for i in range(1, 6)), [])
    # Channel-major rows: (c, y, x) is column c*1024 + y*32 + x of the raw row.
    assert images[4, 1, 5, 7].item() == 251  # data_batch_2, its image 1
    raw = expected.reshape(15, 3072)
    assert images[2, 2, 31, 0].item() == raw[2, 2 * 1024 + 31 * 32 + 0]


def test_cifar100_fine_labels(tmp_path, monkeypatch):
    trust_generated_batches(monkeypatch)
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    train = make_images(100, seed=1)
    labels = np.random.default_rng(0).permutation(100).tolist()  # every class once
    write_batch(folder / 'train', train, 'fine_labels', labels)
    dataset, num_classes = load_search_dataset(
        dict(type='CIFAR100', data_root=str(tmp_path), download=False, pipeline=PACK))
    assert num_classes == 100
    assert torch.equal(dataset.images, torch.from_numpy(train))
    assert dataset.labels.tolist() == labels


def test_classes_without_images(cifar10_root, tmp_path):
    """Batches that leave out a class (here: 9, 'truck') are refused, naming it."""
    root, _ = cifar10_root
    write_batch(root / 'cifar-10-batches-py' / 'data_batch_3', make_images(3, seed=3), 'labels',
                [0, 1, 2])
    with pytest.raises(ValueError, match=r"1 of 10 classes have no images \('truck'\)"):
        load_search_dataset(dict(type='CIFAR10', data_root=str(root), download=False,
                                 pipeline=PACK))


def test_missing_files_message(tmp_path):
    with pytest.raises(ValueError) as info:
        load_search_dataset(dict(type='CIFAR10', data_root=str(tmp_path), download=False,
                                 pipeline=PACK))
    message = str(info.value)
    assert message.startswith("train_dataloader.dataset (type='CIFAR10') could not be built: ")
    assert f'Cannot find CIFAR10 dataset in {tmp_path}' in message
