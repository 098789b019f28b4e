"""Seconds per training step of the CIFAR retraining config (C36 L20, batch 128, aux, drop path).

Usage: python benchmarks/retrain_step.py [--device cpu|cuda] [--steps 5] [--warmup 2]
       [--config configs/retrain/rnas_c36l20_1xb128-600e_cifar10.py] [--out benchmarks/results]

Builds the config's ImageClassifier (mmpretrain) and its optimizer wrapper (SGD, grad clip 5),
sets drop path to the schedule's mid value (0.15), and times ``train_step`` on random
CIFAR-shaped uint8 batches (the cost does not depend on pixel values). Writes one JSON file
named after the device into ``--out``.
"""
import argparse
import os.path as osp
import sys
import time

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from search_throughput import run_metadata, write_result  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--config', default=osp.join(
        ROOT, 'configs', 'retrain', 'rnas_c36l20_1xb128-600e_cifar10.py'))
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results'))
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device).train()
    model.backbone.drop_path_rate = 0.15
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = cfg.train_dataloader.batch_size

    from mmpretrain.structures import DataSample
    data = dict(
        inputs=list(torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8)),
        data_samples=[DataSample().set_gt_label(int(i)) for i in torch.randint(0, 10, (batch, ))])
    times = []
    for step in range(args.warmup + args.steps):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        losses = model.train_step(data, optim_wrapper)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
        print(f'step {step}: {time.perf_counter() - start:.3f}s, '
              f'{ {k: round(float(v), 4) for k, v in losses.items()} }', flush=True)
    per_step = sum(times) / len(times)
    result = dict(
        run_metadata(device, argv),
        settings=dict(config=osp.relpath(args.config, ROOT), batch=batch, base_channels=36,
                      num_cells=20, auxiliary=True, drop_path=0.15, precision='float32',
                      data='random uint8, mmpretrain data preprocessor on the device'),
        steps_measured=len(times),
        retrain_step_seconds=per_step,
        projected_600_epochs_hours=per_step * 391 * 600 / 3600)
    write_result(args.out, f'retrain_step_{device.type}.json', result)
    return 0


if __name__ == '__main__':
    sys.exit(main())
