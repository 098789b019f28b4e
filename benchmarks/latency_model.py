"""How well the latency table predicts measured latency, and whether a latency-budget search
delivers a cell that meets the limit when measured.

For the cost model of ``configs/rnas_quickstart-latency.py`` (the digits retraining network,
batch 1, one thread) and each backend:

1. builds the latency table from scratch (its build time; no cache);
2. measures end to end, by the same protocol, :data:`HELD_OUT` random genotypes drawn with
   another seed than the table's calibration cells, plus the library's cells of the search
   space, and reports the share predicted within +-10 % and the RMSPE, with and without the
   table's fitted correction (``raw``: the plain sum of the parts);
3. (PyTorch backend) runs the latency-budget search for every seed (``tools/search.py
   --seeds``, resumable) and measures each final cell with ``tools/analysis_tools/latency.py``
   in a fresh process (``measured_ms``; what a user checking the result does), and again in
   the process that has just searched (``measured_after_search_ms``: that process times the
   same networks slower, so this number is reported, not used).

Usage::

    python benchmarks/latency_model.py [--work-dir work_dirs/latency_model]
        [--out benchmarks/results/latency_cpu.json] [--seeds 0 1 2 3 4]
        [--backends torch onnxruntime] [--held-out 20] [--cfg-options KEY=VALUE ...]

Run it alone on the machine: other processes change every number.
"""
import argparse
import json
import math
import os.path as osp
import random
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))

from search_quality import commit, device_name, search_tool  # noqa: E402

from mmrnas.engine.search_work_dir import search_traces  # noqa: E402
from mmrnas.models.latency import (  # noqa: E402
    LatencyTable,
    measure_latency,
    parse_latency,
    random_genotype,
)
from mmrnas.structures import (  # noqa: E402
    SEARCH_PRIMITIVES,
    Genotype,
    get_genotype,
    list_genotypes,
)
from mmrnas.utils.fileio import atomic_write  # noqa: E402

CONFIG = osp.join(ROOT, 'configs', 'rnas_quickstart-latency.py')
HELD_OUT = 20
HELD_OUT_SEED = 7


def library_cells() -> Dict[str, Genotype]:
    """The library's cells that lie in the search space (searchable ops, 8 edges a cell)."""
    cells = {}
    for name in list_genotypes():
        genotype = get_genotype(name)
        edges = list(genotype.normal) + list(genotype.reduce)
        if len(edges) == 16 and all(op in SEARCH_PRIMITIVES for op, _ in edges):
            cells[name] = genotype
    return cells


def accuracy(entries: List[Dict[str, Any]], key: str) -> Dict[str, float]:
    """Share within +-10 % and root mean squared percentage error of ``key`` vs measured."""
    errors = [(entry[key] - entry['measured_ms']) / entry['measured_ms'] for entry in entries]
    return dict(within_10pct=sum(abs(e) <= 0.10 for e in errors) / len(errors),
                rmspe=math.sqrt(sum(e * e for e in errors) / len(errors)))


def validate(network: Dict[str, Any], latency: Dict[str, Any], held_out: int) -> Dict[str, Any]:
    """Build the table from scratch and check it on held-out and library cells."""
    start = time.perf_counter()
    table = LatencyTable.build(network, latency)  # a build, not a cache hit
    build_s = time.perf_counter() - start
    rng = random.Random(HELD_OUT_SEED)
    cells = [(f'random_{i}', random_genotype(rng)) for i in range(held_out)]
    cells += list(library_cells().items())
    genotypes = []
    for name, genotype in cells:
        genotypes.append(dict(name=name, genotype=str(genotype),
                              predicted_ms=table.predict(genotype),
                              raw_ms=table.raw(genotype),
                              measured_ms=measure_latency(genotype, network, latency)))
        print(f'{latency["backend"]} {name}: predicted {genotypes[-1]["predicted_ms"]:.3f} ms, '
              f'measured {genotypes[-1]["measured_ms"]:.3f} ms', flush=True)
    corrected, raw = accuracy(genotypes, 'predicted_ms'), accuracy(genotypes, 'raw_ms')
    return dict(backend=latency['backend'], fingerprint=table.fingerprint_digest,
                table_build_s=build_s, parts=len(table.fixed) + len(table.edges),
                correction={k: table.correction[k] for k in ('scale', 'offset', 'call_ms')},
                space_range_ms=list(table.extremes()), genotypes=genotypes, **corrected,
                raw=raw, table=table)


