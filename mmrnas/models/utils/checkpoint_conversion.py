"""Convert official RelativeNAS (DARTS ``model.py``) state dicts to mmrnas key names.

The reference ``NetworkCIFAR`` / ``NetworkImageNet`` (docs/reference.md §1) and
``RelativeNASBackbone`` + ``RelativeNASClsHead`` have the same module layout below the cell
level (docs/reference.md §1.1, ``mmrnas/models/ops/op_modules.py``), so conversion only renames
prefixes:

=============================================  ===============================================
reference key (after stripping ``module.``)    mmpretrain ``ImageClassifier`` key
=============================================  ===============================================
``stem.*``, ``stem0.*``, ``stem1.*``           ``backbone.stem.*``, ``backbone.stem0.*``, ...
``cells.{i}.preprocess{0,1}.*``                ``backbone.cells.{i}.preprocess{0,1}.*``
``cells.{i}._ops.{e}.*``                       ``backbone.cells.{i}.ops.{e}.*``
``auxiliary_head.{features.j,classifier}.*``   ``head.aux_head.{features.j,classifier}.*``
``classifier.{weight,bias}``                   ``head.classifier.{weight,bias}``
=============================================  ===============================================

Torch only; nothing here builds a model.
"""
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch

__all__ = [
    'convert_relativenas_state_dict', 'describe_relativenas_state_dict', 'extract_state_dict'
]

_DATA_PARALLEL_PREFIX = 'module.'
_WRAPPER_KEYS = ('state_dict', 'model')
_MAX_LISTED_KEYS = 10
_CELL_KEY = re.compile(r'cells\.(\d+)\.')
_LEAF = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
# Inside an op: a Sequential ``op`` (ReLUConvBN, SepConv, DilConv), FactorizedReduce's
# ``conv_1`` / ``conv_2`` / ``bn``, or a bare Sequential index (conv_7x1_1x7).
_OP_INNER = r'(?:op\.\d+|\d+|conv_1|conv_2|bn)'
# (reference key pattern, our key template, whether it belongs to the head).
_RULES: tuple[tuple[re.Pattern, str, bool], ...] = (
    (re.compile(rf'(stem[01]?\.\d+\.{_LEAF})'), r'backbone.\1', False),
    (re.compile(rf'cells\.(\d+)\.(preprocess[01]\.{_OP_INNER}\.{_LEAF})'),
     r'backbone.cells.\1.\2', False),
    (re.compile(rf'cells\.(\d+)\._ops\.(\d+\.{_OP_INNER}\.{_LEAF})'),
     r'backbone.cells.\1.ops.\2', False),
    (re.compile(rf'auxiliary_head\.((?:features\.\d+|classifier)\.{_LEAF})'),
     r'head.aux_head.\1', True),
    (re.compile(r'classifier\.(weight|bias)'), r'head.classifier.\1', True),
)


def _list_keys(keys: list[str]) -> str:
    """``'a', 'b', ...`` for at most ``_MAX_LISTED_KEYS`` keys, then ``(and N more)``."""
    listed = ', '.join(repr(key) for key in keys[:_MAX_LISTED_KEYS])
    more = len(keys) - _MAX_LISTED_KEYS
    return listed + (f' (and {more} more)' if more > 0 else '')


def _strip_data_parallel(key: str) -> str:
    while key.startswith(_DATA_PARALLEL_PREFIX):
        key = key[len(_DATA_PARALLEL_PREFIX):]
    return key


def extract_state_dict(checkpoint: Any) -> Mapping[str, torch.Tensor]:
    """Return the state dict held by a loaded checkpoint.

    A mapping whose values are all tensors is returned as is; otherwise the first of its
    ``'state_dict'`` / ``'model'`` entries is searched the same way (so
    ``{'epoch': ..., 'state_dict': {...}}`` and ``{'model': {...}}`` both work).

    Args:
        checkpoint (Any): What ``torch.load`` returned.

    Raises:
        ValueError: If no state dict is found.
    """
    if isinstance(checkpoint, Mapping):
        if checkpoint and all(isinstance(value, torch.Tensor) for value in checkpoint.values()):
            return checkpoint
        for key in _WRAPPER_KEYS:
            if isinstance(checkpoint.get(key), Mapping):
                return extract_state_dict(checkpoint[key])
        found = f'a dict with keys {_list_keys([str(key) for key in checkpoint])}'
    else:
        found = f'a {type(checkpoint).__name__}'
    raise ValueError('expected a state dict (parameter name -> tensor), plain or under a '
                     f"'state_dict' or 'model' key, but found {found}")


