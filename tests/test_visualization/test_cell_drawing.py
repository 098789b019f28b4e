"""Cell drawings: files, labels, duplicate edges, determinism, headless use."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations

import matplotlib.image as mpimg
import pytest
from matplotlib.figure import Figure

from mmrnas.structures import ALL_OPS, Genotype, get_genotype
from mmrnas.visualization import cell_drawing, draw_cell, save_genotype_drawings

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
NAMES = ['normal.png', 'normal.svg', 'reduce.png', 'reduce.svg']


def svg_texts(path) -> list[str]:
    """Text content of every <text> element of an SVG file."""
    root = ET.parse(path).getroot()
    return [''.join(el.itertext()) for el in root.iter() if el.tag.endswith('}text')]


def edge_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if (t.get_gid() or '').startswith('edge-label-')]


def gids(ax, prefix: str) -> list[str]:
    return [a.get_gid() for a in ax.get_children() if (a.get_gid() or '').startswith(prefix)]


@pytest.fixture(scope='module')
def relativenas_files(tmp_path_factory):
    out = tmp_path_factory.mktemp('cells')
    return out, save_genotype_drawings('RelativeNAS', str(out))


def test_writes_valid_png_and_svg(relativenas_files):
    out, paths = relativenas_files
    assert paths == [str(out / name) for name in NAMES]
    assert sorted(os.listdir(out)) == sorted(NAMES)  # no temporary files left behind
    for path in paths[::2]:
        with open(path, 'rb') as f:
            assert f.read(8) == PNG_MAGIC
        height, width = mpimg.imread(path).shape[:2]
        assert width > 800 and height > 300
    for path in paths[1::2]:
        assert ET.parse(path).getroot().tag.endswith('svg')


def test_svg_labels_are_searchable_text(relativenas_files):
    out, _ = relativenas_files
    g = get_genotype('RelativeNAS')
    for cell in ('normal', 'reduce'):
        texts = svg_texts(out / f'{cell}.svg')
        for name in ('c_{k-2}', 'c_{k-1}', 'c_{k}', '0', '1', '2', '3'):
            assert name in texts
        # one label per edge, duplicates included
        labels = Counter(t for t in texts if t in ALL_OPS)
        assert labels == Counter(op for op, _ in getattr(g, cell))
    reduce_texts = svg_texts(out / 'reduce.svg')
    assert 'dil_conv_5x5' in reduce_texts and 'skip_connect' in reduce_texts


@pytest.mark.parametrize('name,cell,num_edges,num_outputs', [
    ('RelativeNAS', 'normal', 8, 4),
    ('RelativeNAS', 'reduce', 8, 4),
    ('NASNet', 'normal', 10, 5),
    ('NASNet', 'reduce', 10, 3),  # reduce_concat = [4, 5, 6]: nodes 0 and 1 feed node 2+ only
])
def test_one_label_per_edge_and_concat_outputs(name, cell, num_edges, num_outputs):
    genotype = get_genotype(name)
    ax = draw_cell(genotype, cell)
    labels = edge_labels(ax)
    assert len(labels) == num_edges
    assert labels == [op for op, _ in getattr(genotype, cell)]
    assert len(gids(ax, 'op-edge-')) == num_edges
    assert len(gids(ax, 'output-edge-')) == num_outputs


@pytest.mark.parametrize('cell', ['normal', 'reduce'])
def test_relativenas_labels_do_not_overlap(cell):
    ax = draw_cell('RelativeNAS', cell)
    ax.figure.canvas.draw()
    boxes = [t.get_bbox_patch().get_window_extent() for t in ax.texts
             if (t.get_gid() or '').startswith('edge-label-')]
    assert len(boxes) == 8
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b)


def test_duplicate_edges_are_drawn_apart():
    """RelativeNAS normal node 1 reads ('sep_conv_3x3', 1) twice: two arrows, two labels."""
    ax = draw_cell('RelativeNAS', 'normal')
    arrows = {a.get_gid(): a for a in ax.patches if a.get_gid() in ('op-edge-2', 'op-edge-3')}
    labels = {t.get_gid(): t for t in ax.texts if t.get_gid() in ('edge-label-2', 'edge-label-3')}
    assert len(arrows) == len(labels) == 2
    ax.figure.canvas.draw()
    paths = [arrows[g].get_path().vertices for g in ('op-edge-2', 'op-edge-3')]
    assert abs(paths[0][1] - paths[1][1]).max() > 0.3  # the curves bend apart (inches)
    (x0, y0), (x1, y1) = (labels[g].get_position() for g in ('edge-label-2', 'edge-label-3'))
    assert abs(x0 - x1) + abs(y0 - y1) > 0.2


def test_parallel_edges_with_different_ops_are_drawn_apart():
    genotype = Genotype(normal=[('max_pool_3x3', 0), ('avg_pool_3x3', 0)], normal_concat=[2],
                        reduce=[('skip_connect', 1), ('skip_connect', 1)], reduce_concat=[2])
    for cell in ('normal', 'reduce'):
        ax = draw_cell(genotype, cell)
        rads = sorted(a.get_connectionstyle().rad for a in ax.patches
                      if (a.get_gid() or '').startswith('op-edge-'))
        assert len(rads) == 2 and rads[1] - rads[0] > 0.2


def test_output_is_deterministic(tmp_path, relativenas_files):
    _, first = relativenas_files
    second = save_genotype_drawings('RelativeNAS', str(tmp_path))
    for a, b in zip(first, second):
        with open(a, 'rb') as fa, open(b, 'rb') as fb:
            assert fa.read() == fb.read(), b


def test_prefix_formats_and_overwrite(tmp_path):
    spec = repr(get_genotype('DARTS_V2'))  # the DARTS log text
    paths = save_genotype_drawings(spec, str(tmp_path / 'new'), formats=['svg'], prefix='best_')
    assert [os.path.basename(p) for p in paths] == ['best_normal.svg', 'best_reduce.svg']
    again = save_genotype_drawings(spec, str(tmp_path / 'new'), formats='svg', prefix='best_')
    assert again == paths
    assert sorted(os.listdir(tmp_path / 'new')) == ['best_normal.svg', 'best_reduce.svg']


def test_draws_into_given_axes_and_shrinks_fonts():
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    assert draw_cell(get_genotype('RelativeNAS'), 'reduce', ax=ax, title='reduce') is ax
    sizes = {t.get_fontsize() for t in ax.texts if t.get_gid().startswith('edge-label-')}
    assert len(sizes) == 1 and 2 < sizes.pop() < 9
    assert ax.get_title() == 'reduce'


def test_works_in_threads():
    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda n: len(edge_labels(draw_cell(n, 'normal'))),
                               ['RelativeNAS', 'NASNet']))
    assert counts == [8, 10]


def test_bad_arguments(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match='cell'):
        draw_cell('RelativeNAS', 'bogus')
    with pytest.raises(ValueError):
        draw_cell('NoSuchGenotype')
    with pytest.raises(ValueError, match='formats'):
        save_genotype_drawings('RelativeNAS', str(tmp_path), formats=['bmp'])
    with pytest.raises(ValueError, match='engine'):
        save_genotype_drawings('RelativeNAS', str(tmp_path), engine='tikz')
    monkeypatch.setattr(cell_drawing.shutil, 'which', lambda name: None)
    assert not cell_drawing.graphviz_available()
    with pytest.raises(RuntimeError, match="graphviz.*'dot'"):
        save_genotype_drawings('RelativeNAS', str(tmp_path), engine='graphviz')
    assert os.listdir(tmp_path) == []


def test_public_names_resolve():
    import mmrnas.visualization as vis
    assert all(callable(getattr(vis, name)) for name in vis.__all__)
    assert set(vis.__all__) <= set(dir(vis))
    with pytest.raises(AttributeError):
        vis.no_such_function


def test_import_is_lazy():
    code = ('import sys, mmrnas; before = set(sys.modules); import mmrnas.visualization; '
            'new = set(sys.modules) - before; '
            "print(sorted(m for m in new if m.split('.')[0] in "
            "('matplotlib', 'mmdet', 'mmseg', 'mmpose', 'mmpretrain', 'mmcv')))")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'
