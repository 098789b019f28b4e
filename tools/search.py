"""Run a RelativeNAS search with MMEngine's Runner.

Usage: python tools/search.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT] | --start-over]
       [--seeds SEED [SEED ...]] [--cfg-options KEY=VALUE ...]
       [--launcher none|pytorch|slurm|mpi]

Multi-process (data-parallel candidates): tools/dist_search.sh CONFIG NPROC [args], which runs
this script under torchrun with --launcher pytorch (GPUs: NCCL; CPUs: gloo).

Outputs in the work dir: checkpoints/ (one per generation, atomic), genotypes/, history.jsonl,
search_progress.png, best_genotype.yaml and its cell drawings. ``--resume`` without a value
continues from the work dir's last search checkpoint; with a value, from that checkpoint.
Without ``--resume`` the config decides (``train_cfg.resume``, else MMEngine's top-level
``resume``). A new search never starts in a work dir that holds one: that is one error
naming ``--resume``, ``--work-dir`` and ``--start-over``, which moves everything in the work
dir into ``WORK_DIR/previous_searches/<time>/`` first.

``--seeds 0 1 2 3 4`` runs one search per seed, one after the other, each in
``WORK_DIR/seed_<S>`` with ``randomness.seed = S``, then prints and writes
``WORK_DIR/seeds_summary.json``: each seed's genotype and estimate, their spread, how many
distinct genotypes were found and how far apart they are (edges out of 16). With ``--resume``
every seed continues from its own last checkpoint (a finished seed is not run again, a seed
not started yet starts).

Bad input (a missing file, an unknown or misspelled key, a value out of range, a checkpoint
of another search) ends in one line on stderr and exit code 2, before any work; Ctrl-C says
which generation was saved last and prints the command that continues the search.
"""
import argparse
import copy
import json
import os
import os.path as osp
import shlex
import sys
import tempfile
import time
from typing import Dict, List, Optional, Union

from mmengine.config import Config
from mmengine.dist import barrier, is_main_process

from mmrnas.datasets import reuse_search_data
from mmrnas.engine import check_search_config, last_checkpoint_path
from mmrnas.engine.search_work_dir import (
    check_new_search_work_dir,
    move_search_aside,
    search_traces,
)
from mmrnas.engine.seed_summary import seed_result, summarize_seeds
from mmrnas.utils.cli import (
    CfgOptionsAction,
    build_runner,
    exit_on_user_errors,
    load_config,
    parse_launch_args,
    set_work_dir,
)
from mmrnas.utils.dist import init_distributed
from mmrnas.utils.fileio import atomic_write


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='RelativeNAS search')
    parser.add_argument('config', help='search config file')
    parser.add_argument('--resume', nargs='?', const=True, default=None,
                        help='continue the search in the work dir (or from CHECKPOINT); '
                        'default: train_cfg.resume of the config')
    parser.add_argument('--start-over', action='store_true',
                        help='move an earlier search in the work dir aside (into '
                        'WORK_DIR/previous_searches/<time>/) and start a new one')
    parser.add_argument('--seeds', nargs='+', type=int, metavar='SEED',
                        help='one search per seed in WORK_DIR/seed_<SEED>, then a summary')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config entries, e.g. train_cfg.max_generations=10')
    return parse_launch_args(parser, argv, 'where outputs and checkpoints go')


def check_work_dir(work_dir: str) -> None:
    """Fail before any work when the work dir cannot be written."""
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as error:
        raise ValueError(f'cannot create the work dir {work_dir!r}: {error.strerror}; choose '
                         f'another with --work-dir') from error
    if not os.access(work_dir, os.W_OK):
        raise ValueError(f'the work dir {work_dir!r} is not writable; choose another with '
                         f'--work-dir')


def _option_values(argv: List[str], option: str) -> List[str]:
    """The values that follow ``option`` in ``argv`` (up to the next ``--`` option)."""
    values: List[str] = []
    if option in argv:
        for token in argv[argv.index(option) + 1:]:
            if token.startswith('--'):
                break
            values.append(token)
    return values


def resume_command(argv: List[str], config: str, work_dir: str) -> str:
    """The command that continues this search (or these seeds): the same config, seeds and
    options, ``--resume``."""
    command = ['python', 'tools/search.py', config, '--work-dir', work_dir, '--resume']
    for option in ('--seeds', '--cfg-options'):
        values = _option_values(argv, option)
        if values:
            command += [option, *values]
    return ' '.join(shlex.quote(token) for token in command)


