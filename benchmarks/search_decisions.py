"""Do the search's speed options change its decisions? Wall time and pair winners per variant.

Usage: python benchmarks/search_decisions.py [--config configs/rnas_quickstart.py]
       [--variants baseline baseline channels_last ...] [--options KEY=VALUE ...]
       [--out benchmarks/results]

Runs ``tools/search.py CONFIG`` once per variant (each a separate process, as a user runs it)
with the variant's ``--cfg-options`` and reads ``history.jsonl``: the teacher of every pair of
every generation, and the final genotype. Each variant's decisions are compared with the first
run; list ``baseline`` twice to see how far two identical runs agree (on a GPU, float
reductions are not always run-to-run deterministic). Wall time is the whole command (start-up,
search, final selection, outputs): on 2 CPU cores the quickstart's is the number the README
promises. Writes ``search_decisions_<device>.json`` into ``--out``.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from search_throughput import SPEED_VARIANTS, run_metadata, write_result  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
VARIANTS = {
    name: [f'train_cfg.{key}={value}' for key, value in speed.items()]
    for name, speed in SPEED_VARIANTS.items()
}


def run_search(config: str, options: list, work_dir: str, timeout: float) -> dict:
    """Run one search; return its wall time, per-generation teachers and final genotype."""
    command = [sys.executable, osp.join(ROOT, 'tools', 'search.py'), config, '--work-dir',
               work_dir]
    if options:
        command += ['--cfg-options'] + options
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        return dict(seconds=seconds, error=done.stderr[-2000:])
    with open(osp.join(work_dir, 'history.jsonl')) as f:
        history = [json.loads(line) for line in f]
    with open(osp.join(work_dir, 'best_genotype.yaml')) as f:
        best = f.read()
    return dict(seconds=seconds,
                teachers=[[pair['teacher'] for pair in record['pairs']] for record in history],
                val_losses=[[pair['val_loss'] for pair in record['pairs']] for record in history],
                best_genotype=best)


def agreement(run: dict, reference: dict) -> dict:
    """Share of pair decisions equal to the reference's, up to the first difference (after
    one, later generations see other populations and are no longer comparable)."""
    pairs = same = 0
    for ours, theirs in zip(run['teachers'], reference['teachers']):
        for a, b in zip(ours, theirs):
            if a != b:
                return dict(pairs_before_first_difference=same, identical=False)
            pairs += 1
            same += 1
    return dict(pairs_before_first_difference=same,
                identical=same == pairs and run['best_genotype'] == reference['best_genotype'])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=osp.join(ROOT, 'configs', 'rnas_quickstart.py'))
    parser.add_argument('--variants', nargs='+', default=['baseline', 'baseline'],
                        choices=sorted(VARIANTS))
    parser.add_argument('--options', nargs='*', default=[],
                        help='--cfg-options for every run (e.g. a smaller budget)')
    parser.add_argument('--timeout', type=float, default=600)
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results'))
    args = parser.parse_args(argv)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, name in enumerate(args.variants):
            run = run_search(args.config, VARIANTS[name] + args.options, osp.join(tmp, str(index)),
                             args.timeout)
            run = dict(variant=name, options=VARIANTS[name], **run)
            if 'error' not in run and runs and 'error' not in runs[0]:
                run.update(agreement(run, runs[0]))
            runs.append(run)
            print(json.dumps({k: v for k, v in run.items() if k != 'val_losses'}), flush=True)
    write_result(args.out, f'search_decisions_{device.type}.json',
                 dict(run_metadata(device, argv), config=osp.relpath(args.config, ROOT),
                      runs=runs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
