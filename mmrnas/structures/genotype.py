"""The architecture as data: :class:`Genotype`, its validation, files and interop.

A genotype describes the two DARTS cell types of a network. Each cell has two input states
(state 0 = output of the cell before the previous one, state 1 = output of the previous cell)
and ``n`` intermediate nodes; node ``j`` is state ``j + 2`` and sums the outputs of two
``(op_name, input_index)`` edges whose input is any earlier state ``0 .. j + 1``. The cell
output concatenates the states listed in ``*_concat``. See docs/reference.md §1.2.
"""
from __future__ import annotations

import ast
import json
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mmrnas.utils.fileio import atomic_write
from .op_names import ALL_OPS, SEARCH_PRIMITIVES

__all__ = ['Genotype', 'Edge', 'CELL_KINDS', 'GENOTYPE_SUFFIXES']

Edge = tuple[str, int]
"""One edge of a cell: ``(op_name, input_state_index)``."""

CELL_KINDS: tuple[str, ...] = ('normal', 'reduce')
GENOTYPE_SUFFIXES: tuple[str, ...] = ('.yaml', '.yml', '.json')

_FIELDS = ('normal', 'normal_concat', 'reduce', 'reduce_concat')
# NNI DARTS keys: '<cell>/op_<state>_<edge>' and '<cell>/input_<state>_<edge>', state >= 2.
_NNI_KEY = re.compile(r'(normal|reduce)/(op|input)_([2-9]|[1-9]\d+)_([01])')


