"""Export the network of a config to ONNX and check it with ONNX Runtime.

Usage: python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] [--shape H [W]] --out FILE
       [--backbone-only] [--trust-checkpoint] [--cfg-options KEY=VALUE ...]

Builds ``cfg.model`` (a retraining config: mmpretrain ``ImageClassifier`` with
``RelativeNASBackbone`` and ``RelativeNASClsHead``; ``--cfg-options genotype=...`` sets every
``RelativeNASBackbone``), loads CHECKPOINT weights-only (an MMEngine checkpoint's
``state_dict``, e.g. one written by ``tools/model_converters/relativenas_to_mmrnas.py``), puts
the model in eval mode (no drop path; the auxiliary head is not exported) and exports, with
``torch.onnx.export(dynamo=True)`` at opset :data:`OPSET` and a dynamic batch axis,

- the classifier's logits (output ``logits``), or
- with ``--backbone-only``, the backbone's pyramid: one output ``level{i}`` per level ``i`` of
  its ``out_indices`` (the auxiliary feature of ``with_aux_feature`` is left out).

The input ``input`` is the image batch as the network sees it: normalised by the config's
``data_preprocessor``, which is not part of the graph; its channels are the model's input
channels and its size ``--shape``, by default the size the config's pipelines fix (test, then
val, then train; :func:`mmrnas.utils.config_input_size`). Then ONNX Runtime (CPU) runs the
model on a random batch of :data:`CHECK_BATCH` images (the export used :data:`EXPORT_BATCH`)
and the maximum relative error of every output against PyTorch,
``max|ort - torch| / max|torch|``, must be at most :data:`TOLERANCE`; only then is FILE
written (atomically). It prints params and mult-adds (the RelativeNAS reference counter, as
``tools/analysis_tools/get_flops.py``) and the output names and shapes. A bad command line,
config or checkpoint ends with one ``error:`` line and exit code 2; a failed check with exit
code 1.
"""
import argparse
import importlib.util
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope

from mmrnas.models.utils.checkpoint_conversion import extract_state_dict
from mmrnas.models.utils.complexity import TensorForward, count_mult_adds, count_parameters
from mmrnas.models.utils.onnx_export import INPUT_NAME, OPSET, export_onnx, onnxruntime_session
from mmrnas.utils.cli import (
    CfgOptionsAction,
    describe_genotypes,
    describe_threads,
    exit_on_user_errors,
    load_config,
    model_input_shape,
)
from mmrnas.utils.fileio import atomic_write

PROG = 'pytorch2onnx.py'
EXPORT_BATCH = 1
CHECK_BATCH = 3
TOLERANCE = 1e-4
#: One image, C x H x W.
Shape = Tuple[int, int, int]
#: What the export (onnx, onnxscript) and its check (onnxruntime) import.
REQUIRED = ('onnx', 'onnxscript', 'onnxruntime')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description='Export a model to ONNX and check it against ONNX Runtime.')
    parser.add_argument('config', help='config file whose `model` is exported')
    parser.add_argument('checkpoint', nargs='?',
                        help='weights (an MMEngine checkpoint); without it the initial weights')
    parser.add_argument('--shape', nargs='+', metavar='H [W]',
                        help='input size: H W, or H for a square input; default: the size the '
                        "config's pipelines fix (test, then val, then train)")
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--backbone-only', action='store_true',
                        help="export the backbone's pyramid levels instead of the logits")
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='the checkpoint was written by your own training run: load it with '
                        'weights_only=False (needed for full runner checkpoints)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config entries, e.g. model.backbone.num_cells=8 or '
                        'genotype=NAME|FILE|Genotype(...) (every RelativeNASBackbone)')
    return parser.parse_args(argv)


def parse_shape(values: Sequence[str]) -> Tuple[int, int]:
    """``(H, W)`` from ``--shape H [W]``.

    Raises:
        ValueError: unless one or two positive integers are given.
    """
    if len(values) not in (1, 2) or not all(re.fullmatch(r'\d+', value) for value in values):
        raise ValueError(f'--shape takes H W (or H), positive integers; got {" ".join(values)}')
    height, width = (tuple(int(value) for value in values) * 2)[:2]
    if height < 1 or width < 1:
        raise ValueError(f'--shape takes positive sizes, got {height} {width}')
    return height, width


