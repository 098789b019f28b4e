"""Test (evaluate) a checkpoint with an MMEngine config (mmpretrain style).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.pkl]
                         [--trust-checkpoint] [--cfg-options k=v ...] [--launcher ...]

The checkpoint is loaded weights-only (torch's safe default) unless ``--trust-checkpoint``
says it was written by your own training run: full MMEngine runner checkpoints also pickle
optimizer / logger state, which weights-only loading refuses (torch >= 2.6).

``--cfg-options genotype=NAME|FILE|'Genotype(...)'`` sets the genotype of every
``RelativeNASBackbone``; the log names the genotype and the thread count used. A missing config,
a bad option or genotype, missing data (or a failed download) or data that do not fit the model
(classes, image channels, normalisation) end with one ``test.py: error:`` line and exit code 2,
before the Runner writes anything.
"""
import argparse
import os.path as osp
import pickle
from typing import List, Optional

from mmengine.evaluator import DumpResults

from mmrnas.utils.cli import (
    CfgOptionsAction,
    build_runner,
    exit_on_user_errors,
    load_config,
    parse_launch_args,
    set_work_dir,
)
from mmrnas.utils.compat import register_resume_loader, resume_path
from mmrnas.utils.dist import setup_launcher


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='the checkpoint was written by your own training run: load it with '
        'weights_only=False (needed for full runner checkpoints on torch >= 2.6)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, key=value pairs; genotype=NAME|FILE|Genotype(...) '
        'sets every RelativeNASBackbone')
    return parse_launch_args(parser, argv, 'the dir to save the evaluation logs')


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    with exit_on_user_errors():
        cfg = load_config(args.config, args.cfg_options)
        if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
        if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl or .pickle file')
        set_work_dir(cfg, args.config, args.work_dir)
        if args.trust_checkpoint:
            register_resume_loader()
            cfg.load_from = resume_path(args.checkpoint)
        else:
            cfg.load_from = args.checkpoint
        setup_launcher(cfg, args.launcher)
        runner = build_runner(cfg, 'test_loop', check_data=True)
    if args.out is not None:
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    try:
        metrics = runner.test()
    except pickle.UnpicklingError as error:
        raise SystemExit(
            f'{args.checkpoint} is not a plain weights file (weights-only loading refused it: '
            f'{str(error).splitlines()[0]}). If it was written by your own training run, '
            'pass --trust-checkpoint.') from error
    return metrics


if __name__ == '__main__':
    main()
