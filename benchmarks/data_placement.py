"""Images per second of the search batches with the data on the device, in host memory, or
read from the files for every batch (in the main process or by DataLoader workers).

Usage: python benchmarks/data_placement.py [--device cpu|cuda] [--epochs 3]
       [--folder-images 20000] [--folder-size 64] [--note TEXT] [--out benchmarks/results]

Two data sets go through the search's own data path (``prepare_search_data`` with the
placement forced, then ``build_search_split`` serving every image on ``--device``):

- ``digits_8x8``: the quickstart's data (scikit-learn digits held in memory by
  ``mmrnas.DigitsDataset``, pipeline ``PackInputs``), batch 128, its augmentation;
- ``folder_png``: an image folder of ``--folder-images`` random RGB PNG files of
  ``--folder-size`` pixels a side in 10 class folders (mmpretrain ``CustomDataset``,
  ``LoadImageFromFile`` + ``PackInputs``), batch 256, the paper's crop / flip / cutout; large
  enough that holding it in memory shows in the peak RSS.

For each (data set, placement) one fresh process reads the data (the one pass: ``read_s``),
runs a warm-up epoch, times ``--epochs`` epochs of ``batches()`` and reports the median
images/s, the peak RSS of the process (``resource.getrusage``) and of each DataLoader worker
(``VmHWM``, pages shared with the main process included). Writes
``data_placement_<device>.json`` into ``--out``.
"""
import argparse
import multiprocessing
import os
import os.path as osp
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from mmrnas.datasets import (
    BatchAugment,
    build_search_split,
    parse_search_dataloader,
    prepare_search_data,
)

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from search_throughput import run_metadata, timed, write_result  # noqa: E402

DATA = {
    'digits_8x8': dict(batch_size=128, augment=dict(crop_padding=1, flip=False, cutout=None)),
    'folder_png': dict(batch_size=256, augment=dict(crop_padding=4, flip=True, cutout=16)),
}
#: name -> (data_placement, num_workers)
PLACEMENTS = {'device': ('device', 0), 'host': ('host', 0), 'stream': ('stream', 0),
              'stream_2_workers': ('stream', 2)}
CLASSES = 10


def write_png_folder(root: str, images: int, size: int = 32) -> str:
    """``images`` random ``size`` x ``size`` RGB PNG files in ``root/train/<class>/``
    (the same files for the same arguments); return ``root``."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for index in range(images):
        folder = osp.join(root, 'train', str(index % CLASSES))
        os.makedirs(folder, exist_ok=True)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(osp.join(folder, f'{index:05d}.png'))
    return root


def dataset_config(name: str, folder: str) -> dict:
    if name == 'digits_8x8':
        return dict(type='mmrnas.DigitsDataset', split='all', size=8,
                    pipeline=[dict(type='PackInputs')])
    return dict(type='CustomDataset', data_root=folder, data_prefix='train',
                pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])


def worker_peak_rss_mib(dataset) -> list:
    """Peak RSS (``VmHWM``, pages shared with the main process included) of each live
    DataLoader worker of a stream; empty for data in memory."""
    peaks = []
    for loader, _ in getattr(getattr(dataset, 'loaders', None), '_idle', []):
        for worker in getattr(loader._iterator, '_workers', []):
            with open(f'/proc/{worker.pid}/status') as status:
                peaks += [int(line.split()[1]) / 1024 for line in status
                          if line.startswith('VmHWM:')]
    return peaks


def measure(name: str, placement: str, device: str, epochs: int, folder: str,
            start_method: str = 'fork') -> dict:
    """Read time, median images/s over ``epochs`` epochs (after one warm-up) and peak RSS.

    ``start_method`` starts the DataLoader workers as in a search run (this process is a
    spawned one)."""
    multiprocessing.set_start_method(start_method, force=True)
    device = torch.device(device)
    data_placement, workers = PLACEMENTS[placement]
    settings = DATA[name]
    data = parse_search_dataloader(dict(
        dataset=dataset_config(name, folder), mean=(0.5, ) * 3, std=(0.25, ) * 3,
        data_placement=data_placement, num_workers=workers,
        device_memory_budget='1TiB', host_memory_budget='1TiB'))
    start = time.perf_counter()
    search_data, chosen, _ = prepare_search_data(data, device)
    read_seconds = time.perf_counter() - start
    everything = np.arange(len(search_data.dataset))
    dataset, _ = build_search_split(search_data.dataset, everything, everything[:0], device,
                                    chosen)
    augment = BatchAugment(**settings['augment'])
    generator = torch.Generator(device=device).manual_seed(0)

    def epoch() -> int:
        return sum(len(y) for _, y in dataset.batches(settings['batch_size'], generator,
                                                      augment=augment))

    epoch()
    rates = [count / seconds for count, seconds in (timed(device, epoch) for _ in range(epochs))]
    return dict(placement=chosen, num_workers=workers, images=len(dataset),
                shape=list(search_data.shape), data_mib=search_data.nbytes / 2**20,
                batch_size=settings['batch_size'], augment=settings['augment'],
                read_s=read_seconds, images_per_second=statistics.median(rates),
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                peak_rss_workers_mib=worker_peak_rss_mib(dataset))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--folder-images', type=int, default=20000)
    parser.add_argument('--folder-size', type=int, default=64)
    parser.add_argument('--note', default='', help='how the machine was shared, etc.')
    parser.add_argument('--out', default=osp.join(osp.dirname(osp.abspath(__file__)),
                                                  'results'))
    args = parser.parse_args(argv)
    results = {}
    # A fresh process per measurement (its own peak RSS), not a daemon: it starts workers,
    # the way this process would start them.
    context, start_method = multiprocessing.get_context('spawn'), multiprocessing.get_start_method()
    with tempfile.TemporaryDirectory() as folder:
        write_png_folder(folder, args.folder_images, args.folder_size)
        for name in DATA:
            for placement in PLACEMENTS:
                with ProcessPoolExecutor(1, mp_context=context) as pool:
                    results[f'{name}/{placement}'] = pool.submit(
                        measure, name, placement, args.device, args.epochs, folder,
                        start_method).result()
    device = torch.device(args.device)
    write_result(args.out, f'data_placement_{device.type}.json',
                 dict(run_metadata(device, argv), note=args.note, epochs=args.epochs,
                      folder_images=args.folder_images, folder_size=args.folder_size,
                      results=results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
