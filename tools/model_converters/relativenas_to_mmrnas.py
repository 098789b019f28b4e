"""Convert an official RelativeNAS checkpoint to an mmengine checkpoint for mmrnas.

Usage: python tools/model_converters/relativenas_to_mmrnas.py SRC DST [--backbone-only]

SRC is a state dict of the reference ``NetworkCIFAR`` / ``NetworkImageNet`` (as saved by the
reference ``train.py``: ``torch.save(model.state_dict(), ...)``), possibly with
``DataParallel``'s ``module.`` prefix or wrapped under a ``state_dict`` / ``model`` key. It is
loaded with ``weights_only=True`` only: a file that also pickles Python objects is refused.

DST becomes ``{'meta': {...}, 'state_dict': {...}}`` (written atomically) holding

- by default, ``backbone.*`` and ``head.*`` keys, for ``load_checkpoint`` into the
  ``ImageClassifier`` (``RelativeNASBackbone`` + ``RelativeNASClsHead``) of the matching
  retrain config;
- with ``--backbone-only``, ``backbone.*`` keys only, for a backbone initialised with
  ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``.

Errors print one line on stderr and exit with status 2.
"""
import argparse
import os
import re
import sys
from typing import Any

import torch

from mmrnas.models.utils.checkpoint_conversion import (
    convert_relativenas_state_dict,
    describe_relativenas_state_dict,
    extract_state_dict,
)
from mmrnas.utils.fileio import atomic_write

TOOL = 'tools/model_converters/relativenas_to_mmrnas.py'
PROG = 'relativenas_to_mmrnas'
# Phrases of the weights-only unpickler when it meets a Python object it may not build.
_REFUSAL_MARKERS = ('GLOBAL', 'allowlisted', 'unrecognized function')


class ConversionError(Exception):
    """An error reported to the user as one line, without a traceback."""


def _one_line(text: str, limit: int = 300) -> str:
    text = ' '.join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def load_checkpoint_weights_only(path: str) -> Any:
    """``torch.load(path, map_location='cpu', weights_only=True)`` with one-line errors.

    Args:
        path (str): The checkpoint file.

    Raises:
        ConversionError: If the file is missing or unreadable, or needs full unpickling.
    """
    if not os.path.exists(path):
        raise ConversionError(f'{path}: no such file')
    if not os.path.isfile(path):
        raise ConversionError(f'{path} is not a file')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # torch.load raises many types for a corrupt file
        message = str(error)
        detail = f'{type(error).__name__}: {message}'
        if message.startswith('Weights only load failed'):
            found = re.search(r'WeightsUnpickler error:\s*(.+?)(?:\n\n|$)', message, re.DOTALL)
            detail = found.group(1) if found else detail
            if any(marker in message for marker in _REFUSAL_MARKERS):
                found = re.search(r'GLOBAL (\S+)', message)
                needs = f' (it needs {found.group(1)})' if found else ''
                raise ConversionError(
                    f'{path} pickles Python objects besides tensors and plain containers'
                    f'{needs}, so it cannot be loaded with weights_only=True; this tool refuses '
                    'to unpickle it fully, because unpickling a file from elsewhere can run '
                    'arbitrary code. Where you trust the file, re-save only its state dict '
                    '(torch.save(model.state_dict(), ...)) and convert that.') from None
        raise ConversionError(
            f'cannot read {path} as a PyTorch checkpoint ({_one_line(detail)})') from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Convert an official RelativeNAS checkpoint (NetworkCIFAR / '
        'NetworkImageNet state dict) to an mmengine checkpoint for mmrnas.')
    parser.add_argument('src', help='official checkpoint (.pt / .pth)')
    parser.add_argument('dst', help='output mmengine checkpoint')
    parser.add_argument('--backbone-only', action='store_true',
                        help='keep only backbone.* keys (drop classifier and auxiliary head)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the conversion; return the exit status (0, or 2 after a one-line error)."""
    args = parse_args(argv)
    try:
        state_dict = extract_state_dict(load_checkpoint_weights_only(args.src))
        network = describe_relativenas_state_dict(state_dict)
        converted = convert_relativenas_state_dict(state_dict, args.backbone_only)
        content = 'backbone' if args.backbone_only else 'classifier'
        meta = dict(converted_from=os.path.basename(args.src), tool=TOOL, content=content,
                    **network)
        checkpoint = dict(meta=meta, state_dict=converted)
        atomic_write(args.dst, lambda f: torch.save(checkpoint, f))
    except (ConversionError, ValueError, OSError) as error:
        print(f'{PROG}: error: {_one_line(str(error), limit=1000)}', file=sys.stderr)
        return 2

    classes = network['num_classes'] or 'no'
    aux = ('no auxiliary head' if network['aux_head'] == 'none' else
           f"{network['aux_head']} auxiliary head")
    print(f"network: {network['stem']} stem, base_channels={network['base_channels']}, "
          f"num_cells={network['num_cells']}, {classes} classes, {aux}")
    dropped = len(state_dict) - len(converted)
    kept = (f'backbone.* only, {dropped} head tensors dropped'
            if args.backbone_only else 'backbone.* + head.*')
    print(f'converted {len(converted)} tensors ({kept}) -> {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