def convert_relativenas_state_dict(state_dict: Mapping[str, torch.Tensor],
                                   backbone_only: bool = False) -> OrderedDict[str, torch.Tensor]:
    """Rename a reference ``NetworkCIFAR`` / ``NetworkImageNet`` state dict to mmrnas keys.

    Leading ``module.`` prefixes (``DataParallel``) are stripped and ``_ops`` becomes ``ops``;
    see the module docstring for the full table. The tensors are not copied.

    Args:
        state_dict (Mapping[str, Tensor]): The reference state dict.
        backbone_only (bool): Keep only the ``backbone.*`` keys (drop the classifier and the
            auxiliary head), for ``init_cfg=dict(type='Pretrained', prefix='backbone.')``.
            Defaults to False.

    Returns:
        OrderedDict[str, Tensor]: ``backbone.*`` and (unless ``backbone_only``) ``head.*``
        keys, in the order of ``state_dict``.

    Raises:
        ValueError: If keys match no reference parameter (the first ten are listed), two keys
            collide after stripping ``module.``, or a value is not a tensor.
    """
    converted: OrderedDict[str, torch.Tensor] = OrderedDict()
    sources: dict[str, str] = {}
    unmatched: list[str] = []
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f'{key!r} holds a {type(value).__name__}, not a tensor: this is '
                             'not a state dict')
        bare_key = _strip_data_parallel(key)
        for pattern, template, is_head in _RULES:
            match = pattern.fullmatch(bare_key)
            if match is not None:
                break
        else:
            unmatched.append(key)
            continue
        if is_head and backbone_only:
            continue
        new_key = match.expand(template)
        if new_key in converted:
            raise ValueError(f'{sources[new_key]!r} and {key!r} both convert to {new_key!r}')
        sources[new_key] = key
        converted[new_key] = value
    if unmatched:
        raise ValueError(
            f'{len(unmatched)} key(s) match no parameter of a RelativeNAS NetworkCIFAR / '
            f'NetworkImageNet: {_list_keys(unmatched)}')
    return converted


def describe_relativenas_state_dict(
        state_dict: Mapping[str, torch.Tensor]) -> dict[str, str | int]:
    """Infer the network of a reference state dict from its keys and shapes.

    Args:
        state_dict (Mapping[str, Tensor]): The reference state dict (``module.`` allowed).

    Returns:
        dict[str, str | int]: ``stem`` (``'cifar'`` or ``'imagenet'``), ``base_channels`` (C),
        ``num_cells`` (L), ``num_classes`` (0 without a classifier) and ``aux_head``
        (``'cifar'``, ``'imagenet'`` or ``'none'``).

    Raises:
        ValueError: If there is not exactly one kind of stem, or no cell.
    """
    tensors = {_strip_data_parallel(key): value for key, value in state_dict.items()}
    stems = [stem for stem, key in (('cifar', 'stem.0.weight'), ('imagenet', 'stem0.3.weight'))
             if key in tensors]
    if len(stems) != 1:
        raise ValueError("expected the stem of exactly one of NetworkCIFAR ('stem.0.weight') "
                         f"and NetworkImageNet ('stem0.3.weight'), found {len(stems)}")
    stem = stems[0]
    if stem == 'cifar':
        base_channels = tensors['stem.0.weight'].shape[0] // 3
    else:
        base_channels = tensors['stem0.3.weight'].shape[0]
    matches = (_CELL_KEY.match(key) for key in tensors)
    cell_indices = {int(match.group(1)) for match in matches if match is not None}
    if not cell_indices:
        raise ValueError('found no cells.* keys')
    classifier = tensors.get('classifier.weight')
    has_aux = any(key.startswith('auxiliary_head.') for key in tensors)
    return dict(
        stem=stem,
        base_channels=base_channels,
        num_cells=max(cell_indices) + 1,
        num_classes=0 if classifier is None else classifier.shape[0],
        aux_head=stem if has_aux else 'none')
