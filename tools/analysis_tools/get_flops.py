"""Parameters and mult-adds of the model in a config, with the reference's counter.

Usage: python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]] [--train-mode]
       [--cfg-options KEY=VALUE ...]

The input is one image of the size the config's pipelines fix (test, then val, then train: the
last crop / resize size, e.g. 32 x 32 for CIFAR, 224 x 224 for ImageNet, the 1024 x 1024 train
crop for BiSeNet, whose segmentation test runs at the native size; see
:func:`mmrnas.utils.config_input_size`) with the model's input channels, unless ``--shape``
gives the size; the output names where the size came from.

Prints parameters with and without the auxiliary head (the paper excludes it), the mult-adds of
the RelativeNAS reference counter (conv + linear only, one image, eval mode; docs/reference.md §8)
and, side by side, MMEngine's ``get_model_complexity_info`` (an fvcore-style counter that traces
the graph: it drops computations whose result is unused — e.g. ``preprocess0`` of a reduction
cell whose edges never read state 0, which the reference does count — and skips operators it
does not support, such as BN and pooling; its warnings are silenced here). It first prints the
config, the genotype of every ``RelativeNASBackbone`` (set them all with
``--cfg-options genotype=NAME|FILE|'Genotype(...)'``) and the PyTorch thread count.
"""
import argparse
import logging
import sys

from mmengine.logging import MMLogger
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope

from mmrnas.models.utils.complexity import TensorForward, count_mult_adds, count_parameters
from mmrnas.utils.cli import (
    CfgOptionsAction,
    describe_genotypes,
    describe_threads,
    exit_on_user_errors,
    load_config,
    model_input_shape,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Count parameters and mult-adds of a model.')
    parser.add_argument('config', help='config file whose `model` is counted')
    parser.add_argument('--shape', type=int, nargs='+',
                        help="input size: H (square) or H W; default: the size the config's "
                        'pipelines fix (test, then val, then train), e.g. 32 for CIFAR, 224 for '
                        'ImageNet')
    parser.add_argument('--train-mode', action='store_true',
                        help='forward in train mode (the reference does so for BiSeNet)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config entries, e.g. model.backbone.base_channels=48 or '
                        'genotype=NAME|FILE|Genotype(...) (every RelativeNASBackbone)')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error(f'--shape takes H or H W, got {len(args.shape)} values')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    with exit_on_user_errors():
        cfg = load_config(args.config, args.cfg_options)
        print(f'config: {args.config}')
        print('\n'.join(describe_genotypes(cfg) + [describe_threads()]))
        init_default_scope(cfg.get('default_scope', 'mmrnas'))
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
    shape, source = model_input_shape(cfg, model, args.shape)
    total = count_parameters(model, exclude=())
    without_aux = count_parameters(model)
    mult_adds = count_mult_adds(model, shape, train_mode=args.train_mode)

    from mmengine.analysis import get_model_complexity_info
    wrapper = TensorForward(model).train(args.train_mode)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # per-operator "unsupported" / "never called" warnings
    try:
        mmengine_info = get_model_complexity_info(wrapper, input_shape=shape, show_table=False,
                                                  show_arch=False)
    finally:
        logger.setLevel(level)
    mode = 'train' if args.train_mode else 'eval'
    print(f'input: 1x{"x".join(map(str, shape))} ({source}), {mode} mode')
    print(f'params, auxiliary excluded (paper convention): {without_aux:,} '
          f'({without_aux / 1e6:.3f} M)')
    print(f'params, all: {total:,} ({total / 1e6:.3f} M)')
    print(f'mult-adds [counter: RelativeNAS reference rule, conv + linear]: '
          f'{mult_adds / 1e6:.2f} M')
    print(f'FLOPs [counter: mmengine.analysis.get_model_complexity_info]: '
          f'{mmengine_info["flops"] / 1e6:.2f} M (params {mmengine_info["params"]:,})')


if __name__ == '__main__':
    sys.exit(main())
