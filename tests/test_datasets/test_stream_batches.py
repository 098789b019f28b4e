"""Search data read from the files for every batch (StreamBatches, SampleLoaders built by
MMEngine's Runner.build_dataloader): the same batches as the same images held in memory."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mmrnas.datasets import (
    BatchAugment,
    SampleLoaders,
    SampleReader,
    StreamBatches,
    TensorBatches,
    build_search_dataset,
    build_search_split,
    parse_search_dataloader,
    prepare_search_data,
    read_search_data,
    reuse_search_data,
    split_indices,
)
from tests.utils import load_tool

pytestmark = pytest.mark.usefixtures('one_thread')

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


@pytest.fixture(scope='module')
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('folder')
    load_tool('dataset_converters/generate_tiny_image_folder').main(
        [str(root), '--classes', '3', '--per-class', '7', '--val-per-class', '0', '--size', '16'])
    return root


def folder_config(root: Path) -> dict:
    return dict(type='CustomDataset', data_root=str(root), data_prefix='train',
                pipeline=PIPELINE)


def loaders_for(root: Path, **settings) -> SampleLoaders:
    reader = SampleReader(build_search_dataset(folder_config(root)))
    reader.probe()
    return SampleLoaders(reader, 'cpu', **settings)


def read_both(root: Path, workers: int):
    in_memory = read_search_data(folder_config(root), loaders_for(root))
    streamed = read_search_data(folder_config(root), loaders_for(root, num_workers=workers),
                                in_memory=False)
    return in_memory, streamed


@pytest.mark.parametrize('workers', [0, 2])
def test_one_pass_gives_the_same_data_either_way(folder, workers):
    in_memory, streamed = read_both(folder, workers)
    assert type(in_memory.dataset) is TensorBatches and type(streamed.dataset) is StreamBatches
    assert (streamed.sha1, streamed.num_classes, streamed.shape) == (
        in_memory.sha1, 3, (3, 16, 16))
    assert torch.equal(streamed.dataset.labels, in_memory.dataset.labels)
    assert streamed.dataset.labels.tolist() == [0] * 7 + [1] * 7 + [2] * 7
    assert streamed.dataset.mean == in_memory.dataset.mean
    assert streamed.dataset.std == in_memory.dataset.std
    assert streamed.nbytes == in_memory.dataset.nbytes == 21 * (3 * 16 * 16 + 8)
    # mean / std computed exactly: equal to float64 statistics of the images
    pixels = in_memory.dataset.images.permute(1, 0, 2, 3).reshape(3, -1).double() / 255
    np.testing.assert_allclose(in_memory.dataset.mean, pixels.mean(1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(in_memory.dataset.std, pixels.std(1, unbiased=False).numpy(),
                               rtol=1e-12)


def batches_of(dataset, generator, **kwargs):
    return [(x.clone(), y.clone()) for x, y in dataset.batches(
        4, generator, augment=BatchAugment(crop_padding=2, flip=True, cutout=4), **kwargs)]


def assert_same_batches(first, second):
    assert len(first) == len(second)
    for (x1, y1), (x2, y2) in zip(first, second):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


@pytest.mark.parametrize('workers', [0, 2])
def test_stream_batches_equal_memory_batches(folder, workers):
    """Two epochs of each split half, augmented, and a resumed epoch: bit for bit."""
    in_memory, streamed = read_both(folder, workers)
    train, val = split_indices(21, 0.5, 0)
    memory_halves = build_search_split(in_memory.dataset, train, val, 'cpu', 'device')
    stream_halves = build_search_split(streamed.dataset, train, val, 'cpu', 'stream')
    assert [type(half) for half in stream_halves] == [StreamBatches, StreamBatches]
    assert [len(half) for half in stream_halves] == [len(train), len(val)]
    for memory_half, stream_half in zip(memory_halves, stream_halves):
        memory_generator = torch.Generator().manual_seed(3)
        stream_generator = torch.Generator().manual_seed(3)
        for _ in range(2):
            assert_same_batches(batches_of(memory_half, memory_generator),
                                batches_of(stream_half, stream_generator))
        order = stream_half.epoch_order(stream_generator)
        memory_generator.set_state(stream_generator.get_state())
        assert_same_batches(batches_of(memory_half, memory_generator, order=order,
                                       start_batch=1),
                            batches_of(stream_half, stream_generator, order=order,
                                       start_batch=1))
    # Batches land on the stream's device.
    inputs, labels = next(iter(stream_halves[0].batches(4, shuffle=False)))
    assert inputs.device == stream_halves[0].device and labels.device == inputs.device


def test_interleaved_epochs_read_through_their_own_loaders(folder):
    """Two epochs at once (the members of a concurrent pair) each get a DataLoader of their
    own; the loaders are kept and lent again (persistent workers)."""
    streamed = read_search_data(folder_config(folder), loaders_for(folder, num_workers=1),
                                in_memory=False).dataset
    first = streamed.batches(5, shuffle=False)
    second = streamed.batches(5, torch.Generator().manual_seed(0))
    order = streamed.epoch_order(torch.Generator().manual_seed(0))
    interleaved = [(next(first)[1], next(second)[1]) for _ in range(3)]
    assert [a.tolist() for a, _ in interleaved] == [
        streamed.labels[lo:lo + 5].tolist() for lo in (0, 5, 10)]
    assert [b.tolist() for _, b in interleaved] == [
        streamed.labels[order[lo:lo + 5]].tolist() for lo in (0, 5, 10)]
    list(first), list(second)
    loaders = streamed.loaders._idle
    assert len(loaders) == 2 and all(loader.persistent_workers for loader, _ in loaders)
    list(streamed.batches(5, shuffle=False))
    assert len(streamed.loaders._idle) == 2  # lent again, not built anew


def test_a_bad_image_read_by_a_worker_is_one_line(folder, tmp_path):
    root = tmp_path / 'broken'
    shutil.copytree(folder, root)
    (root / 'train' / '2' / '0004.png').write_bytes(b'not a png')
    with pytest.raises(ValueError) as info:
        read_search_data(folder_config(root), loaders_for(root, num_workers=2), in_memory=False)
    assert str(info.value) == (
        f"train_dataloader.dataset: cannot read '{root}/train/2/0004.png': AssertionError: "
        f"failed to load image: {root}/train/2/0004.png; fix or remove the file")


def test_loader_settings_follow_the_device(folder):
    """Pinned host memory on CUDA only (decided without touching a GPU); worker settings
    reach the DataLoader MMEngine builds."""
    reader = loaders_for(folder).reader
    assert SampleLoaders(reader, 'cpu').settings['pin_memory'] is False
    assert SampleLoaders(reader, 'cuda').settings['pin_memory'] is True
    assert SampleLoaders(reader, 'cuda', pin_memory=False).settings['pin_memory'] is False
    config = SampleLoaders(reader, 'cuda', num_workers=3, prefetch_factor=4).loader_config(None)
    assert {k: config[k] for k in ('num_workers', 'pin_memory', 'persistent_workers',
                                   'prefetch_factor')} == dict(
        num_workers=3, pin_memory=True, persistent_workers=True, prefetch_factor=4)
    assert 'persistent_workers' not in SampleLoaders(reader, 'cpu').loader_config(None)
    assert not SampleLoaders(reader, 'cpu', num_workers=2).loader_config(
        None, persistent=False)['persistent_workers']


def test_reuse_search_data_reads_a_config_once(folder):
    data = parse_search_dataloader(dict(dataset=folder_config(folder)))
    device = torch.device('cpu')
    assert prepare_search_data(data, device)[0] is not prepare_search_data(data, device)[0]
    with reuse_search_data():
        first = prepare_search_data(data, device)
        with reuse_search_data():
            assert prepare_search_data(data, device) is first
        assert prepare_search_data(data, device) is first
        other = prepare_search_data(dict(data, data_placement='stream'), device)
        assert other[1] == 'stream' and other[0].sha1 == first[0].sha1
    assert prepare_search_data(data, device)[0] is not first[0]