def interrupted_message(loop, argv: List[str], config: str, work_dir: str) -> str:
    """What Ctrl-C leaves behind: the last generation saved and how to continue (``work_dir``
    is the one of the command: with ``--seeds``, the parent of the seeds' folders)."""
    done, total = loop.epoch, loop.max_generations
    checkpoint = last_checkpoint_path(loop.work_dir)
    if checkpoint is None:
        if not search_traces(work_dir):
            return (f'interrupted in generation {done + 1}/{total}, before the first '
                    f'checkpoint: nothing to resume; start the search again')
        # Earlier seeds are done: --resume keeps them and starts this one again.
        return (f'interrupted in generation {done + 1}/{total} of {loop.work_dir}, before its '
                f'first checkpoint. Continue with: {resume_command(argv, config, work_dir)}')
    where = ('the final selection' if done == total else f'generation {done + 1}/{total}')
    return (f'interrupted during {where}; the last checkpoint {checkpoint} holds generation '
            f'{done}/{total}. Continue with: {resume_command(argv, config, work_dir)}')


def requested_resume(cfg: Config, flag: Union[None, bool, str]) -> Union[bool, str]:
    """What to resume: ``--resume`` when given, else the config's ``train_cfg.resume``, else
    MMEngine's top-level ``resume`` (True: the work dir's last checkpoint)."""
    if flag is not None:
        return flag
    resume = cfg.train_cfg.get('resume')
    return bool(cfg.get('resume', False)) if resume is None else resume


def plan_runs(work_dir: str, seeds: Optional[List[int]], resume: Union[bool, str],
              start_over: bool) -> Dict[Optional[int], Union[bool, str]]:
    """What each search of the command resumes (``{None: resume}`` without ``--seeds``), after
    refusing, before any work, a new search in a work dir (or a seed's folder) that holds one.

    With ``--seeds``, a seed whose folder holds a search resumes under ``--resume`` and one
    that does not starts; new seeds may join a work dir of earlier seeds.
    """
    if start_over and resume:
        raise ValueError('--start-over starts a new search: it cannot go with --resume (nor '
                         'with train_cfg.resume or resume=True in the config)')
    if not seeds:
        if not (resume or start_over):
            check_new_search_work_dir(work_dir)
        return {None: resume}
    folders = {seed: osp.join(work_dir, f'seed_{seed}') for seed in seeds}
    if resume:
        if not search_traces(work_dir):
            raise FileNotFoundError(f'resume: no search to continue in {work_dir} (no seed_<S> '
                                    f'folder holds one); start the seeds without --resume')
        return {seed: bool(search_traces(folder)) for seed, folder in folders.items()}
    if not start_over:
        for folder in folders.values():
            check_new_search_work_dir(folder)
    return dict.fromkeys(seeds, False)


def seed_config(cfg: Config, args: argparse.Namespace, seed: Optional[int],
                resume: Union[bool, str]) -> Config:
    """A copy of the command's config for one search: for a seed of ``--seeds``, in its
    sub-folder with ``randomness.seed = seed``; ``resume`` set."""
    cfg = copy.deepcopy(cfg)
    # The search loop runs its own data parallelism (per candidate, see
    # RelativeNASSearchLoop): the process group starts in main() and the Runner must not wrap
    # the weight set in DistributedDataParallel, so it sees launcher='none'.
    cfg.launcher = 'none'
    if seed is not None:
        cfg.work_dir = osp.join(cfg.work_dir, f'seed_{seed}')
        cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
        cfg.train_cfg.pop('seed', None)
        # Runner names its logger and visualizer after the experiment: one per seed.
        cfg.experiment_name = (f'{osp.splitext(osp.basename(args.config))[0]}_seed{seed}_'
                               f'{time.strftime("%Y%m%d_%H%M%S")}')
    # The loop resumes its own state; MMEngine's runner-level resume stays off.
    cfg.resume = False
    cfg.train_cfg.resume = resume
    return cfg


def start_over(cfg: Config, args: argparse.Namespace) -> None:
    """``--start-over``: check the whole config as a new search first (in a scratch work dir:
    a mistake must not cost the earlier search its place), then move what the work dir holds
    aside (rank 0; the other ranks wait)."""
    with tempfile.TemporaryDirectory() as scratch:
        probe = seed_config(cfg, args, args.seeds[0] if args.seeds else None, False)
        probe.work_dir = scratch
        check_search_config(probe)
    if is_main_process():
        moved = move_search_aside(cfg.work_dir)
        if moved is not None:
            print(f'moved the earlier search in {cfg.work_dir} to {moved}')
    barrier()


