"""The one-shot GPU check of the search and retraining speed (before/after, one JSON file).

Usage (normally through ``benchmarks/gpu_check.sh`` on a GPU machine):
    python benchmarks/gpu_check.py --out DIR [--smoke] [--stages search retrain ...]

Stages, most important first; after each variant the whole result is written again
(atomically) to ``DIR/gpu_check_<device>.json``, so a run cut short still reports what it did:

- ``search``: seconds per paper-fidelity candidate (C=16 L=8 weight set, 25k + 25k images,
  batch 256, crop/flip/cutout on the device, drop path 0.15) for the baseline (fp32, default
  layout, eager; "before") and each speed option of ``RelativeNASSearchLoop`` and their
  combinations (``search_throughput.SPEED_VARIANTS``);
- ``retrain``: seconds per training step of the CIFAR-10 retraining config (C36 L20, batch 128,
  auxiliary, drop path) for fp32 ("before"), channels-last, bf16 AMP and both;
- ``cuda_tests``: the test-suite's CUDA-only tests (graph replay = eager steps, a pair on two
  streams = each member alone, on-device data without host synchronisation, a search killed
  after a generation and resumed on the GPU = the uninterrupted one) with pytest;
- ``mmcv_ops``: ``mmcv.ops.nms`` on the device's tensors and the CUDA version mmcv's ops were
  compiled with (a CPU-only mmcv build fails on CUDA tensors);
- ``gradient_accuracy``: one training step's gradients of a C16 L8 candidate on a batch of real
  digits (32x32) per variant against float64 on the same device (relative L2 error per
  parameter: max and median; float32 should stay near 1e-5, bf16 near 1e-2);
- ``graph_equivalence``: the same candidate trained eagerly twice and from a CUDA graph (drop
  path off): loss and weight differences of graph vs eager next to eager vs eager;
- ``profile``: ``torch.profiler`` of one baseline candidate epoch and of one CUDA-graph
  concurrent pair: kernel count, GPU busy time against wall time, the top kernels
  (``DIR/profile_search*.txt``);
- ``decisions``: the quickstart search per variant (``search_decisions.py``): pair winners
  compared with the baseline and a baseline repeat;
- ``compile``: the retraining step (bf16, channels-last) under ``torch.compile``: the Runner's
  ``compile=True``, then ``compile=dict(mode='reduce-overhead')`` (compiled graphs replayed
  from CUDA graphs); last because compiling takes minutes;
- ``data_placement``: ``data_placement.py``'s measurements on the device: images/s of the
  search batches held on the GPU, in host memory (a pinned host gather and copy per batch) and
  streamed from a folder of PNG files (0 and 2 workers), and each one pass at the start (the
  RSS fields are this whole process's, not the measurement's).

``--smoke`` runs every stage small on whatever device there is (CPU: GPU-only variants are
recorded as skipped) to check the script before spending GPU time.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time
import traceback
from typing import Callable, Dict

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import data_placement  # noqa: E402
import retrain_step  # noqa: E402
import search_decisions  # noqa: E402
import search_throughput  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RETRAIN_CONFIG = osp.join(ROOT, 'configs', 'retrain', 'rnas_c36l20_1xb128-600e_cifar10.py')
TARGETS = dict(search_seconds_per_candidate=1.2, retrain_step_seconds=0.040)

SEARCH_VARIANTS = search_throughput.SPEED_VARIANTS
RETRAIN_VARIANTS = {
    'baseline': dict(),
    'channels_last': dict(channels_last=True),
    'bf16': dict(precision='bf16'),
    'bf16_channels_last': dict(precision='bf16', channels_last=True),
}
GPU_ONLY = {'bf16', 'cuda_graph'}  # AmpOptimWrapper and CUDA graphs need CUDA
STAGES = ('search', 'retrain', 'cuda_tests', 'mmcv_ops', 'gradient_accuracy',
          'graph_equivalence', 'profile', 'decisions', 'compile', 'data_placement')


class Report:
    """The result file: rewritten atomically after every variant."""

    def __init__(self, out_dir: str, device: torch.device, argv) -> None:
        self.out_dir = out_dir
        os.makedirs(out_dir, exist_ok=True)
        self.name = f'gpu_check_{device.type}.json'
        self.data = dict(search_throughput.run_metadata(device, argv),
                         cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                         targets=TARGETS)

    def record(self, stage: str, variant: str, fn: Callable[[], dict]) -> dict:
        """Run one variant; store its result, or its error, under ``stage``."""
        start = time.perf_counter()
        try:
            result = fn()
        except Exception as error:  # one failed variant must not lose the others
            result = dict(error=f'{type(error).__name__}: {error}',
                          traceback=traceback.format_exc()[-3000:])
        result['wall_seconds'] = time.perf_counter() - start
        self.data.setdefault(stage, {})[variant] = result
        self.summarise()
        print(f'[{stage}] {variant}: ' + json.dumps(
            {k: v for k, v in result.items() if k not in ('traceback', 'losses')})[:600],
              flush=True)
        return result

    def summarise(self) -> None:
        """Before (baseline) and after (fastest variant) for both targets."""
        for stage, key in (('search', 'search_seconds_per_candidate'),
                           ('retrain', 'retrain_step_seconds')):
            runs = {k: v[key] for k, v in self.data.get(stage, {}).items() if key in v}
            if 'baseline' not in runs:
                continue
            best = min(runs, key=runs.get)
            self.data[key] = dict(before=runs['baseline'], after=runs[best], after_variant=best,
                                  target=TARGETS[key], met=runs[best] <= TARGETS[key])
        search_throughput.write_result(self.out_dir, self.name, self.data)


def usable(variant: Dict, device: torch.device) -> bool:
    gpu_only = variant.get('cuda_graph') or variant.get('precision') == 'bf16'
    return device.type == 'cuda' or not gpu_only


def cuda_tests() -> dict:
    """pytest on the test files that hold CUDA-only tests, in one process.

    The GPU machine's image has pytest but not pytest-xdist, so pytest.ini's ``addopts``
    (``-n auto ...``, which needs xdist) are replaced: ``-p no:xdist`` or ``-n 0`` alone would
    still fail on ``-n auto``; with ``-o addopts=...`` it runs the same with or without xdist.
    """
    import subprocess
    files = ['tests/test_engine/test_estimators/test_cuda_graph.py',
             'tests/test_engine/test_estimators/test_concurrent.py',
             'tests/test_datasets/test_tensor_batches.py',
             'tests/test_engine/test_search_loop.py::test_cuda_resume_after_kill_is_exact']
    done = subprocess.run([sys.executable, '-m', 'pytest', '-o', 'addopts=--strict-markers',
                           '-q', '-rs', '-p', 'no:cacheprovider', *files],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    return dict(returncode=done.returncode, output=done.stdout[-3000:] + done.stderr[-1000:])


def mmcv_ops(device: torch.device) -> dict:
    """``mmcv.ops.nms`` on the device: a CPU-only mmcv build fails here on CUDA tensors
    (detection's first validation would)."""
    from mmcv.ops import get_compiling_cuda_version, nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=torch.float32,
                         device=device)
    scores = torch.tensor([0.9, 0.8, 0.7], device=device)
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    return dict(compiled_with_cuda=get_compiling_cuda_version(), keep=keep.tolist(),
                correct=keep.tolist() == [0, 2])


