"""Drawings of the normal and reduction cells of a genotype (PNG / SVG / PDF, headless).

The default engine is pure matplotlib: a left-to-right DAG with the inputs ``c_{k-2}`` and
``c_{k-1}`` on the left, the intermediate nodes in columns by depth, and the output ``c_{k}``
on the right. Edges carry their op name in a boxed label; parallel edges (the same input read
twice by one node, with the same op or not) are bent apart so each stays visible. Label positions
are chosen greedily so that labels do not overlap each other or the nodes.

No pyplot: figures are built on ``FigureCanvasAgg`` directly, so drawing works without a display
and from threads. File output is byte-deterministic for identical input.
"""
from __future__ import annotations

import importlib.util
import os
import os.path as osp
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.textpath import text_to_path

from mmrnas.structures import CELL_KINDS, Genotype, resolve_genotype
from mmrnas.utils.fileio import atomic_write

__all__ = ['ENGINES', 'FORMATS', 'draw_cell', 'graphviz_available', 'save_genotype_drawings']

ENGINES = ('matplotlib', 'graphviz')
FORMATS = ('png', 'svg', 'pdf')

# Layout, in inches at the nominal scale (one layout unit = one inch in figures we create).
_COL_GAP = 3.0          # between columns (inputs, node depths, output)
_ROW_GAP = 1.25         # between nodes stacked in one column
_NODE_RADIUS = 0.23     # intermediate nodes
_IO_PAD = (0.14, 0.11)  # padding around input/output labels (x, y)
_MARGIN = 0.35          # around the drawing
_TITLE_HEIGHT = 0.45
_DPI = 150

_EDGE_FONT = 9.0
_NODE_FONT = 11.0
_TITLE_FONT = 12.0
_FONT_FAMILY = 'DejaVu Sans'  # ships with matplotlib: same metrics on every machine
_LABEL_PAD = 0.25             # label box padding, in units of the label font size

# Routing and label placement.
_PARALLEL_RAD = 0.42      # curvature step (matplotlib ``arc3`` rad) between parallel edges
_SHIFTS = (0.0, 0.15, -0.15, 0.3, -0.3, 0.45, -0.45)  # extra bends tried to avoid nodes
_LABEL_TS = (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.2, 0.8)  # label spots along an edge
_LABEL_SWEEPS = 3         # label placement passes (greedy, then refinements)
_NODE_CLEARANCE = 0.12    # edges keep this far from the boxes of other nodes
_LABEL_CLEARANCE = 0.06   # labels keep this far from other labels and nodes

_INPUT_COLOR = '#b4dab4'
_NODE_COLOR = '#b9d7f0'
_OUTPUT_COLOR = '#f2e6a5'
_OP_COLORS = {
    'max_pool_3x3': '#1f77b4',
    'avg_pool_3x3': '#17becf',
    'skip_connect': '#7f7f7f',
    'sep_conv_3x3': '#d62728',
    'sep_conv_5x5': '#ff7f0e',
    'sep_conv_7x7': '#8c564b',
    'dil_conv_3x3': '#2ca02c',
    'dil_conv_5x5': '#9467bd',
    'conv_7x1_1x7': '#e377c2',
}
_DEFAULT_OP_COLOR = '#333333'

# Local rc for file output: deterministic SVG with searchable <text> labels.
_SAVE_RC = {'svg.fonttype': 'none', 'svg.hashsalt': 'mmrnas-cell-drawing'}
_SAVE_METADATA = {'png': None, 'svg': {'Date': None}, 'pdf': {'CreationDate': None}}


@dataclass
class _Box:
    """Axis-aligned box given by its centre and half sizes (layout units), or a circle in it."""

    x: float
    y: float
    hw: float
    hh: float
    circle: bool = False

    def count_inside(self, points: np.ndarray, margin: float) -> int:
        """How many of ``points`` (shape ``(n, 2)``) lie inside the box grown by ``margin``."""
        inside = ((np.abs(points[:, 0] - self.x) <= self.hw + margin)
                  & (np.abs(points[:, 1] - self.y) <= self.hh + margin))
        return int(inside.sum())

    def boundary_distance(self, direction: np.ndarray) -> float:
        """Distance from the centre to the border along ``direction``."""
        if self.circle:
            return self.hw
        ux, uy = np.abs(direction) / np.hypot(*direction)
        return min(self.hw / ux if ux else np.inf, self.hh / uy if uy else np.inf)

    def overlap(self, other: _Box, margin: float) -> float:
        """Area shared with ``other`` after growing this box by ``margin``."""
        ox = min(self.x + self.hw + margin, other.x + other.hw) - max(
            self.x - self.hw - margin, other.x - other.hw)
        oy = min(self.y + self.hh + margin, other.y + other.hh) - max(
            self.y - self.hh - margin, other.y - other.hh)
        return max(ox, 0.0) * max(oy, 0.0)


