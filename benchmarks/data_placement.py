"""Images per second of the search batches with the data on the device or in host memory.

Usage: python benchmarks/data_placement.py [--device cpu|cuda] [--epochs 3]
       [--cifar-images 10000] [--note TEXT] [--out benchmarks/results]

For each data set (the quickstart's digits at 8x8 with its augmentation and batch size;
synthetic CIFAR-sized uint8 images, 3x32x32, with the paper's augmentation at batch 256) and
each placement (``DeviceDataset`` / ``HostDataset`` serving batches on ``--device``), one
fresh process times ``--epochs`` epochs of ``batches()`` after a warm-up epoch and reports the
median images/s and its peak RSS (``resource.getrusage``). Writes
``data_placement_<device>.json`` into ``--out``.
"""
import argparse
import multiprocessing
import os.path as osp
import resource
import statistics
import sys

import torch

from mmrnas.datasets import BatchAugment, DeviceDataset, HostDataset, load_digits

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from search_throughput import run_metadata, timed, write_result  # noqa: E402

DATA = {
    'digits_8x8': dict(batch_size=128, augment=dict(crop_padding=1, flip=False, cutout=None)),
    'cifar_sized_32x32': dict(batch_size=256, augment=dict(crop_padding=4, flip=True, cutout=16)),
}
PLACEMENTS = {'device': DeviceDataset, 'host': HostDataset}


def load(name: str, cifar_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    if name == 'digits_8x8':
        return load_digits(size=8)
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (cifar_images, 3, 32, 32), dtype=torch.uint8,
                           generator=generator)
    return images, torch.randint(0, 10, (cifar_images, ), generator=generator)


def measure(name: str, placement: str, device: str, epochs: int, cifar_images: int) -> dict:
    """Median images/s over ``epochs`` epochs (after one warm-up) and the peak RSS."""
    device = torch.device(device)
    images, labels = load(name, cifar_images)
    dataset = PLACEMENTS[placement](images, labels, (0.5, ) * 3, (0.25, ) * 3, device)
    settings = DATA[name]
    augment = BatchAugment(**settings['augment'])
    generator = torch.Generator(device=device).manual_seed(0)

    def epoch() -> int:
        return sum(len(y) for _, y in dataset.batches(settings['batch_size'], generator,
                                                      augment=augment))

    epoch()
    rates = [count / seconds for count, seconds in (timed(device, epoch) for _ in range(epochs))]
    return dict(images=len(dataset), shape=list(images.shape[1:]),
                data_mib=dataset.nbytes / 2**20, batch_size=settings['batch_size'],
                augment=settings['augment'],
                images_per_second=statistics.median(rates),
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--cifar-images', type=int, default=10000)
    parser.add_argument('--note', default='', help='how the machine was shared, etc.')
    parser.add_argument('--out', default=osp.join(osp.dirname(osp.abspath(__file__)),
                                                  'results'))
    args = parser.parse_args(argv)
    results = {}
    context = multiprocessing.get_context('spawn')  # a fresh process: its own peak RSS
    for name in DATA:
        for placement in PLACEMENTS:
            with context.Pool(1) as pool:
                results[f'{name}/{placement}'] = pool.apply(
                    measure, (name, placement, args.device, args.epochs, args.cifar_images))
    device = torch.device(args.device)
    write_result(args.out, f'data_placement_{device.type}.json',
                 dict(run_metadata(device, argv), note=args.note, epochs=args.epochs,
                      results=results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
