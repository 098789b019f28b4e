"""Seconds per candidate of the RelativeNAS search at paper fidelity.

Usage: python benchmarks/search_throughput.py [--device cpu|cuda] [--candidates 3]
       [--num-images 50000] [--precision fp32|bf16] [--channels-last] [--cuda-graph]
       [--concurrent-pairs]
       [--out benchmarks/results]

A candidate is: cut it out of the C=16 L=8 weight set, train one epoch on 25k images at
batch 256 (SGD, grad clip 5, drop path, crop/flip/cutout on the device), validate on 25k
images, write back (with ``--concurrent-pairs``: two candidates at a time, as a search
pair). CIFAR-shaped images are synthetic (random uint8): the cost does not depend on pixel
values, and the benchmark runs where CIFAR-10 is not downloaded. Writes one JSON file named
after the device into ``--out``.
"""
import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time

import numpy as np
import torch

from mmrnas.datasets import BatchAugment, TensorBatches, split_indices
from mmrnas.datasets.search_data import build_search_split
from mmrnas.engine.estimators import CandidateTrainer
from mmrnas.models import RelativeNASSupernet
from mmrnas.search import Population
from mmrnas.search.weight_set import pair_write_back
from mmrnas.utils.fileio import atomic_write

# The search's speed options (RelativeNASSearchLoop train_cfg / CandidateTrainer arguments) that
# the benchmarks compare, most informative first ('baseline' is "before").
SPEED_VARIANTS = {
    'baseline': dict(),
    'cuda_graph': dict(cuda_graph=True),
    'cuda_graph_concurrent_pairs': dict(cuda_graph=True, concurrent_pairs=True),
    'cuda_graph_bf16_channels_last': dict(cuda_graph=True, precision='bf16', channels_last=True),
    'cuda_graph_bf16_channels_last_concurrent_pairs': dict(
        cuda_graph=True, precision='bf16', channels_last=True, concurrent_pairs=True),
    'bf16': dict(precision='bf16'),
    'channels_last': dict(channels_last=True),
    'bf16_channels_last': dict(precision='bf16', channels_last=True),
    'concurrent_pairs': dict(concurrent_pairs=True),
}


def device_name(device: torch.device) -> str:
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    with open('/proc/cpuinfo') as f:
        models = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
    return f'{models[0] if models else platform.processor()} ({os.cpu_count()} cores)'


def commit() -> str:
    """The commit measured: ``MMRNAS_COMMIT`` when set (a copy without ``.git``), else git's."""
    if os.environ.get('MMRNAS_COMMIT'):
        return os.environ['MMRNAS_COMMIT']
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True,
                              text=True, check=True,
                              cwd=osp.dirname(osp.abspath(__file__))).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def run_metadata(device: torch.device, argv) -> dict:
    """Where and how a benchmark ran: device as torch reports it, commit, torch, Python,
    threads, command line."""
    return dict(
        device=device_name(device),
        device_type=device.type,
        commit=commit(),
        torch=torch.__version__,
        python=platform.python_version(),
        threads=torch.get_num_threads(),
        command=' '.join([osp.relpath(sys.argv[0])] + (argv or sys.argv[1:])))


def write_result(out_dir: str, name: str, result: dict) -> None:
    """Write ``result`` atomically to ``out_dir/name`` as JSON and print it."""
    os.makedirs(out_dir, exist_ok=True)
    atomic_write(osp.join(out_dir, name), json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))


def timed(device: torch.device, fn, *args):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn(*args)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start


def measure(device: torch.device, candidates: int = 3, num_images: int = 50000,
            batch_size: int = 256, **speed) -> dict:
    """Time ``candidates`` candidates phase by phase; ``speed`` holds CandidateTrainer's
    ``precision`` / ``channels_last`` / ``cuda_graph`` / ``concurrent_pairs``. With
    ``concurrent_pairs`` candidates go two by two (a pair: cut out, trained and validated
    together, written back) and the count is rounded up to even; otherwise one by one with
    training and validation timed apart. The genotypes depend only on the count, so variants
    time the same candidates."""
    torch.manual_seed(0)
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    images = torch.randint(0, 256, (num_images, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (num_images, ))
    dataset = TensorBatches(images, labels, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26))
    train_idx, val_idx = split_indices(num_images, 0.5, 0)
    augment = BatchAugment(crop_padding=4, flip=True, cutout=16)
    trainer = CandidateTrainer(
        *build_search_split(dataset, train_idx, val_idx, device), generator=generator,
        batch_size=batch_size, val_batch_size=batch_size, train_augment=augment,
        val_augment=augment, **speed)
    supernet = RelativeNASSupernet(base_channels=16, num_cells=8, num_classes=10).to(device)
    group = 2 if trainer.concurrent_pairs else 1
    count = candidates + (-candidates) % group
    genotypes = Population.random(max(2, count + count % 2),
                                  np.random.default_rng(0)).genotypes()

    phases = {'extract': [], 'write_back': []}
    phases.update({'train_and_validate': []} if group == 2 else {'train': [], 'validate': []})
    losses = []
    for start in range(0, count, group):
        members, seconds = timed(device, lambda g: [supernet.extract(x, 0.15) for x in g],
                                 genotypes[start:start + group])
        phases['extract'].append(seconds)
        if group == 2:
            results, seconds = timed(device, trainer.estimate_many, members, 0.05)
            phases['train_and_validate'].append(seconds)
            losses += [(r.train_loss, r.val_loss) for r in results]
            states = [r.state for r in results]
        else:
            loss, seconds = timed(device, trainer.train_epoch, members[0], 0.05)
            phases['train'].append(seconds)
            (val_loss, _), seconds = timed(device, trainer.evaluate, members[0])
            phases['validate'].append(seconds)
            losses.append((loss, val_loss))
            states = [members[0].state_dict(), None]
        _, seconds = timed(device, supernet.write_back, pair_write_back(*states))
        phases['write_back'].append(seconds)
        print({k: round(v[-1], 3) for k, v in phases.items()}, flush=True)

    # the first group includes warm-up (allocator, kernels); report the rest when possible
    measured = {k: v[1:] if len(v) > 1 else v for k, v in phases.items()}
    per_phase = {k: float(np.mean(v)) / group for k, v in measured.items()}
    per_candidate = sum(per_phase.values())
    options = {
        **dict(precision='fp32', channels_last=False, cuda_graph=False, concurrent_pairs=False),
        **speed
    }
    return dict(
        settings=dict(base_channels=16, num_cells=8, batch_size=batch_size,
                      train_images=len(train_idx), val_images=len(val_idx),
                      augmentation='crop4+flip+cutout16 on device',
                      validate_with_train_augment=True, drop_path=0.15, **options),
        candidates_measured=len(measured['extract']) * group,
        seconds_per_phase=per_phase,
        losses=[list(pair) for pair in losses],
        search_seconds_per_candidate=per_candidate,
        projected_protocol_hours=per_candidate * (50 * 20 + 20) / 3600)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--candidates', type=int, default=3)
    parser.add_argument('--num-images', type=int, default=50000)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--cuda-graph', action='store_true')
    parser.add_argument('--concurrent-pairs', action='store_true')
    parser.add_argument('--out', default=osp.join(osp.dirname(osp.abspath(__file__)),
                                                  'results'))
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    result = measure(device, args.candidates, args.num_images, args.batch_size,
                     precision=args.precision, channels_last=args.channels_last,
                     cuda_graph=args.cuda_graph, concurrent_pairs=args.concurrent_pairs)
    write_result(args.out, f'search_throughput_{device.type}.json',
                 dict(run_metadata(device, argv), **result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
