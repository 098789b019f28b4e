"""Budget-aware and multi-objective search on the quickstart, several seeds each.

Runs ``tools/search.py --seeds`` (resumable: finished seeds are not searched again) for

- ``unconstrained``: ``configs/rnas_quickstart.py``;
- ``budget``: ``configs/rnas_quickstart-budget.py`` (at most 40,000 params in the digits
  retraining network);
- ``pareto``: ``configs/rnas_quickstart-pareto.py`` (validation loss against params);
- ``pareto_random``: the same with ``population_update='random'``: as many genotypes, drawn at
  random, estimated with the same weight sharing, with the same archive.

and reports: the share of budget searches whose final genotype is feasible, the re-evaluated
validation accuracy of the final genotype with and without the budget (and how many
unconstrained results would break the budget), the hypervolume of the multi-objective
front against random sampling, and the seconds the searches' generations took (without
start-up and final re-evaluation; ``seconds_this_run`` is the last invocation only).

Usage::

    python benchmarks/budget_search.py [--work-dir work_dirs/budget_search]
        [--out benchmarks/results/budget_search_cpu.json] [--seeds 0 1 2 3 4]
        [--cfg-options KEY=VALUE ...]  # e.g. a tiny setting for tests
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import Any, Dict, List, Optional

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))

from search_quality import (  # noqa: E402
    commit,
    device_name,
    mean_std,
    search_seconds,
    search_tool,
)

from mmrnas.engine.search_work_dir import search_traces  # noqa: E402
from mmrnas.utils.fileio import atomic_write  # noqa: E402

RUNS = dict(
    unconstrained=('rnas_quickstart.py', []),
    budget=('rnas_quickstart-budget.py', []),
    pareto=('rnas_quickstart-pareto.py', []),
    pareto_random=('rnas_quickstart-pareto.py', ['train_cfg.population_update=random']),
)


def run(tool, name: str, work_dir: str, seeds: List[int], options: List[str]) -> List[dict]:
    """The seeds of one run (searched or resumed), each with its final selection."""
    config, extra = RUNS[name]
    resume = ['--resume'] if search_traces(osp.join(work_dir, name)) else []
    argv = [osp.join(ROOT, 'configs', config), '--work-dir', osp.join(work_dir, name),
            *resume, '--seeds', *map(str, seeds)]
    if extra or options:
        argv += ['--cfg-options', *extra, *options]
    start = time.perf_counter()
    if tool.main(argv) != 0:
        raise RuntimeError(f'tools/search.py failed for {name}')
    print(f'{name}: {time.perf_counter() - start:.0f} s', flush=True)
    finals = []
    for seed in seeds:
        with open(osp.join(work_dir, name, f'seed_{seed}', 'final_selection.json')) as f:
            final = json.load(f)
        member = final['members'][final['best_index']]
        finals.append(dict(seed=seed, final=final, val_loss=member['val_loss'],
                           val_accuracy=member['val_accuracy']))
    return finals


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'budget_search'))
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results',
                                                  'budget_search_cpu.json'))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to every search (e.g. a smaller budget for tests)')
    args = parser.parse_args(argv)
    tool = search_tool()
    start = time.perf_counter()
    runs = {name: run(tool, name, args.work_dir, args.seeds, args.cfg_options)
            for name in RUNS}

    from mmengine.config import Config

    from mmrnas.search import build_search_budget
    from mmrnas.structures import Genotype
    budget_final = runs['budget'][0]['final']
    budget_cfg = Config.fromfile(osp.join(ROOT, 'configs', RUNS['budget'][0]))
    budget = build_search_budget(dict(  # the constraints the run had (--cfg-options included)
        budget_cfg.train_cfg.budget.to_dict(),
        constraints={key: tuple(bound) for key, bound in budget_final['constraints'].items()}))
    budget.setup(budget_cfg.model.num_classes, in_channels=3)
    results: Dict[str, Any] = dict(
        device=device_name(), commit=commit(), torch=torch.__version__,
        command='python benchmarks/budget_search.py' + (
            f' --cfg-options {" ".join(args.cfg_options)}' if args.cfg_options else ''),
        seeds=args.seeds, constraints=budget_final['constraints'],
        constraint_model=dict(budget.cost.config))

    def accuracy_table(name: str) -> Dict[str, Any]:
        seeds = []
        for entry in runs[name]:
            genotype = Genotype.from_string(entry['final']['genotype'])
            seeds.append(dict(seed=entry['seed'], genotype=str(genotype),
                              val_accuracy=entry['val_accuracy'], val_loss=entry['val_loss'],
                              costs=budget.costs(genotype),
                              within_budget=budget.feasible(genotype)))
        return dict(seeds=seeds, val_accuracy=mean_std([s['val_accuracy'] for s in seeds]),
                    params=mean_std([s['costs']['params'] for s in seeds]),
                    within_budget=sum(s['within_budget'] for s in seeds))

    results['unconstrained'] = accuracy_table('unconstrained')
    results['budget'] = accuracy_table('budget')
    results['budget']['feasible_finals'] = sum(
        entry['final']['feasible'] for entry in runs['budget'])
    results['budget']['feasible_share_per_generation'] = {
        entry['seed']: [json.loads(line)['feasible_share'] for line in open(
            osp.join(args.work_dir, 'budget', f'seed_{entry["seed"]}', 'history.jsonl'))]
        for entry in runs['budget']
    }
    for name in ('pareto', 'pareto_random'):
        volumes = [entry['final']['hypervolume']['value'] for entry in runs[name]]
        results[name] = dict(
            hypervolume=mean_std(volumes),
            seeds=[dict(seed=entry['seed'], hypervolume=volume,
                        front_size=len(entry['final']['pareto_front']))
                   for entry, volume in zip(runs[name], volumes)],
            reference_point=runs[name][0]['final']['hypervolume']['reference_point'],
            library=runs[name][0]['final']['hypervolume']['library'])
    results['search_generation_seconds'] = {
        name: sum(search_seconds(osp.join(args.work_dir, name, f'seed_{seed}'))
                  for seed in args.seeds)
        for name in RUNS
    }
    results['seconds_this_run'] = time.perf_counter() - start
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    front_plot = osp.splitext(args.out)[0] + '_pareto_front.png'
    shutil.copyfile(osp.join(args.work_dir, 'pareto', f'seed_{args.seeds[0]}',
                             'pareto_front.png'), front_plot)
    results['front_plot'] = osp.basename(front_plot)
    atomic_write(args.out, json.dumps(results, indent=2) + '\n')
    print(f'budget: {results["budget"]["feasible_finals"]}/{len(args.seeds)} feasible finals, '
          f'val accuracy {results["budget"]["val_accuracy"]["mean"]:.2f} +- '
          f'{results["budget"]["val_accuracy"]["std"]:.2f}% (unconstrained '
          f'{results["unconstrained"]["val_accuracy"]["mean"]:.2f} +- '
          f'{results["unconstrained"]["val_accuracy"]["std"]:.2f}%)')
    print(f'hypervolume: pareto {results["pareto"]["hypervolume"]["mean"]:.4f} +- '
          f'{results["pareto"]["hypervolume"]["std"]:.4f}, random '
          f'{results["pareto_random"]["hypervolume"]["mean"]:.4f} +- '
          f'{results["pareto_random"]["hypervolume"]["std"]:.4f}')
    print(f'written {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
