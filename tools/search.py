"""Run a RelativeNAS search with MMEngine's Runner.

Usage: python tools/search.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]]
       [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm|mpi]

Multi-process (data-parallel candidates): tools/dist_search.sh CONFIG NPROC [args], which runs
this script under torchrun with --launcher pytorch (GPUs: NCCL; CPUs: gloo).

Outputs in the work dir: checkpoints/ (one per generation, atomic), genotypes/, history.jsonl,
search_progress.png, best_genotype.yaml and its cell drawings. ``--resume`` without a value
continues from the work dir's last search checkpoint; with a value, from that checkpoint.

Bad input (a missing file, an unknown or misspelled key, a value out of range, a checkpoint
of another search) ends in one line on stderr and exit code 2, before any work; Ctrl-C says
which generation was saved last and prints the command that continues the search.
"""
import argparse
import os
import os.path as osp
import shlex
import sys
from typing import List, Optional

from mmengine.dist import is_main_process

from mmrnas.engine import check_search_config, last_checkpoint_path
from mmrnas.utils.cli import (
    CfgOptionsAction,
    build_runner,
    exit_on_user_errors,
    load_config,
    parse_launch_args,
    set_work_dir,
)
from mmrnas.utils.dist import init_distributed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='RelativeNAS search')
    parser.add_argument('config', help='search config file')
    parser.add_argument('--resume', nargs='?', const=True, default=False,
                        help='continue the search in the work dir (or from CHECKPOINT)')
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


def resume_command(argv: List[str], config: str, work_dir: str) -> str:
    """The command that continues this search: the same config and options, ``--resume``."""
    options: List[str] = []
    if '--cfg-options' in argv:
        for token in argv[argv.index('--cfg-options') + 1:]:
            if token.startswith('--'):
                break
            options.append(token)
    command = ['python', 'tools/search.py', config, '--work-dir', work_dir, '--resume']
    if options:
        command += ['--cfg-options', *options]
    return ' '.join(shlex.quote(token) for token in command)


def interrupted_message(loop, argv: List[str], config: str) -> str:
    """What Ctrl-C leaves behind: the last generation saved and how to continue."""
    done, total = loop.epoch, loop.max_generations
    checkpoint = last_checkpoint_path(loop.work_dir)
    if checkpoint is None:
        return (f'interrupted in generation {done + 1}/{total}, before the first checkpoint: '
                f'nothing to resume; start the search again')
    where = ('the final selection' if done == total else f'generation {done + 1}/{total}')
    return (f'interrupted during {where}; the last checkpoint {checkpoint} holds generation '
            f'{done}/{total}. Continue with: {resume_command(argv, config, loop.work_dir)}')


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    with exit_on_user_errors():
        cfg = load_config(args.config, args.cfg_options)
        # The search loop runs its own data parallelism (per candidate, see
        # RelativeNASSearchLoop): the process group starts here and the Runner must not wrap
        # the weight set in DistributedDataParallel, so it sees launcher='none'.
        init_distributed(args.launcher)
        cfg.launcher = 'none'
        set_work_dir(cfg, args.config, args.work_dir)
        # The loop resumes its own state; MMEngine's runner-level resume stays off.
        cfg.resume = False
        cfg.train_cfg.resume = args.resume
        check_work_dir(cfg.work_dir)
        # Everything the loop would refuse, before the Runner logs the environment and config.
        check_search_config(cfg)
        runner = build_runner(cfg, 'train_loop')
    try:
        runner.train()
    except KeyboardInterrupt:
        if is_main_process():
            print(f'{osp.basename(sys.argv[0])}: '
                  f'{interrupted_message(runner.train_loop, argv, args.config)}',
                  file=sys.stderr)
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