def gradient_accuracy(device: torch.device) -> dict:
    """Relative gradient errors of each layout/precision against float64."""
    import torch.nn.functional as F

    from mmrnas.datasets import load_search_dataset
    from mmrnas.models import RelativeNASSupernet
    from mmrnas.search import Population

    dataset, _ = load_search_dataset(
        dict(type='mmrnas.DigitsDataset', split='all', size=32, pipeline=[dict(type='PackInputs')]))
    batch = dataset.subset(range(256))
    inputs = next(batch.batches(256, shuffle=False))[0].to(device)
    labels = batch.labels.to(device)
    torch.manual_seed(0)
    supernet = RelativeNASSupernet(base_channels=16, num_cells=8, num_classes=10).to(device)
    genotype = Population.random(2, np.random.default_rng(0)).genotypes()[0]

    def gradients(dtype, channels_last=False, autocast=False):
        candidate = supernet.extract(genotype).to(dtype=dtype).train()
        x = inputs.to(dtype)
        if channels_last:
            candidate.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = candidate(x)
        F.cross_entropy(logits.to(dtype), labels).backward()
        return {n: p.grad.double() for n, p in candidate.named_parameters() if p.grad is not None}

    reference = gradients(torch.float64)
    result = {}
    for name, options in (('fp32', {}), ('fp32_channels_last', dict(channels_last=True)),
                          ('bf16', dict(autocast=True)),
                          ('bf16_channels_last', dict(autocast=True, channels_last=True))):
        if options.get('autocast') and device.type != 'cuda':
            continue
        grads = gradients(torch.float32, **options)
        errors = {n: float((grads[n] - g).norm() / g.norm().clamp_min(1e-30))
                  for n, g in reference.items()}
        worst = max(errors, key=errors.get)
        result[name] = dict(max=errors[worst], worst_parameter=worst,
                            median=float(np.median(list(errors.values()))))
    result['batch_norm_forward'] = batch_norm_accuracy(device)
    return result


