"""Tests of mmrnas.structures.Genotype: validation, dict/file/text/NNI forms."""
import dataclasses
import json
import os
import re

import numpy as np
import pytest
import yaml

from mmrnas.structures import (
    ALL_OPS,
    EXTRA_OPS,
    SEARCH_PRIMITIVES,
    Genotype,
    get_genotype,
    list_genotypes,
)

EDGES4 = [('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('max_pool_3x3', 2),
          ('dil_conv_3x3', 3), ('avg_pool_3x3', 1), ('sep_conv_5x5', 4), ('dil_conv_5x5', 0)]

# How RelativeNAS/DARTS print a genotype in their logs (RelativeNAS' layout, range() concat).
LOG_TEXT = """
    Genotype(normal=[('sep_conv_3x3', 0), ('dil_conv_5x5', 1), ('sep_conv_3x3', 1),
                     ('sep_conv_3x3', 1), ('sep_conv_3x3', 1),
                     ('sep_conv_5x5', 1), ('skip_connect', 0), ('sep_conv_3x3', 0)],
             normal_concat=range(2, 6),
             reduce=[('avg_pool_3x3', 1), ('max_pool_3x3', 1), ('dil_conv_5x5', 1),
                     ('max_pool_3x3', 1), ('avg_pool_3x3', 3),
                     ('skip_connect', 1), ('dil_conv_5x5', 3), ('sep_conv_3x3', 1)],
             reduce_concat=range(2, 6))
"""


def make(normal=EDGES4, normal_concat=(2, 3, 4, 5), reduce=EDGES4, reduce_concat=(2, 3, 4, 5)):
    return Genotype(normal=normal, normal_concat=normal_concat, reduce=reduce,
                    reduce_concat=reduce_concat)


def test_primitives_order():
    assert SEARCH_PRIMITIVES.index('max_pool_3x3') == 0
    assert SEARCH_PRIMITIVES.index('dil_conv_5x5') == 6
    assert SEARCH_PRIMITIVES == ('max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3',
                                 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5')
    assert ALL_OPS[:7] == SEARCH_PRIMITIVES and set(EXTRA_OPS) == {
        'none', 'sep_conv_7x7', 'conv_7x1_1x7'}


def test_normalises_containers_and_compares_by_value():
    a = make(normal=[list(edge) for edge in EDGES4], normal_concat=range(2, 6))
    b = make(normal=tuple(EDGES4), normal_concat=[2, 3, 4, 5])
    assert a.normal == tuple(EDGES4) and isinstance(a.normal[0], tuple)
    assert a.normal_concat == (2, 3, 4, 5)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != make(reduce_concat=[2, 3, 4])
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.normal = ()


def test_numpy_integers_become_ints():
    g = make(normal=[(op, np.int64(i)) for op, i in EDGES4], normal_concat=np.arange(2, 6))
    assert g == make()
    assert all(type(i) is int for _, i in g.normal) and all(type(s) is int for s in g.normal_concat)


def test_structure_accessors():
    g = make(reduce=EDGES4[:4], reduce_concat=[2, 3])
    assert g.num_nodes('normal') == 4 and g.num_nodes('reduce') == 2
    assert g.cell('reduce') == (tuple(EDGES4[:4]), (2, 3))
    assert g.is_search_space is False
    assert make().is_search_space is True
    assert make(normal_concat=[2, 3, 5]).is_search_space is False
    assert make(normal=[('none', 0)] + EDGES4[1:]).is_search_space is False
    with pytest.raises(ValueError, match="cell kind must be 'normal' or 'reduce'"):
        g.num_nodes('reduction')


@pytest.mark.parametrize('kwargs, message', [
    (dict(normal=EDGES4[:2] + [('sep_conv_3x3', 4)] + EDGES4[3:]),
     'normal cell, node 1 (state 3), edge 0: input index 4 is out of range: '
     'node 1 may read states 0..2'),
    (dict(reduce=EDGES4[:1] + [('sep_conv_9x9', 0)] + EDGES4[2:]),
     "reduce cell, node 0 (state 2), edge 1: unknown op 'sep_conv_9x9'; known ops: max_pool_3x3"),
    (dict(normal=EDGES4[:7] + [('skip_connect', -1)]),
     'normal cell, node 3 (state 5), edge 1: input index -1 is out of range'),
    (dict(normal=EDGES4[:5] + [('skip_connect', 1.0)] + EDGES4[6:]),
     'normal cell, node 2 (state 4), edge 1: input index must be an int, got 1.0'),
    (dict(normal=EDGES4[:5] + [('skip_connect', True)] + EDGES4[6:]),
     'normal cell, node 2 (state 4), edge 1: input index must be an int, got True'),
    (dict(reduce=EDGES4[:3] + [('skip_connect', 0, 1)] + EDGES4[4:]),
     'reduce cell, node 1 (state 3), edge 1: expected an (op, input) pair'),
    (dict(normal=EDGES4[:7]), 'normal cell: expected an even number (>= 2) of edges, '
                              'two per node, got 7'),
    (dict(reduce=[]), 'reduce cell: expected an even number (>= 2) of edges'),
    (dict(normal='sep_conv_3x3'), 'normal cell: expected a sequence of (op, input) pairs'),
    (dict(normal_concat=[]), 'normal_concat: must list at least one state'),
    (dict(normal_concat=[2, 3, 3]), 'normal_concat: state 3 is listed twice'),
    (dict(reduce_concat=[1, 2]), 'reduce_concat: state 1 is out of range: a cell with 4 nodes '
                                 'can concatenate states 2..5'),
    (dict(reduce_concat=[2, 6]), 'reduce_concat: state 6 is out of range'),
    (dict(reduce_concat=range(2, 7)), 'reduce_concat: state 6 is out of range'),
])
def test_validation_names_the_bad_edge(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make(**kwargs)


def test_duplicate_edges_are_legal_and_kept():
    same = [('sep_conv_3x3', 0)] * 8
    g = make(normal=same, reduce=[('max_pool_3x3', 1), ('max_pool_3x3', 1)] * 4)
    assert g.normal == tuple(same) and g.reduce[0] == g.reduce[1]
    assert Genotype.from_dict(g.to_dict()) == g


def test_dict_round_trip_and_key_errors():
    g = make()
    d = g.to_dict()
    assert d == {'normal': [list(edge) for edge in EDGES4], 'normal_concat': [2, 3, 4, 5],
                 'reduce': [list(edge) for edge in EDGES4], 'reduce_concat': [2, 3, 4, 5]}
    assert list(d) == ['normal', 'normal_concat', 'reduce', 'reduce_concat']
    assert Genotype.from_dict(d) == g
    assert Genotype.from_dict({**d, 'normal': EDGES4}) == g  # tuple pairs
    with pytest.raises(ValueError, match='missing keys: reduce_concat; unexpected keys: '
                                         "'reduction_concat'"):
        Genotype.from_dict({**{k: v for k, v in d.items() if k != 'reduce_concat'},
                            'reduction_concat': [2, 3, 4, 5]})


@pytest.mark.parametrize('name', ['g.yaml', 'g.yml', 'g.json', 'G.YAML'])
@pytest.mark.parametrize('genotype', ['RelativeNAS', 'NASNet', 'AmoebaNet'])
def test_file_round_trip_is_exact_and_deterministic(tmp_path, name, genotype):
    g = get_genotype(genotype)
    path = tmp_path / name
    g.dump(path)
    first = path.read_bytes()
    assert Genotype.load(path) == g
    g.dump(str(path))
    assert path.read_bytes() == first
    assert os.listdir(tmp_path) == [name]  # no temporary files left behind


def test_yaml_and_json_layout(tmp_path):
    g = get_genotype('RelativeNAS')
    g.dump(tmp_path / 'g.yaml')
    text = (tmp_path / 'g.yaml').read_text()
    assert text.startswith('normal:\n- [sep_conv_3x3, 0]\n- [dil_conv_5x5, 1]\n')
    assert '\nnormal_concat: [2, 3, 4, 5]\nreduce:\n- [avg_pool_3x3, 1]\n' in text
    assert yaml.safe_load(text) == g.to_dict()
    g.dump(tmp_path / 'g.json')
    text = (tmp_path / 'g.json').read_text()
    assert '\n    ["sep_conv_3x3", 0],\n' in text and '"reduce_concat": [2, 3, 4, 5]\n}' in text
    assert json.loads(text) == g.to_dict()


def test_yaml_keeps_none_op_a_string(tmp_path):
    g = make(normal=[('none', 0)] + EDGES4[1:])
    g.dump(tmp_path / 'g.yaml')
    assert Genotype.load(tmp_path / 'g.yaml').normal[0] == ('none', 0)


def test_dump_creates_folders_and_bad_suffix(tmp_path):
    make().dump(tmp_path / 'a' / 'b' / 'g.yaml')
    assert Genotype.load(tmp_path / 'a' / 'b' / 'g.yaml') == make()
    for call in (lambda p: make().dump(p), Genotype.load):
        with pytest.raises(ValueError, match=r"g\.txt: unsupported genotype file suffix '\.txt'; "
                                             r'supported suffixes: \.yaml, \.yml, \.json'):
            call(tmp_path / 'g.txt')
    assert not (tmp_path / 'g.txt').exists()


def test_failed_write_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / 'g.yaml'
    make().dump(path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        get_genotype('RelativeNAS').dump(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ['g.yaml']


def test_load_wrapped_and_darts_text(tmp_path):
    g = get_genotype('RelativeNAS')
    wrapped = tmp_path / 'best.yaml'
    wrapped.write_text(yaml.safe_dump({'generation': 49, 'genotype': g.to_dict(),
                                       'valid_loss': 0.5}))
    assert Genotype.load(wrapped) == g
    text_file = tmp_path / 'darts.yaml'
    text_file.write_text(LOG_TEXT)
    assert Genotype.load(text_file) == g
    wrapped_text = tmp_path / 'wrapped_text.json'
    wrapped_text.write_text(json.dumps({'genotype': str(g)}))
    assert Genotype.load(wrapped_text) == g


@pytest.mark.parametrize('content, message', [
    ('normal: [[sep_conv_3x3, 0], [sep_conv_3x3, 1]]\nnormal_concat: [2]\n',
     'missing keys: reduce, reduce_concat'),
    ('', 'the file is empty'),
    ('- 1\n- 2\n', 'expected a mapping'),
    ('normal: [\n', 'not valid YAML'),
])
def test_load_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / 'bad.yaml'
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + '.*' + re.escape(message)):
        Genotype.load(path)


def test_load_error_names_the_bad_edge(tmp_path):
    path = tmp_path / 'bad.json'
    d = make().to_dict()
    d['reduce'][3] = ['sep_conv_3x3', 7]
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r'bad\.json: reduce cell, node 1 \(state 3\), edge 1: '
                                         'input index 7 is out of range'):
        Genotype.load(path)


def test_str_is_darts_text():
    g = get_genotype('DARTS_V2')
    assert str(g) == repr(g)
    assert str(g).startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ")
    assert "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0)" in str(g)
    assert str(g).endswith("('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def test_from_string_log_text():
    g = Genotype.from_string(LOG_TEXT)
    assert g == get_genotype('RelativeNAS')
    assert g.normal_concat == (2, 3, 4, 5)
    prefixed = '2020-09-01 12:00:00 genotype = ' + ' '.join(LOG_TEXT.split()) + '  (epoch 49)\n'
    assert Genotype.from_string(prefixed) == g


def test_from_string_positional_and_mixed():
    g = make(reduce_concat=[2, 4])
    text = (f'Genotype({EDGES4!r}, range(2, 6), reduce={EDGES4!r}, reduce_concat=(2, 4))')
    assert Genotype.from_string(text) == g
    assert Genotype.from_string(f'Genotype({EDGES4}, [2,3,4,5], {EDGES4}, [2, 4])') == g


@pytest.mark.parametrize('text, message', [
    ('normal=[]', "no 'Genotype(' found"),
    ("Genotype(normal=[('sep_conv_3x3', 0)", 'never closed'),
    ('Genotype(normal=[(1, 2], )', 'malformed Genotype text'),
    (f'Genotype(normal={EDGES4}, normal_concat=range(2, 6), reduce={EDGES4})',
     'missing reduce_concat'),
    (f'Genotype(normal={EDGES4}, normal_concat=[2], reduce={EDGES4}, reduce_concat=[2], x=1)',
     "unknown argument 'x'"),
    (f'Genotype({EDGES4}, [2], {EDGES4}, [2], normal=[])', 'normal given twice'),
    (f'Genotype({EDGES4}, [2], {EDGES4}, [2], [3])', '5 positional arguments'),
    (f"Genotype(normal={EDGES4}, normal_concat=__import__('os').getcwd(), reduce={EDGES4}, "
     'reduce_concat=[2])', 'normal_concat=__import__'),
    (f'Genotype(normal={EDGES4}, normal_concat=range(2, n), reduce={EDGES4}, reduce_concat=[2])',
     'is not range() with 1 to 3 int literals'),
    ("Genotype(normal=[('sep_conv_3x3', 3), ('sep_conv_3x3', 0)], normal_concat=[2], "
     "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 0)], reduce_concat=[2])",
     'normal cell, node 0 (state 2), edge 0: input index 3 is out of range'),
])
def test_from_string_errors(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Genotype.from_string(text)


@pytest.mark.parametrize('name', list_genotypes())
def test_str_round_trip_every_library_genotype(name):
    g = get_genotype(name)
    assert Genotype.from_string(str(g)) == g


def test_nni_round_trip_and_format():
    g = get_genotype('RelativeNAS')
    arch = g.to_nni()
    assert len(arch) == 32
    assert list(arch)[:4] == ['normal/op_2_0', 'normal/op_2_1', 'normal/input_2_0',
                              'normal/input_2_1']
    assert arch['normal/op_2_1'] == 'dil_conv_5x5' and arch['normal/input_2_1'] == [1]
    assert arch['reduce/op_4_0'] == 'avg_pool_3x3' and arch['reduce/input_4_0'] == [3]
    assert Genotype.from_nni(arch) == g
    five_nodes = make(normal=EDGES4 + [('sep_conv_7x7', 5), ('none', 2)],
                      normal_concat=range(2, 7))
    assert Genotype.from_nni(five_nodes.to_nni()) == five_nodes


def test_from_nni_hand_written_dict():
    # DARTS_V2 in NNI's key layout; normal inputs as NNI 2.x ints, reduce inputs as
    # NNI 3.x one-element lists; key order scrambled.
    arch = {
        'reduce/input_5_1': [1], 'reduce/op_5_1': 'max_pool_3x3',
        'normal/op_2_0': 'sep_conv_3x3', 'normal/input_2_0': 0,
        'normal/op_2_1': 'sep_conv_3x3', 'normal/input_2_1': 1,
        'normal/op_3_0': 'sep_conv_3x3', 'normal/input_3_0': 0,
        'normal/op_3_1': 'sep_conv_3x3', 'normal/input_3_1': 1,
        'normal/op_4_0': 'sep_conv_3x3', 'normal/input_4_0': 1,
        'normal/op_4_1': 'skip_connect', 'normal/input_4_1': 0,
        'normal/op_5_0': 'skip_connect', 'normal/input_5_0': 0,
        'normal/op_5_1': 'dil_conv_3x3', 'normal/input_5_1': 2,
        'reduce/op_2_0': 'max_pool_3x3', 'reduce/input_2_0': [0],
        'reduce/op_2_1': 'max_pool_3x3', 'reduce/input_2_1': [1],
        'reduce/op_3_0': 'skip_connect', 'reduce/input_3_0': [2],
        'reduce/op_3_1': 'max_pool_3x3', 'reduce/input_3_1': [1],
        'reduce/op_4_0': 'max_pool_3x3', 'reduce/input_4_0': [0],
        'reduce/op_4_1': 'skip_connect', 'reduce/input_4_1': [2],
        'reduce/op_5_0': 'skip_connect', 'reduce/input_5_0': [2],
    }
    g = Genotype.from_nni(arch)
    assert g == get_genotype('DARTS_V2')
    assert g.to_nni()['normal/input_5_1'] == [2]


def test_nni_errors():
    arch = make().to_nni()
    with pytest.raises(ValueError, match=r"unknown keys in NNI architecture dict: 'width', "
                                         r"'normal/op_1_0'"):
        Genotype.from_nni({**arch, 'width': 36, 'normal/op_1_0': 'sep_conv_3x3'})
    del arch['reduce/input_3_1'], arch['normal/op_2_0']
    with pytest.raises(ValueError, match='missing keys in NNI architecture dict: normal/op_2_0, '
                                         'reduce/input_3_1'):
        Genotype.from_nni(arch)
    with pytest.raises(ValueError, match=re.escape('normal/input_2_1: expected an input index '
                                                   '(int or one-element list), got [0, 1]')):
        Genotype.from_nni({**make().to_nni(), 'normal/input_2_1': [0, 1]})
    with pytest.raises(ValueError, match="reduce_concat \\[4, 5, 6\\] cannot be expressed in "
                                         "NNI's DARTS space"):
        get_genotype('NASNet').to_nni()