def read_state_dict(path: str, trust: bool) -> Dict[str, torch.Tensor]:
    """The state dict of a checkpoint file (``module.`` prefixes stripped).

    Raises:
        ValueError: if it cannot be read (weights-only unless ``trust``) or holds no state dict.
    """
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=not trust)
    except Exception as error:  # torch.load raises many types for a corrupt file
        message = str(error)
        refused = re.search(r'GLOBAL (\S+)', message)
        if refused:
            raise ValueError(
                f'{path} pickles Python objects besides tensors (e.g. {refused.group(1)}), which '
                'weights-only loading refuses; if it was written by your own training run, '
                'pass --trust-checkpoint') from None
        found = re.search(r'WeightsUnpickler error:\s*(.+)', message)
        detail = found.group(1) if found else f'{type(error).__name__}: {message}'
        raise ValueError(f'cannot read {path} as a PyTorch checkpoint '
                         f'({" ".join(detail.split())[:200]})') from None
    state_dict = extract_state_dict(checkpoint)
    return {re.sub(r'^(module\.)+', '', key): value for key, value in state_dict.items()}


def load_weights(model: nn.Module, path: str, backbone_only: bool, trust: bool) -> int:
    """Load a checkpoint strictly into ``model`` (its ``backbone.*`` tensors into
    ``model.backbone`` with ``backbone_only``); return the number of tensors loaded.

    Raises:
        ValueError: if the checkpoint does not fit the model.
    """
    state_dict = read_state_dict(path, trust)
    target = model
    if backbone_only:
        target = model.backbone
        state_dict = {key[len('backbone.'):]: value for key, value in state_dict.items()
                      if key.startswith('backbone.')}
        if not state_dict:
            raise ValueError(f'{path} holds no backbone.* tensors')
    expected = target.state_dict()
    problems = {
        'missing': [key for key in expected if key not in state_dict],
        'unexpected': [key for key in state_dict if key not in expected],
        'of another shape': [key for key, value in expected.items()
                             if key in state_dict and state_dict[key].shape != value.shape],
    }
    found = [f'{len(keys)} {kind} (e.g. {keys[0]!r})' for kind, keys in problems.items() if keys]
    if found:
        raise ValueError(
            f'{path} does not fit the model of the config: tensors {", ".join(found)}; build it '
            'as trained (genotype, channels, cells, classes) with --cfg-options')
    target.load_state_dict(state_dict, strict=True)
    return len(state_dict)


def exported_module(model: nn.Module, config: str,
                    backbone_only: bool) -> Tuple[TensorForward, str]:
    """The module to export (eval mode) and a description of what it outputs.

    Raises:
        ValueError: if the model is not a classifier with a head (without ``backbone_only``)
            or has no backbone (with it).
    """
    if backbone_only:
        backbone = getattr(model, 'backbone', None)
        if not isinstance(backbone, nn.Module):
            raise ValueError(f'{config} builds a {type(model).__name__}, which has no backbone')
        if getattr(backbone, 'with_aux_feature', False):
            backbone.with_aux_feature = False  # the auxiliary head's input, not a level
        return TensorForward(backbone).eval(), f'pyramid of {type(backbone).__name__}'
    from mmpretrain.models import ImageClassifier
    if not (isinstance(model, ImageClassifier) and model.with_head):
        raise ValueError(f'{config} builds a {type(model).__name__}, not an mmpretrain '
                         'ImageClassifier with a head: pass --backbone-only to export its backbone')
    return TensorForward(model).eval(), f'logits of {type(model).__name__}'


def as_outputs(result: object) -> Tuple[torch.Tensor, ...]:
    """A forward's result as a tuple of tensors."""
    return tuple(result) if isinstance(result, (tuple, list)) else (result, )


def output_names(module: TensorForward, backbone_only: bool, num_outputs: int) -> List[str]:
    """``['logits']``, or ``level{i}`` for the backbone's ``out_indices`` (else 0, 1, ...)."""
    if not backbone_only:
        return ['logits']
    levels = getattr(module.model, 'out_indices', None)
    if not (isinstance(levels, (tuple, list)) and len(levels) == num_outputs):
        levels = range(num_outputs)
    return [f'level{level}' for level in levels]


def probe(module: nn.Module, shape: Shape, source: str) -> Tuple[torch.Tensor, ...]:
    """Outputs of one forward at the export batch size.

    Args:
        module (nn.Module): The module to export.
        shape (Shape): Its input, C x H x W.
        source (str): Where H x W come from (``'size from --shape'`` or from the config, as
            :func:`mmrnas.utils.cli.model_input_shape` says), for the message.

    Raises:
        ValueError: if the network does not run at this input size.
    """
    try:
        with torch.no_grad():
            outputs = as_outputs(module(torch.zeros(EXPORT_BATCH, *shape)))
    except (RuntimeError, ValueError) as error:
        size = (f'--shape {shape[1]} {shape[2]}' if source == 'size from --shape' else
                f'input {shape[1]} x {shape[2]} ({source}; --shape H W sets another)')
        raise ValueError(f'{size}: the network does not run on this input size '
                         f'({str(error).strip().splitlines()[0]})') from None
    if not all(isinstance(output, torch.Tensor) for output in outputs):
        raise ValueError('the exported forward must return tensors')
    return outputs


