"""Train a model from an MMEngine config (mmpretrain style).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--auto-scale-lr] [--cfg-options k=v ...] [--launcher ...]

``--cfg-options genotype=NAME|FILE|'Genotype(...)'`` sets the genotype of every
``RelativeNASBackbone``; the log names the genotype and the thread count used. A missing config,
a bad option or genotype, a missing pretrained checkpoint, missing data (or a failed download)
or data that do not fit the model (classes, image channels, normalisation) end with one
``train.py: error:`` line and exit code 2, before the Runner writes anything.
"""
import argparse
from typing import List, Optional

from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

from mmrnas.utils.cli import (
    CfgOptionsAction,
    build_runner,
    exit_on_user_errors,
    load_config,
    parse_launch_args,
    set_work_dir,
)
from mmrnas.utils.compat import register_resume_loader, resume_path
from mmrnas.utils.config import check_pretrained_checkpoints
from mmrnas.utils.dist import setup_launcher


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint of the run (trusted: it is loaded with '
        'weights_only=False); without a value, from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the real batch size / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, key=value pairs; genotype=NAME|FILE|Genotype(...) '
        'sets every RelativeNASBackbone')
    return parse_launch_args(parser, argv, 'the dir to save logs and checkpoints')


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    set_work_dir(cfg, args.config, args.work_dir)

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ValueError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) '
                             'in the config')
        cfg.auto_scale_lr.enable = True

    if args.resume is not None:
        # Only the run's own checkpoint is loaded with weights_only=False (see
        # mmrnas/utils/compat.py); config load_from / pretrained weights stay weights-only.
        register_resume_loader()
        checkpoint = (find_latest_checkpoint(cfg.work_dir)
                      if args.resume == 'auto' else args.resume)
        cfg.resume = True
        cfg.load_from = None if checkpoint is None else resume_path(checkpoint)
    return cfg


def main(argv: Optional[List[str]] = None) -> Runner:
    """Train as the command line says; return the Runner after training (its val / test loops
    stay usable, e.g. ``runner.test()``)."""
    args = parse_args(argv)
    with exit_on_user_errors():
        cfg = merge_args(load_config(args.config, args.cfg_options), args)
        check_pretrained_checkpoints(cfg)
        setup_launcher(cfg, args.launcher)
        runner = build_runner(cfg, 'train_loop', check_data=True)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