def measure_in_a_new_process(genotype: Genotype, work_dir: str, seed: int,
                             options: List[str]) -> float:
    """``genotype``'s latency measured by ``tools/analysis_tools/latency.py`` on the search
    config's cost model, in a process of its own."""
    out = osp.join(work_dir, f'seed_{seed}', 'latency.json')
    network_options = []
    for option in options:  # the cost model follows the searches' --cfg-options
        key, _, value = option.partition('=')
        if key.startswith('train_cfg.budget.cost.') and '.latency.' not in key:
            network_options += [f'--{key.rsplit(".", 1)[1].replace("_", "-")}', value]
    subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'analysis_tools', 'latency.py'),
                    CONFIG, '--genotype', str(genotype), '--json', out, *network_options],
                   check=True, capture_output=True, text=True)
    with open(out) as f:
        return json.load(f)['measured_ms']


def budget_search(work_dir: str, seeds: List[int], options: List[str], limit: float,
                  network: Dict[str, Any], latency: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Search under the latency limit for every seed, then measure each final cell."""
    resume = ['--resume'] if search_traces(work_dir) else []
    argv = [CONFIG, '--work-dir', work_dir, *resume, '--seeds', *map(str, seeds)]
    if options:
        argv += ['--cfg-options', *options]
    if search_tool().main(argv) != 0:
        raise RuntimeError('tools/search.py failed')
    results = []
    for seed in seeds:
        with open(osp.join(work_dir, f'seed_{seed}', 'final_selection.json')) as f:
            final = json.load(f)
        genotype = Genotype.from_string(final['genotype'])
        measured = measure_in_a_new_process(genotype, work_dir, seed, options)
        results.append(dict(seed=seed, genotype=final['genotype'], limit=limit,
                            predicted_ms=final['costs']['latency_ms'], measured_ms=measured,
                            measured_after_search_ms=measure_latency(genotype, network,
                                                                     latency),
                            feasible_as_predicted=final['feasible'],
                            within_limit_measured=measured <= limit))
        print(f'seed {seed}: predicted {results[-1]["predicted_ms"]:.3f} ms, measured '
              f'{measured:.3f} ms (after searching, in the same process: '
              f'{results[-1]["measured_after_search_ms"]:.3f} ms), limit {limit} ms', flush=True)
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'latency_model'))
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results',
                                                  'latency_cpu.json'))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument('--backends', nargs='+', default=['torch', 'onnxruntime'],
                        choices=('torch', 'onnxruntime'))
    parser.add_argument('--held-out', type=int, default=HELD_OUT)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to every search (e.g. a smaller budget for tests)')
    args = parser.parse_args(argv)
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    budget = cfg.train_cfg.budget.to_dict()
    network = {k: v for k, v in budget['cost'].items() if k not in ('type', 'latency')}
    network.setdefault('in_channels', 3)
    latency = parse_latency(budget['cost']['latency'], 'latency')
    limit = budget['constraints']['latency_ms']
    start = time.perf_counter()
    checks = [validate(network, dict(latency, backend=backend), args.held_out)
              for backend in args.backends]
    first = checks[0]
    table = first.pop('table')
    searches = []
    if first['backend'] == 'torch' and args.seeds:
        searches = budget_search(args.work_dir, args.seeds, args.cfg_options, limit, network,
                                 dict(latency, backend='torch'))
    for check in checks[1:]:
        check.pop('table')
    results = dict(
        commit=commit(), device=device_name(), hardware=table.fingerprint['hardware'],
        torch=torch.__version__, backend=first['backend'], threads=table.fingerprint['threads'],
        batch_size=latency['batch_size'], constraint_model=dict(network, latency=latency),
        command='python benchmarks/latency_model.py' + (
            f' --cfg-options {" ".join(args.cfg_options)}' if args.cfg_options else ''),
        **{k: v for k, v in first.items() if k != 'backend'},
        other_backends=checks[1:],
        budget_search=searches,
        budget_search_within_limit=(sum(s['within_limit_measured'] for s in searches),
                                    len(searches)),
        seconds=time.perf_counter() - start)
    atomic_write(args.out, json.dumps(results, indent=1) + '\n')
    for check in checks:
        print(f'{check["backend"]}: table {check["table_build_s"]:.1f} s, within 10 % '
              f'{check["within_10pct"]:.0%}, RMSPE {check["rmspe"]:.1%} (raw sum of parts: '
              f'{check["raw"]["within_10pct"]:.0%}, {check["raw"]["rmspe"]:.1%})')
    print(f'written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