def batch_norm_accuracy(device: torch.device) -> dict:
    """Relative error of float32 training-mode BatchNorm against float64, per layout, on
    64x16x32x32 inputs whose channel mean is 0, 10 or 100 times their spread (on the CPU the
    channels-last kernel was measured 80x less accurate, growing with the ratio)."""
    import torch.nn.functional as F
    errors = {}
    for ratio in (0, 10, 100):
        x = torch.randn(64, 16, 32, 32, dtype=torch.float64, device=device) + ratio
        reference = F.batch_norm(x, None, None, training=True)
        for layout, fmt in (('default', torch.contiguous_format),
                            ('channels_last', torch.channels_last)):
            out = F.batch_norm(x.float().contiguous(memory_format=fmt), None, None,
                               training=True).double()
            errors[f'{layout}_mean_{ratio}x_std'] = float(
                (out - reference).norm() / reference.norm())
    return errors


def graph_equivalence(device: torch.device, num_images: int) -> dict:
    """Eager, eager again and graphed epochs of one candidate from the same state."""
    from mmrnas.datasets import BatchAugment, TensorBatches, build_search_split, split_indices
    from mmrnas.engine.estimators import CandidateTrainer
    from mmrnas.models import RelativeNASSupernet
    from mmrnas.search import Population

    torch.manual_seed(0)
    images = torch.randint(0, 256, (num_images, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (num_images, ))
    dataset = TensorBatches(images, labels, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26))
    split = build_search_split(dataset, *split_indices(num_images, 0.5, 0), device)
    supernet = RelativeNASSupernet(base_channels=16, num_cells=8, num_classes=10).to(device)
    genotype = Population.random(2, np.random.default_rng(0)).genotypes()[0]
    runs = {}
    for name, graphed in (('eager', False), ('eager_again', False), ('graph', True)):
        generator = torch.Generator(device=device).manual_seed(0)
        trainer = CandidateTrainer(*split, generator=generator, batch_size=256,
                                   val_batch_size=256, train_augment=BatchAugment(),
                                   cuda_graph=graphed)
        candidate = supernet.extract(genotype, drop_path_rate=0.0)
        loss = trainer.train_epoch(candidate, 0.05)
        runs[name] = (loss, trainer.evaluate(candidate), candidate.state_dict())

    def compare(name: str) -> dict:
        loss, (val_loss, val_acc), state = runs[name]
        ref_loss, (ref_val, ref_acc), ref_state = runs['eager']
        floats = [k for k, v in state.items() if v.is_floating_point()]
        diff = sum(float((state[k] - ref_state[k]).pow(2).sum()) for k in floats)
        norm = sum(float(ref_state[k].pow(2).sum()) for k in floats)
        return dict(train_loss=loss, val_loss=val_loss, val_accuracy=val_acc,
                    train_loss_rel_diff=abs(loss - ref_loss) / abs(ref_loss),
                    val_loss_rel_diff=abs(val_loss - ref_val) / abs(ref_val),
                    weights_rel_l2=(diff / norm)**0.5)

    return dict(images=num_images, eager_again=compare('eager_again'), graph=compare('graph'))


