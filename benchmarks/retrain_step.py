"""Seconds per training step of the CIFAR retraining config (C36 L20, batch 128, aux, drop path).

Usage: python benchmarks/retrain_step.py [--device cpu|cuda] [--steps 5] [--warmup 2]
       [--config configs/retrain/rnas_c36l20_1xb128-600e_cifar10.py] [--precision fp32|bf16]
       [--channels-last] [--compile [MODE]] [--out benchmarks/results]

Builds the config's ImageClassifier (mmpretrain) and its optimizer wrapper (SGD, grad clip 5),
sets drop path to the schedule's mid value (0.15), and times ``train_step`` on random
CIFAR-shaped uint8 batches (the cost does not depend on pixel values). Speed options, each what
a user sets in a config: ``--precision bf16`` = ``optim_wrapper.type='AmpOptimWrapper'`` with
``dtype='bfloat16'`` (CUDA only), ``--channels-last`` = the model in channels-last memory format,
``--compile`` = the Runner's ``compile=True`` (``torch.compile`` of ``train_step``; the warm-up
steps include the compilation, reported apart), ``--compile reduce-overhead`` (or another
``torch.compile`` mode) = ``compile=dict(mode='reduce-overhead')``: compiled graphs replayed
from CUDA graphs. Writes one JSON file named after the device into
``--out``.
"""
import argparse
import os.path as osp
import sys
import time
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from search_throughput import run_metadata, write_result  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def measure(device: torch.device, config: str, steps: int = 5, warmup: int = 2,
            precision: str = 'fp32', channels_last: bool = False,
            compile: Union[bool, str] = False, batch: Optional[int] = None) -> dict:
    """Seconds per ``train_step`` of ``config``'s classifier with the given speed options;
    ``compile`` is False, True (``torch.compile``'s default mode) or a mode name; ``batch``
    overrides the config's batch size (small checks of this script)."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device).train()
    model.backbone.drop_path_rate = 0.15
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optim_cfg = cfg.optim_wrapper
    if precision == 'bf16':
        optim_cfg = dict(optim_cfg, type='AmpOptimWrapper', dtype='bfloat16')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    if compile:
        mode = {} if compile is True or compile == 'default' else dict(mode=compile)
        train_step = torch.compile(model.train_step, **mode)
    else:
        train_step = model.train_step
    batch = batch or cfg.train_dataloader.batch_size

    from mmpretrain.structures import DataSample
    generator = torch.Generator().manual_seed(0)
    data = dict(
        inputs=list(torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8,
                                  generator=generator)),
        data_samples=[
            DataSample().set_gt_label(int(i))
            for i in torch.randint(0, 10, (batch, ), generator=generator)
        ])
    times, warmup_times, losses = [], [], []
    for step in range(warmup + steps):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        step_losses = train_step(data, optim_wrapper)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        (times if step >= warmup else warmup_times).append(seconds)
        losses.append(sum(float(v.detach()) for k, v in step_losses.items() if "loss" in k))
        print(f'step {step}: {seconds:.3f}s, '
              f'{ {k: round(float(v.detach()), 4) for k, v in step_losses.items()} }', flush=True)
    per_step = sum(times) / len(times)
    return dict(
        settings=dict(config=osp.relpath(config, ROOT), batch=batch, base_channels=36,
                      num_cells=20, auxiliary=True, drop_path=0.15, precision=precision,
                      channels_last=channels_last, compile=compile,
                      data='random uint8, mmpretrain data preprocessor on the device'),
        steps_measured=len(times),
        warmup_seconds=warmup_times,
        losses=losses,
        retrain_step_seconds=per_step,
        projected_600_epochs_hours=per_step * 391 * 600 / 3600)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--config', default=osp.join(
        ROOT, 'configs', 'retrain', 'rnas_c36l20_1xb128-600e_cifar10.py'))
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compile', nargs='?', const=True, default=False,
                        help='torch.compile train_step; optional mode, e.g. reduce-overhead')
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results'))
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    result = measure(device, args.config, args.steps, args.warmup, args.precision,
                     args.channels_last, args.compile)
    write_result(args.out, f'retrain_step_{device.type}.json',
                 dict(run_metadata(device, argv), **result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