def relative_errors(module: nn.Module, session, shape: Shape) -> Dict[str, float]:
    """``max|ort - torch| / max|torch|`` per output on a random batch of ``CHECK_BATCH``."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(CHECK_BATCH, *shape, generator=generator)
    with torch.no_grad():
        expected = as_outputs(module(inputs))
    actual = session.run(None, {INPUT_NAME: inputs.numpy()})
    errors = {}
    for meta, ort_out, torch_out in zip(session.get_outputs(), actual, expected):
        reference = torch_out.numpy()
        if ort_out.shape != reference.shape:
            raise RuntimeError(f'output {meta.name}: ONNX Runtime gives shape {ort_out.shape}, '
                               f'PyTorch {reference.shape}')
        scale = max(float(np.abs(reference).max()), np.finfo(np.float32).tiny)
        errors[meta.name] = float(np.abs(ort_out - reference).max()) / scale
    return errors


def describe_shape(shape: Sequence) -> str:
    """``batch x 3 x 16 x 16`` for an ONNX shape (symbolic axes by name)."""
    return ' x '.join(str(size) for size in shape)


def main(argv: Optional[List[str]] = None) -> int:
    """Export, check and write; return the exit status (0, or 1 if the check failed)."""
    args = parse_args(argv)
    with exit_on_user_errors(PROG):
        missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
        if missing:
            raise ValueError(f'{", ".join(missing)} not installed: '
                             'they belong to the core install, bash tools/setup_env.sh '
                             '(or pip install -r requirements/core.txt)')
        size = None if args.shape is None else parse_shape(args.shape)
        if osp.isdir(args.out):
            raise ValueError(f'--out {args.out} is a folder, give a file name')
        if args.checkpoint is not None and not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
        cfg = load_config(args.config, args.cfg_options)
        print(f'config: {args.config}')
        print('\n'.join(describe_genotypes(cfg) + [describe_threads()]))
        init_default_scope(cfg.get('default_scope', 'mmrnas'))
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        module, content = exported_module(model, args.config, args.backbone_only)
        if args.checkpoint is None:
            print('checkpoint: none (initial weights: the export and its check do not need '
                  'trained ones)')
        else:
            loaded = load_weights(model, args.checkpoint, args.backbone_only,
                                  args.trust_checkpoint)
            print(f'checkpoint: {args.checkpoint} ({loaded} tensors)')
        shape, source = model_input_shape(cfg, model, size)
        names = output_names(module, args.backbone_only, len(probe(module, shape, source)))

    params = count_parameters(module)
    mult_adds = count_mult_adds(module, shape)
    print(f'exported: {content}, eval mode, input {EXPORT_BATCH}x{"x".join(map(str, shape))} '
          f'({source})')
    kind = 'backbone' if args.backbone_only else 'auxiliary excluded (paper convention)'
    print(f'params, {kind}: {params:,} ({params / 1e6:.3f} M)')
    print(f'mult-adds [counter: RelativeNAS reference rule, conv + linear]: '
          f'{mult_adds / 1e6:.2f} M')
    onnx_model = export_onnx(module, torch.randn(EXPORT_BATCH, *shape), names,
                             dynamic_batch=True)
    print(f'exporter: torch.onnx.export(dynamo=True), opset {OPSET}, batch axis dynamic '
          f'(exported at batch {EXPORT_BATCH})')
    session = onnxruntime_session(onnx_model)
    for meta in session.get_inputs() + session.get_outputs():
        print(f'  {meta.name}: {describe_shape(meta.shape)}')
    errors = relative_errors(module, session, shape)
    print(f'onnxruntime (CPUExecutionProvider) vs PyTorch at batch {CHECK_BATCH}, max relative '
          'error: ' + ', '.join(f'{name} {error:.2e}' for name, error in errors.items()))
    failed = {name: error for name, error in errors.items() if not error <= TOLERANCE}
    if failed:
        print(f'{PROG}: error: ONNX Runtime differs from PyTorch by more than {TOLERANCE:g} '
              '(max relative error): ' + ', '.join(f'{n} {e:.2e}' for n, e in failed.items())
              + f'; {args.out} not written', file=sys.stderr)
        return 1
    atomic_write(args.out, onnx_model)
    print(f'saved: {args.out} ({len(onnx_model) / 1e6:.2f} MB)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