def profile_candidate(device: torch.device, num_images: int, out_dir: str,
                      variant: str = 'baseline') -> dict:
    """Profile one candidate (a pair for concurrent variants) of a search variant; write the
    tables of device time and of host time to ``profile_search.txt`` (baseline) or
    ``profile_search_<variant>.txt``, and return the host time of the CUDA runtime calls
    (launches, allocations, synchronisation): what a graphed run may still wait for."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        search_throughput.measure(device, candidates=1, num_images=num_images,
                                  **SEARCH_VARIANTS[variant])
        wall = time.perf_counter() - start
    events = prof.key_averages()
    kernels = [e for e in events if e.device_type.name == 'CUDA']
    gpu_seconds = sum(e.self_device_time_total for e in kernels) / 1e6
    tables = [events.table(sort_by='self_cpu_time_total', row_limit=30)]
    if device.type == 'cuda':
        tables.insert(0, events.table(sort_by='self_cuda_time_total', row_limit=40))
    name = 'profile_search.txt' if variant == 'baseline' else f'profile_search_{variant}.txt'
    with open(osp.join(out_dir, name), 'w') as f:
        f.write(f'{variant}: one measured group, {num_images} images, {device}: wall '
                f'{wall:.3f} s, GPU kernel time {gpu_seconds:.3f} s (summed over streams)\n')
        f.write('\n'.join(tables) + '\n')
    runtime = sorted((e for e in events if e.key.startswith('cuda')),
                     key=lambda e: -e.self_cpu_time_total)[:12]
    return dict(images=num_images, wall_seconds_profiled=wall, gpu_kernel_seconds=gpu_seconds,
                kernel_launches=sum(e.count for e in kernels),
                gpu_busy_fraction=gpu_seconds / wall if wall else None,
                host_runtime_calls={e.key: dict(count=e.count,
                                                seconds=e.self_cpu_time_total / 1e6)
                                    for e in runtime})


def decisions(device: torch.device, out_dir: str, smoke: bool) -> dict:
    """The quickstart search per variant, with a repeat of the baseline."""
    variants = ['baseline', 'baseline', 'channels_last']
    if device.type == 'cuda':  # the repeat shows GPU run-to-run noise; then the fast variants
        variants = ['baseline', 'baseline', 'cuda_graph',
                    'cuda_graph_bf16_channels_last_concurrent_pairs']
    budget = ['--options', 'train_cfg.max_generations=1', 'train_cfg.population_size=2'
              ] if smoke else []
    search_decisions.main(['--variants', *variants, '--out', out_dir, *budget])
    with open(osp.join(out_dir, f'search_decisions_{device.type}.json')) as f:
        return json.load(f)


def measure_data_placement(report: Report, device: torch.device, smoke: bool) -> None:
    """``data_placement.py``'s data sets and placements, measured in this process."""
    with tempfile.TemporaryDirectory() as folder:
        data_placement.write_png_folder(folder, 300 if smoke else 20000, 16 if smoke else 64)
        for name in data_placement.DATA:
            for placement in data_placement.PLACEMENTS:
                report.record('data_placement', f'{name}/{placement}', (
                    lambda n=name, p=placement: data_placement.measure(
                        n, p, device.type, 1 if smoke else 5, folder)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True)
    parser.add_argument('--smoke', action='store_true', help='small sizes, any device')
    parser.add_argument('--stages', nargs='+', choices=STAGES, default=list(STAGES))
    args = parser.parse_args(argv)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    report = Report(args.out, device, argv)
    images = 512 if args.smoke else 50000
    candidates = 2 if args.smoke else 3
    retrain = dict(steps=1, warmup=1, batch=8) if args.smoke else dict(steps=20, warmup=5)

    def skipped():
        return dict(skipped=f'needs CUDA; this run is on {device.type}')

    for stage in args.stages:
        if stage == 'search':
            for name, speed in SEARCH_VARIANTS.items():
                report.record('search', name, (lambda s=speed: search_throughput.measure(
                    device, candidates=candidates, num_images=images, **s)) if usable(speed, device)
                    else skipped)
        elif stage == 'retrain':
            for name, speed in RETRAIN_VARIANTS.items():
                report.record('retrain', name, (lambda s=speed: retrain_step.measure(
                    device, RETRAIN_CONFIG, **retrain, **s)) if usable(speed, device)
                    else skipped)
        elif stage == 'cuda_tests':
            report.record('cuda_tests', 'pytest', cuda_tests)
        elif stage == 'mmcv_ops':
            report.record('mmcv_ops', 'nms', lambda: mmcv_ops(device))
        elif stage == 'gradient_accuracy':
            report.record('gradient_accuracy', 'one_step', lambda: gradient_accuracy(device))
        elif stage == 'graph_equivalence':
            report.record('graph_equivalence', 'candidate_epoch',
                          (lambda: graph_equivalence(device, images // 4))
                          if device.type == 'cuda' else skipped)
        elif stage == 'profile':
            report.record('profile', 'baseline_candidate',
                          lambda: profile_candidate(device, images // 10, args.out))
            concurrent = 'cuda_graph_concurrent_pairs'
            report.record('profile', concurrent,
                          (lambda: profile_candidate(device, images // 10, args.out, concurrent))
                          if usable(SEARCH_VARIANTS[concurrent], device) else skipped)
        elif stage == 'decisions':
            report.record('decisions', 'quickstart',
                          lambda: decisions(device, args.out, args.smoke))
        elif stage == 'compile':
            for name, mode in (('compile_bf16_channels_last', True),
                               ('compile_reduce_overhead_bf16_channels_last', 'reduce-overhead')):
                report.record('retrain', name, (lambda m=mode: retrain_step.measure(
                    device, RETRAIN_CONFIG, **retrain, precision='bf16', channels_last=True,
                    compile=m)) if device.type == 'cuda' else skipped)
        elif stage == 'data_placement':
            measure_data_placement(report, device, args.smoke)
    return 0


if __name__ == '__main__':
    sys.exit(main())