@dataclass
class _Edge:
    """One edge to draw: states, op (None for output edges), curvature and label position."""

    src: int
    dst: int
    op: str | None
    rad: float = 0.0
    label: _Box | None = None


def _state_names(num_nodes: int) -> list[str]:
    """Display names of states 0..num_nodes+1 followed by the output."""
    return ['c_{k-2}', 'c_{k-1}', *map(str, range(num_nodes)), 'c_{k}']


def _text_size(text: str, size: float) -> tuple[float, float]:
    """Width and height of ``text`` in inches at font ``size`` (points)."""
    prop = FontProperties(family=_FONT_FAMILY, size=size)
    width, height, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return width / 72.0, height / 72.0


def _layout(edges: Sequence[tuple[str, int]], concat: Sequence[int]) -> dict[int, _Box]:
    """Node boxes by state index (inputs 0, 1, nodes 2.., output last).

    Intermediate nodes sit in columns by depth (longest path from an input), stacked in index
    order. The inputs (``c_{k-2}`` above ``c_{k-1}``) and the output sit level with the mean
    height of the nodes they connect to, so their edges fan out evenly.
    """
    num_nodes = len(edges) // 2
    depth = [0, 0]
    for node in range(num_nodes):
        depth.append(1 + max(depth[src] for _, src in edges[2 * node:2 * node + 2]))
    names = _state_names(num_nodes)
    boxes: dict[int, _Box] = {}
    for col in range(1, max(depth) + 1):
        states = [s for s, d in enumerate(depth) if d == col]
        for row, state in enumerate(states):
            y = ((len(states) - 1) / 2 - row) * _ROW_GAP
            boxes[state] = _Box(col * _COL_GAP, y, _NODE_RADIUS, _NODE_RADIUS, True)

    def io_box(state: int, col: int, y: float) -> _Box:
        w, h = _text_size(names[state], _NODE_FONT)
        return _Box(col * _COL_GAP, y, w / 2 + _IO_PAD[0], h / 2 + _IO_PAD[1])

    def mean_y(states: Iterable[int]) -> float | None:
        ys = [boxes[s].y for s in states]
        return float(np.mean(ys)) if ys else None

    y_pp, y_p = (mean_y(k // 2 + 2 for k, (_, src) in enumerate(edges) if src == i)
                 for i in (0, 1))
    gap = 1.5 * _ROW_GAP
    if y_pp is None:  # an unused input goes beside the used one (node 0 reads one of them)
        y_pp = y_p + gap
    elif y_p is None:
        y_p = y_pp - gap
    elif y_pp - y_p < gap:
        mid = (y_pp + y_p) / 2
        y_pp, y_p = mid + gap / 2, mid - gap / 2
    boxes[0], boxes[1] = io_box(0, 0, y_pp), io_box(1, 0, y_p)
    boxes[num_nodes + 2] = io_box(num_nodes + 2, max(depth) + 1, mean_y(concat) or 0.0)
    return dict(sorted(boxes.items()))


def _control(a: _Box, b: _Box, rad: float) -> np.ndarray:
    """Control point of matplotlib's ``arc3`` quadratic curve from ``a`` to ``b``."""
    return np.array([(a.x + b.x) / 2 + rad * (b.y - a.y), (a.y + b.y) / 2 - rad * (b.x - a.x)])


def _bezier(a: _Box, b: _Box, rad: float, t: np.ndarray | float) -> np.ndarray:
    """Points at ``t`` on the ``arc3`` curve from ``a`` to ``b`` (shape ``(..., 2)``)."""
    p0, p2, ctrl = np.array([a.x, a.y]), np.array([b.x, b.y]), _control(a, b, rad)
    t = np.asarray(t, dtype=float)[..., None]
    return (1 - t) ** 2 * p0 + 2 * t * (1 - t) * ctrl + t ** 2 * p2


def _node_hits(edge: _Edge, rad: float, boxes: dict[int, _Box]) -> int:
    """How many sampled points of the edge's curve fall inside nodes other than its ends."""
    points = _bezier(boxes[edge.src], boxes[edge.dst], rad, np.linspace(0.05, 0.95, 37))
    return sum(box.count_inside(points, _NODE_CLEARANCE)
               for s, box in boxes.items() if s not in (edge.src, edge.dst))


def _route(groups: Iterable[list[_Edge]], boxes: dict[int, _Box]) -> None:
    """Set the curvature of each group of parallel edges: spread apart, bent around nodes.

    Among bends that avoid the same number of nodes, edges above the middle prefer to bend
    upwards (below: downwards), which keeps bent edges from crossing, then smaller bends win.
    """
    for group in groups:
        a, b = boxes[group[0].src], boxes[group[0].dst]
        outward = -np.sign(a.y + b.y) * np.sign(b.x - a.x) or 1.0
        shifts = sorted(_SHIFTS, key=lambda s: (s * outward < 0, abs(s)))
        offsets = [(i - (len(group) - 1) / 2) * _PARALLEL_RAD for i in range(len(group))]

        def hits(shift: float, group=group, offsets=offsets) -> int:
            return sum(_node_hits(e, shift + o, boxes) for e, o in zip(group, offsets))

        shift = min(shifts, key=lambda s: (hits(s), shifts.index(s)))
        for edge, offset in zip(group, offsets):
            edge.rad = shift + offset


def _place_labels(edges: Sequence[_Edge], curves: Sequence[_Edge],
                  boxes: dict[int, _Box]) -> None:
    """Choose label positions along the edges by least clutter.

    Overlapping another label or a node is much worse than sitting on another edge's line;
    among equals the earlier candidate in ``_LABEL_TS`` (closest to the middle) wins. A greedy
    pass in edge order is followed by passes that re-place each label against all the others.
    """
    samples = [(edge, _bezier(boxes[edge.src], boxes[edge.dst], edge.rad,
                              np.linspace(0.0, 1.0, 61))) for edge in curves]
    pad = 2 * _LABEL_PAD * _EDGE_FONT / 72.0
    candidates = []
    for edge in edges:
        w, h = _text_size(edge.op, _EDGE_FONT)
        points = _bezier(boxes[edge.src], boxes[edge.dst], edge.rad, np.array(_LABEL_TS))
        candidates.append([_Box(float(x), float(y), (w + pad) / 2, (h + pad) / 2)
                           for x, y in points])

    def cost(edge: _Edge, cand: _Box, others: list[_Box]) -> float:
        area = sum(cand.overlap(o, _LABEL_CLEARANCE) for o in [*others, *boxes.values()])
        crossed = sum(cand.count_inside(pts, 0.0) > 0 for e, pts in samples if e is not edge)
        return 1e4 * area + crossed

    for _ in range(_LABEL_SWEEPS):
        for i, edge in enumerate(edges):
            others = [e.label for e in edges if e is not edge and e.label is not None]
            ranked = enumerate(candidates[i])
            edge.label = min(ranked, key=lambda rc: (cost(edge, rc[1], others), rc[0]))[1]


def _plan(genotype: Genotype, cell: str) -> tuple[dict[int, _Box], list[_Edge], list[_Edge]]:
    """Node boxes, op edges (routed, labelled) and output edges of one cell."""
    ops, concat = genotype.cell(cell)
    boxes = _layout(ops, concat)
    out = len(ops) // 2 + 2
    op_edges = [_Edge(src, k // 2 + 2, op) for k, (op, src) in enumerate(ops)]
    groups: dict[tuple[int, int], list[_Edge]] = {}
    for edge in op_edges:
        groups.setdefault((edge.src, edge.dst), []).append(edge)
    _route(groups.values(), boxes)
    out_edges = [_Edge(state, out, None) for state in concat]
    _route(([e] for e in out_edges), boxes)
    _place_labels(op_edges, op_edges + out_edges, boxes)
    return boxes, op_edges, out_edges


def _extent(boxes: dict[int, _Box], edges: Iterable[_Edge]) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) covering the nodes, the curves and the labels, plus a margin."""
    items = list(boxes.values())
    for edge in edges:
        pts = _bezier(boxes[edge.src], boxes[edge.dst], edge.rad, np.linspace(0, 1, 21))
        items += [_Box(float(x), float(y), 0.0, 0.0) for x, y in pts]
        if edge.label is not None:
            items.append(edge.label)
    return (min(b.x - b.hw for b in items) - _MARGIN, max(b.x + b.hw for b in items) + _MARGIN,
            min(b.y - b.hh for b in items) - _MARGIN, max(b.y + b.hh for b in items) + _MARGIN)


def _text_style(size: float) -> dict[str, Any]:
    """Plain text whatever the caller's rc (no TeX, no math), so names keep their underscores."""
    return dict(fontsize=size, family=_FONT_FAMILY, usetex=False, parse_math=False)


def _node_patch(state: int, box: _Box, num_states: int) -> Patch:
    """The patch drawn for a state: circles for nodes, rounded boxes for inputs and output."""
    if 2 <= state < num_states:
        return Circle((box.x, box.y), _NODE_RADIUS, fc=_NODE_COLOR, ec='black', lw=1.0,
                      zorder=3)
    color = _INPUT_COLOR if state < 2 else _OUTPUT_COLOR
    return FancyBboxPatch((box.x - box.hw, box.y - box.hh), 2 * box.hw, 2 * box.hh,
                          boxstyle='round,pad=0,rounding_size=0.08', fc=color, ec='black',
                          lw=1.0, zorder=3)


def draw_cell(genotype: Any, cell: str = 'normal', ax: Axes | None = None,
              title: str | None = None) -> Axes:
    """Draw one cell of a genotype as a left-to-right DAG (pure matplotlib, no pyplot).

    Args:
        genotype: a :class:`Genotype` or anything :func:`resolve_genotype` accepts.
        cell: ``'normal'`` or ``'reduce'``.
        ax: axes to draw into; by default a new figure (on ``FigureCanvasAgg``) sized to the cell.
            Fonts shrink when the axes are smaller than the nominal one-inch-per-unit layout.
        title: optional axes title.

    Returns:
        The axes. Gids: ``edge-label-{k}`` for the op label of edge ``k`` (genotype order),
        ``op-edge-{k}`` for its arrow, ``output-edge-{i}`` for the dashed arrows into ``c_{k}``
        and ``node-{state}`` for the node names.
    """
    genotype = resolve_genotype(genotype)
    boxes, op_edges, out_edges = _plan(genotype, cell)
    x0, x1, y0, y1 = _extent(boxes, op_edges + out_edges)
    if ax is None:
        width, height = x1 - x0, y1 - y0
        fig = Figure(figsize=(width, height + (_TITLE_HEIGHT if title else 0.0)), dpi=_DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, height / fig.get_figheight()))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect('equal', adjustable='box')
    ax.set(xticks=[], yticks=[])
    ax.set_axis_off()
    ax.apply_aspect()
    (px0, _), (px1, _) = ax.transData.transform([(x0, y0), (x1, y0)])
    inches_per_unit = (px1 - px0) / ax.figure.dpi / (x1 - x0)
    scale = min(1.0, inches_per_unit)

    num_states = len(boxes) - 1
    names = _state_names(num_states - 2)
    for state, box in boxes.items():
        ax.add_patch(_node_patch(state, box, num_states))
        ax.text(box.x, box.y, names[state], ha='center', va='center', zorder=4,
                gid=f'node-{state}', **_text_style(_NODE_FONT * scale))
    for k, edge in enumerate(op_edges + out_edges):
        color = _OP_COLORS.get(edge.op, _DEFAULT_OP_COLOR) if edge.op else '#888888'
        src, dst = boxes[edge.src], boxes[edge.dst]
        ctrl = _control(src, dst, edge.rad)
        shrink_a, shrink_b = (72 * inches_per_unit * box.boundary_distance(d) + 1.0 for box, d in
                              ((src, ctrl - (src.x, src.y)), (dst, (dst.x, dst.y) - ctrl)))
        ax.add_artist(FancyArrowPatch(
            (src.x, src.y), (dst.x, dst.y), connectionstyle=f'arc3,rad={edge.rad:.3f}',
            arrowstyle='-|>', mutation_scale=12 * scale, lw=1.4 * scale, color=color,
            linestyle='-' if edge.op else '--', shrinkA=shrink_a, shrinkB=shrink_b, zorder=1,
            gid=f'op-edge-{k}' if edge.op else f'output-edge-{k - len(op_edges)}'))
        if edge.label is not None:
            ax.text(edge.label.x, edge.label.y, edge.op, ha='center', va='center', zorder=2,
                    gid=f'edge-label-{k}', **_text_style(_EDGE_FONT * scale),
                    bbox=dict(boxstyle=f'round,pad={_LABEL_PAD}', fc='white', ec=color,
                              lw=0.8 * scale, alpha=0.95))
    if title:
        ax.set_title(title, **_text_style(_TITLE_FONT))
    return ax


def graphviz_available() -> bool:
    """Whether both the ``graphviz`` Python package and the ``dot`` binary are installed."""
    return importlib.util.find_spec('graphviz') is not None and shutil.which('dot') is not None


def _graphviz_bytes(genotype: Genotype, cell: str, fmt: str, title: str) -> bytes:
    """Render one cell with Graphviz ``dot`` into ``fmt`` bytes."""
    import graphviz

    ops, concat = genotype.cell(cell)
    names = _state_names(len(ops) // 2)
    dot = graphviz.Digraph(
        name=title, format=fmt,
        graph_attr=dict(rankdir='LR', label=title, labelloc='t', fontname=_FONT_FAMILY),
        node_attr=dict(style='filled,rounded', shape='box', fontname=_FONT_FAMILY,
                       fontsize=str(_NODE_FONT), penwidth='1.0'),
        edge_attr=dict(fontname=_FONT_FAMILY, fontsize=str(_EDGE_FONT), penwidth='1.4'))
    for state, name in enumerate(names):
        color = (_INPUT_COLOR if state < 2 else
                 _OUTPUT_COLOR if state == len(names) - 1 else _NODE_COLOR)
        dot.node(name, fillcolor=color, shape='box' if color != _NODE_COLOR else 'circle')
    for k, (op, src) in enumerate(ops):
        color = _OP_COLORS.get(op, _DEFAULT_OP_COLOR)
        dot.edge(names[src], names[k // 2 + 2], label=op, color=color, fontcolor='black')
    for state in concat:
        dot.edge(names[state], names[-1], style='dashed', color='#888888')
    return dot.pipe(format=fmt)


def save_genotype_drawings(genotype: Any, out_dir: str, formats: Sequence[str] = ('png', 'svg'),
                           prefix: str = '', engine: str = 'matplotlib') -> list[str]:
    """Draw both cells and write ``{prefix}{normal,reduce}.{fmt}`` atomically into ``out_dir``.

    Args:
        genotype: a :class:`Genotype` or anything :func:`resolve_genotype` accepts.
        out_dir: output folder, created if missing.
        formats: file formats, a subset of :data:`FORMATS`.
        prefix: prepended to each file name.
        engine: ``'matplotlib'`` (default, always available) or ``'graphviz'`` (needs the
            ``graphviz`` Python package and the ``dot`` binary).

    Returns:
        The written paths, cell-major (``normal.png``, ``normal.svg``, ``reduce.png`` ...).

    Raises:
        ValueError: bad genotype, format or engine.
        RuntimeError: ``engine='graphviz'`` but Graphviz is not installed.
    """
    genotype = resolve_genotype(genotype)
    formats = [formats] if isinstance(formats, str) else list(formats)
    bad = [fmt for fmt in formats if fmt not in FORMATS]
    if bad or not formats:
        raise ValueError(f'formats must be a non-empty subset of {FORMATS}, got {formats!r}')
    if engine not in ENGINES:
        raise ValueError(f'engine must be one of {ENGINES}, got {engine!r}')
    if engine == 'graphviz' and not graphviz_available():
        raise RuntimeError(
            "engine='graphviz' needs the Python package 'graphviz' (pip install graphviz) and "
            "the Graphviz 'dot' binary on PATH (e.g. apt-get install graphviz); use "
            "engine='matplotlib' otherwise")
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for cell in CELL_KINDS:
        title = f'{cell} cell'
        fig = draw_cell(genotype, cell, title=title).figure if engine == 'matplotlib' else None
        for fmt in formats:
            path = osp.join(out_dir, f'{prefix}{cell}.{fmt}')
            if fig is None:
                data = _graphviz_bytes(genotype, cell, fmt, title)
                atomic_write(path, lambda f, data=data: f.write(data))
            else:
                with matplotlib.rc_context(_SAVE_RC):
                    atomic_write(path, lambda f, fmt=fmt: fig.savefig(
                        f, format=fmt, dpi=_DPI, metadata=_SAVE_METADATA[fmt]))
            paths.append(path)
    return paths
