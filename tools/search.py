"""Run a RelativeNAS search with MMEngine's Runner.

Usage: python tools/search.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]]
       [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm|mpi]

Multi-process (data-parallel candidates): tools/dist_search.sh CONFIG NPROC [args], which runs
this script under torchrun with --launcher pytorch (GPUs: NCCL; CPUs: gloo).

Outputs in the work dir: checkpoints/ (one per generation, atomic), genotypes/, history.jsonl,
search_progress.png, best_genotype.yaml and its cell drawings. ``--resume`` without a value
continues from the work dir's last search checkpoint; with a value, from that checkpoint.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmrnas.utils.dist import init_distributed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='RelativeNAS search')
    parser.add_argument('config', help='search config file')
    parser.add_argument('--work-dir', help='where outputs and checkpoints go')
    parser.add_argument('--resume', nargs='?', const=True, default=False,
                        help='continue the search in the work dir (or from CHECKPOINT)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_generations=10')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


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


def main(argv=None) -> int:
    args = parse_args(argv)
    prog = osp.basename(sys.argv[0])
    if not osp.isfile(args.config):
        print(f'{prog}: error: config file {args.config!r} does not exist', file=sys.stderr)
        return 2
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    # The search loop runs its own data parallelism (per candidate, see
    # RelativeNASSearchLoop): the process group starts here and the Runner must not wrap the
    # weight set in DistributedDataParallel, so it sees launcher='none'.
    try:
        init_distributed(args.launcher)
    except ValueError as error:
        print(f'{prog}: error: {error}', file=sys.stderr)
        return 2
    cfg.launcher = 'none'
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    # The loop resumes its own state; MMEngine's runner-level resume stays off.
    cfg.resume = False
    cfg.train_cfg.resume = args.resume
    try:
        check_work_dir(cfg.work_dir)
        runner = Runner.from_cfg(cfg)
        runner.train_loop  # builds the loop: validates the config and loads the data
    except (ValueError, FileNotFoundError) as error:
        print(f'{prog}: error: {error}', file=sys.stderr)
        return 2
    runner.train()
    return 0


if __name__ == '__main__':
    sys.exit(main())