def check_seeds(seeds: List[int], resume) -> None:
    """``--seeds`` must name distinct seeds; ``--resume`` goes with it without a path."""
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise ValueError(f'--seeds: seed(s) {repeated} are given twice; give each seed once')
    if isinstance(resume, str):
        raise ValueError('--resume with --seeds takes no checkpoint path: every seed resumes '
                         'from the last checkpoint of its own WORK_DIR/seed_<S>')


def summary_lines(summary: dict) -> List[str]:
    """The seeds summary as text: one line per seed, then the spread."""
    lines = []
    for result in summary['seeds']:
        estimate = [] if result['val_loss'] is None else [f'loss {result["val_loss"]:.4f}']
        if result['val_accuracy'] is not None:
            estimate.append(f'acc {result["val_accuracy"]:.2f}%')
        lines.append(f'seed {result["seed"]}: {result["genotype"]}' +
                     (f' (estimate: {", ".join(estimate)})' if estimate else ''))
    # A training-free estimate has a loss (minus its score) but no accuracy.
    for key, name, unit, note in (
            ('val_accuracy', 'val accuracy', '%', ''),
            ('val_loss', 'val loss', '', '; no seed has an accuracy: a training-free '
             "estimate's loss is minus its score")):
        spread = summary[key]
        if spread is not None:
            known = sum(result[key] is not None for result in summary['seeds'])
            total = len(summary['seeds'])
            seeds = f'{known} seeds' if known == total else f'{known} of {total} seeds'
            lines.append(f'estimated {name} over {seeds}: '
                         f'{spread["mean"]:.2f} +- {spread["std"]:.2f}{unit} '
                         f'(min {spread["min"]:.2f}, max {spread["max"]:.2f}{note})')
            break
    distance = summary['edge_distance']
    lines.append(f'{summary["distinct_genotypes"]} distinct genotype(s)' + (
        '' if distance is None else
        f'; edges that differ between two seeds (of 16): mean {distance["mean"]:.1f}, '
        f'min {distance["min"]}, max {distance["max"]}'))
    return lines


def load_search_config(args: argparse.Namespace) -> Config:
    """The config with the command line's options and work dir."""
    cfg = load_config(args.config, args.cfg_options)
    set_work_dir(cfg, args.config, args.work_dir)
    if not isinstance(cfg.get('train_cfg'), dict):
        raise ValueError("a search config needs train_cfg=dict(type='RelativeNASSearchLoop', "
                         '...)')
    return cfg


def prepare(cfg: Config):
    """Check one search's config and build its runner. User errors end here, before any
    work."""
    with exit_on_user_errors():
        check_work_dir(cfg.work_dir)
        # Everything the loop would refuse, before the Runner logs the environment and config.
        check_search_config(cfg)
        return build_runner(cfg, 'train_loop')


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    # The config is read once: a --start-over may move a config dumped in the work dir.
    with exit_on_user_errors():
        cfg = load_search_config(args)
        resume = requested_resume(cfg, args.resume)
        init_distributed(args.launcher)
        check_work_dir(cfg.work_dir)
        if args.seeds:
            check_seeds(args.seeds, resume)
        runs = plan_runs(cfg.work_dir, args.seeds, resume, args.start_over)
    results = []
    # The preflight checks and the runs (and every seed) read the data once.
    with reuse_search_data():
        if args.start_over:
            with exit_on_user_errors():
                start_over(cfg, args)
        for seed, seed_resume in runs.items():
            runner = prepare(seed_config(cfg, args, seed, seed_resume))
            try:
                runner.train()
            except KeyboardInterrupt:
                if is_main_process():
                    work_dir = osp.dirname(runner.work_dir) if args.seeds else runner.work_dir
                    print(f'{osp.basename(sys.argv[0])}: '
                          f'{interrupted_message(runner.train_loop, argv, args.config, work_dir)}',
                          file=sys.stderr)
                return 130
            if seed is not None:
                results.append(seed_result(seed, runner.work_dir, runner.train_loop.final))
    if args.seeds and is_main_process():
        summary = summarize_seeds(results)
        work_dir = osp.dirname(runner.work_dir)
        atomic_write(osp.join(work_dir, 'seeds_summary.json'),
                     json.dumps(summary, indent=2, sort_keys=True) + '\n')
        for line in summary_lines(summary):
            print(line)
        print(f'summary written to {osp.join(work_dir, "seeds_summary.json")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