def _as_int(value: Any) -> int | None:
    """Return ``value`` as a Python int if it is an integer (numpy ints included, bools not)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return None


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping))


def _normalise_edges(kind: str, edges: Any) -> tuple[Edge, ...]:
    """Validate the edges of one cell and return them as a tuple of ``(str, int)`` tuples.

    Args:
        kind: ``'normal'`` or ``'reduce'`` (used in error messages).
        edges: the edges, two per node in node order.
    """
    if not _is_sequence(edges):
        raise ValueError(f'{kind} cell: expected a sequence of (op, input) pairs, '
                         f'got {type(edges).__name__}')
    edges = list(edges)
    if len(edges) < 2 or len(edges) % 2:
        raise ValueError(f'{kind} cell: expected an even number (>= 2) of edges, two per node, '
                         f'got {len(edges)}')
    result = []
    for position, edge in enumerate(edges):
        node, slot = divmod(position, 2)
        where = f'{kind} cell, node {node} (state {node + 2}), edge {slot}'
        if not isinstance(edge, Sequence) or isinstance(edge, (str, bytes)) or len(edge) != 2:
            raise ValueError(f'{where}: expected an (op, input) pair, got {edge!r}')
        op, index = edge
        if not isinstance(op, str) or op not in ALL_OPS:
            raise ValueError(f"{where}: unknown op {op!r}; known ops: {', '.join(ALL_OPS)}")
        state = _as_int(index)
        if state is None:
            raise ValueError(f'{where}: input index must be an int, got {index!r}')
        if not 0 <= state <= node + 1:
            raise ValueError(f'{where}: input index {state} is out of range: '
                             f'node {node} may read states 0..{node + 1}')
        result.append((op, state))
    return tuple(result)


def _normalise_concat(kind: str, concat: Any, num_nodes: int) -> tuple[int, ...]:
    """Validate the concatenated states of one cell and return them as a tuple of ints.

    Args:
        kind: ``'normal'`` or ``'reduce'`` (used in error messages).
        concat: the states to concatenate (list, tuple or ``range``), order kept.
        num_nodes: number of intermediate nodes of that cell.
    """
    where = f'{kind}_concat'
    if not _is_sequence(concat):
        raise ValueError(f'{where}: expected a sequence of state indices, got {concat!r}')
    states: list[int] = []
    for item in concat:
        state = _as_int(item)
        if state is None:
            raise ValueError(f'{where}: state indices must be ints, got {item!r}')
        if not 2 <= state <= num_nodes + 1:
            raise ValueError(f'{where}: state {state} is out of range: a cell with {num_nodes} '
                             f'nodes can concatenate states 2..{num_nodes + 1}')
        if state in states:
            raise ValueError(f'{where}: state {state} is listed twice')
        states.append(state)
    if not states:
        raise ValueError(f'{where}: must list at least one state')
    return tuple(states)


def _check_kind(kind: str) -> None:
    if kind not in CELL_KINDS:
        raise ValueError(f"cell kind must be 'normal' or 'reduce', got {kind!r}")


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in GENOTYPE_SUFFIXES:
        raise ValueError(f'{path}: unsupported genotype file suffix {path.suffix!r}; '
                         f"supported suffixes: {', '.join(GENOTYPE_SUFFIXES)}")
    return suffix


def _closing_paren(text: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at ``open_at`` (string literals skipped)."""
    depth = 0
    quote = ''
    escaped = False
    for index in range(open_at, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == '\\':
                escaped = True
            elif char == quote:
                quote = ''
        elif char in '\'"':
            quote = char
        elif char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
            if depth == 0:
                return index
    raise ValueError('malformed Genotype text: the parenthesis after "Genotype" is never closed')


def _literal(name: str, node: ast.expr) -> Any:
    """Value of one ``Genotype(...)`` argument: a literal or ``range(...)`` with int bounds."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'range':
        bounds = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
        if (node.keywords or not 1 <= len(node.args) <= 3 or len(bounds) != len(node.args)
                or not all(type(bound) is int for bound in bounds)):
            raise ValueError(f'malformed Genotype text: {name}={ast.unparse(node)} is not '
                             'range() with 1 to 3 int literals')
        return range(*bounds)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise ValueError(f'malformed Genotype text: {name}={ast.unparse(node)} is not a literal '
                         'list or range(a, b)') from None


def _json_text(data: dict[str, list]) -> str:
    """JSON with one edge per line (deterministic, readable)."""
    items = []
    for key, value in data.items():
        if key in CELL_KINDS:
            edges = ',\n'.join(f'    {json.dumps(edge)}' for edge in value)
            items.append(f'  {json.dumps(key)}: [\n{edges}\n  ]')
        else:
            items.append(f'  {json.dumps(key)}: {json.dumps(value)}')
    return '{\n' + ',\n'.join(items) + '\n}\n'


def _parse_file_text(text: str, suffix: str) -> Any:
    """Parse a genotype file; DARTS ``Genotype(...)`` text that is no valid YAML/JSON is
    returned as the raw string."""
    try:
        return json.loads(text) if suffix == '.json' else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        if 'Genotype(' in text:
            return text
        kind = 'JSON' if suffix == '.json' else 'YAML'
        raise ValueError(f'not valid {kind}: {err}') from None


@dataclass(frozen=True, repr=False)
class Genotype:
    """A DARTS-style architecture: the edges and outputs of the normal and reduction cells.

    Immutable, compared and hashed by value. The constructor accepts lists, tuples or
    ``range`` and stores tuples; numpy integers become ints. Duplicate edges (the same input
    and/or op twice on one node) are legal and kept.

    Args:
        normal: edges ``(op_name, input_index)`` of the normal cell, two per node in node
            order; node ``j`` is state ``j + 2`` and may read states ``0 .. j + 1``.
        normal_concat: states concatenated to form the normal cell's output (each in
            ``2 .. num_nodes + 1``, unique, order kept).
        reduce: edges of the reduction cell, as ``normal``.
        reduce_concat: output states of the reduction cell, as ``normal_concat``.

    Raises:
        ValueError: naming the cell, node and edge that is invalid.
    """

    normal: tuple[Edge, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Edge, ...]
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for kind in CELL_KINDS:
            edges = _normalise_edges(kind, getattr(self, kind))
            concat = _normalise_concat(kind, getattr(self, f'{kind}_concat'), len(edges) // 2)
            object.__setattr__(self, kind, edges)
            object.__setattr__(self, f'{kind}_concat', concat)

    # ----------------------------------------------------------------------- structure
    def cell(self, kind: str) -> tuple[tuple[Edge, ...], tuple[int, ...]]:
        """Return ``(edges, concat)`` of one cell.

        Args:
            kind: ``'normal'`` or ``'reduce'``.
        """
        _check_kind(kind)
        return getattr(self, kind), getattr(self, f'{kind}_concat')

    def num_nodes(self, cell: str) -> int:
        """Number of intermediate nodes (``len(edges) // 2``) of one cell.

        Args:
            cell: ``'normal'`` or ``'reduce'``.
        """
        return len(self.cell(cell)[0]) // 2

    @property
    def is_search_space(self) -> bool:
        """True if the genotype lies in the RelativeNAS search space: both cells have 4 nodes,
        concatenate states 2..5 and use only ``SEARCH_PRIMITIVES``."""
        for kind in CELL_KINDS:
            edges, concat = self.cell(kind)
            if len(edges) != 8 or concat != (2, 3, 4, 5):
                return False
            if any(op not in SEARCH_PRIMITIVES for op, _ in edges):
                return False
        return True

    # ----------------------------------------------------------------------- dict
    def to_dict(self) -> dict[str, list]:
        """Plain ``{'normal': [[op, idx], ...], 'normal_concat': [...], 'reduce': ...,
        'reduce_concat': ...}`` (lists only, ready for YAML/JSON)."""
        return {
            'normal': [[op, index] for op, index in self.normal],
            'normal_concat': list(self.normal_concat),
            'reduce': [[op, index] for op, index in self.reduce],
            'reduce_concat': list(self.reduce_concat),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Genotype:
        """Build from the mapping written by :meth:`to_dict` (list or tuple pairs).

        Args:
            data: mapping with exactly the keys ``normal``, ``normal_concat``, ``reduce``,
                ``reduce_concat``.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f'expected a mapping with keys {", ".join(_FIELDS)}, '
                             f'got {type(data).__name__}')
        missing = [key for key in _FIELDS if key not in data]
        extra = sorted(repr(key) for key in data if key not in _FIELDS)
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing keys: {', '.join(missing)}")
            if extra:
                problems.append(f"unexpected keys: {', '.join(extra)}")
            raise ValueError(f"genotype mapping has {'; '.join(problems)} "
                             f"(expected exactly {', '.join(_FIELDS)})")
        return cls(**{key: data[key] for key in _FIELDS})

    # ----------------------------------------------------------------------- files
    def dump(self, path: str | os.PathLike) -> None:
        """Write the genotype to a ``.yaml``/``.yml`` or ``.json`` file, atomically.

        The content is deterministic (one edge per line, no timestamps), so equal genotypes
        give byte-identical files. Missing parent folders are created.

        Args:
            path: destination; the suffix selects the format.
        """
        path = Path(path)
        if _check_suffix(path) == '.json':
            text = _json_text(self.to_dict())
        else:
            text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)
        atomic_write(path, text)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Genotype:
        """Read a genotype from a ``.yaml``/``.yml`` or ``.json`` file.

        The file may hold the :meth:`to_dict` mapping, that mapping under a top-level
        ``genotype`` key (other top-level keys are ignored then), or DARTS
        ``Genotype(...)`` text (also under ``genotype``).

        Args:
            path: the file; the suffix selects the parser.

        Raises:
            ValueError: with the file name, for a bad suffix or content.
        """
        path = Path(path)
        suffix = _check_suffix(path)
        text = path.read_text(encoding='utf-8')
        try:
            data = _parse_file_text(text, suffix)
            if isinstance(data, Mapping) and 'genotype' in data:
                data = data['genotype']
            if isinstance(data, str):
                return cls.from_string(data)
            if data is None:
                raise ValueError('the file is empty')
            if not isinstance(data, Mapping):
                raise ValueError(f'expected a mapping with keys {", ".join(_FIELDS)} (optionally '
                                 'under a top-level "genotype" key) or Genotype(...) text, '
                                 f'got {type(data).__name__}')
            return cls.from_dict(data)
        except ValueError as err:
            raise ValueError(f'{path}: {err}') from None

    # ----------------------------------------------------------------------- text
    def __repr__(self) -> str:
        return (f'Genotype(normal={list(self.normal)!r}, '
                f'normal_concat={list(self.normal_concat)!r}, '
                f'reduce={list(self.reduce)!r}, '
                f'reduce_concat={list(self.reduce_concat)!r})')

    @classmethod
    def from_string(cls, text: str) -> Genotype:
        """Parse the ``Genotype(normal=[...], normal_concat=..., reduce=[...],
        reduce_concat=...)`` text that DARTS and RelativeNAS print in their logs.

        Anything before ``Genotype(`` (a log prefix) and after its closing parenthesis is
        ignored; arguments may be keywords or positional (field order), concat may be a
        list or ``range(a, b)``. Parsed with :mod:`ast`, never evaluated.

        Args:
            text: the text holding ``Genotype(...)``.
        """
        if not isinstance(text, str):
            raise ValueError(f'expected Genotype(...) text, got {type(text).__name__}')
        start = text.find('Genotype(')
        if start < 0:
            raise ValueError("no 'Genotype(' found in the text")
        end = _closing_paren(text, start + len('Genotype'))
        try:
            call = ast.parse(text[start:end + 1], mode='eval').body
        except SyntaxError as err:
            raise ValueError(f'malformed Genotype text: {err.msg}') from None
        assert isinstance(call, ast.Call)  # the source is 'Genotype(' ... matching ')'
        if len(call.args) > len(_FIELDS):
            raise ValueError(f'malformed Genotype text: {len(call.args)} positional arguments, '
                             f'at most {len(_FIELDS)} allowed')
        nodes = dict(zip(_FIELDS, call.args))
        for keyword in call.keywords:
            if keyword.arg not in _FIELDS:
                raise ValueError(f'malformed Genotype text: unknown argument {keyword.arg!r}; '
                                 f"expected {', '.join(_FIELDS)}")
            if keyword.arg in nodes:
                raise ValueError(f'malformed Genotype text: {keyword.arg} given twice')
            nodes[keyword.arg] = keyword.value
        missing = [name for name in _FIELDS if name not in nodes]
        if missing:
            raise ValueError(f"malformed Genotype text: missing {', '.join(missing)}")
        return cls(**{name: _literal(name, nodes[name]) for name in _FIELDS})

    # ----------------------------------------------------------------------- NNI
    def to_nni(self) -> dict[str, str | list[int]]:
        """Architecture dict for NNI's DARTS space (``nni.nas.hub.pytorch.DARTS``, NNI 3.x).

        Keys are ``'<cell>/op_<state>_<edge>'`` (op name) and ``'<cell>/input_<state>_<edge>'``
        (a one-element list holding the input state, as NNI 3 samples ``InputChoice``), with
        ``state`` counted from 2 (first intermediate node) and ``edge`` in {0, 1}. Per node
        the order is op_0, op_1, input_0, input_1, normal cell first.

        Raises:
            ValueError: if a cell does not concatenate all its intermediate nodes, which is
                the only output NNI's DARTS space (``merge_op='all'``) can express.
        """
        arch: dict[str, str | list[int]] = {}
        for kind in CELL_KINDS:
            edges, concat = self.cell(kind)
            num_nodes = len(edges) // 2
            if concat != tuple(range(2, num_nodes + 2)):
                raise ValueError(f'{kind}_concat {list(concat)} cannot be expressed in NNI\'s '
                                 'DARTS space, which concatenates all intermediate states '
                                 f'2..{num_nodes + 1}')
            for node in range(num_nodes):
                pair = edges[2 * node:2 * node + 2]
                for slot, (op, _) in enumerate(pair):
                    arch[f'{kind}/op_{node + 2}_{slot}'] = op
                for slot, (_, index) in enumerate(pair):
                    arch[f'{kind}/input_{node + 2}_{slot}'] = [index]
        return arch

    @classmethod
    def from_nni(cls, arch: Mapping[str, Any]) -> Genotype:
        """Build from an NNI DARTS architecture dict (see :meth:`to_nni`).

        Input values may be an int (NNI 2.x ``nni.retiarii``) or a one-element list (NNI 3.x).
        The number of nodes is taken from the keys; both cells concatenate all their nodes.

        Args:
            arch: the architecture dict, e.g. from ``strategy.export_top_models()``.

        Raises:
            ValueError: naming unknown or missing keys, or a malformed value.
        """
        if not isinstance(arch, Mapping):
            raise ValueError(f'expected an NNI architecture dict, got {type(arch).__name__}')
        found: dict[tuple[str, str, int, int], Any] = {}
        unknown = []
        for key, value in arch.items():
            match = _NNI_KEY.fullmatch(key) if isinstance(key, str) else None
            if match is None:
                unknown.append(repr(key))
                continue
            kind, what, state, slot = match.groups()
            found[(kind, what, int(state), int(slot))] = value
        if unknown:
            raise ValueError(f"unknown keys in NNI architecture dict: {', '.join(unknown)}; "
                             "expected keys like 'normal/op_2_0' and 'normal/input_2_0'")
        missing = []
        last_state = {}
        for kind in CELL_KINDS:
            last_state[kind] = max((s for (k, _, s, _) in found if k == kind), default=2)
            missing += [f'{kind}/{what}_{state}_{slot}'
                        for state in range(2, last_state[kind] + 1)
                        for what in ('op', 'input') for slot in (0, 1)
                        if (kind, what, state, slot) not in found]
        if missing:
            raise ValueError(f"missing keys in NNI architecture dict: {', '.join(missing)}")
        cells: dict[str, Any] = {}
        for kind in CELL_KINDS:
            edges = []
            for state in range(2, last_state[kind] + 1):
                for slot in (0, 1):
                    value = found[(kind, 'input', state, slot)]
                    if isinstance(value, (list, tuple)) and len(value) == 1:
                        value = value[0]
                    index = _as_int(value)
                    if index is None:
                        raise ValueError(f'{kind}/input_{state}_{slot}: expected an input index '
                                         f'(int or one-element list), got {value!r}')
                    edges.append((found[(kind, 'op', state, slot)], index))
            cells[kind] = edges
            cells[f'{kind}_concat'] = range(2, last_state[kind] + 1)
        return cls(**cells)
