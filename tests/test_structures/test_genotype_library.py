"""Tests of the genotype library and resolve_genotype."""
import collections
import re

import pytest

from mmrnas.structures import (
    Genotype,
    genotype_source,
    get_genotype,
    list_genotypes,
    resolve_genotype,
)

RELATIVENAS_NORMAL = (('sep_conv_3x3', 0), ('dil_conv_5x5', 1), ('sep_conv_3x3', 1),
                      ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_5x5', 1),
                      ('skip_connect', 0), ('sep_conv_3x3', 0))
RELATIVENAS_REDUCE = (('avg_pool_3x3', 1), ('max_pool_3x3', 1), ('dil_conv_5x5', 1),
                      ('max_pool_3x3', 1), ('avg_pool_3x3', 3), ('skip_connect', 1),
                      ('dil_conv_5x5', 3), ('sep_conv_3x3', 1))


def test_names():
    names = list_genotypes()
    assert names == sorted(names)
    assert {'RelativeNAS', 'PairNAS_CIFAR10', 'CSO_CIFAR10', 'PairNAS_CIFAR100', 'DARTS_V1',
            'DARTS_V2', 'DARTS', 'NASNet', 'AmoebaNet', 'PDARTS'} == set(names)


def test_relativenas_exact():
    g = get_genotype('RelativeNAS')
    assert g.normal == RELATIVENAS_NORMAL and g.reduce == RELATIVENAS_REDUCE
    assert g.normal_concat == g.reduce_concat == (2, 3, 4, 5)
    assert g.normal[2] == g.normal[3] == ('sep_conv_3x3', 1)  # duplicate edge on node 1
    assert g.reduce[5] == ('skip_connect', 1)
    assert g.is_search_space


def test_aliases_are_the_same_object():
    assert get_genotype('PairNAS_CIFAR10') is get_genotype('RelativeNAS')
    assert get_genotype('CSO_CIFAR10') is get_genotype('RelativeNAS')
    assert get_genotype('DARTS') is get_genotype('DARTS_V2')
    assert genotype_source('DARTS') == genotype_source('DARTS_V2')


def test_pairnas_cifar100_exact():
    g = get_genotype('PairNAS_CIFAR100')
    assert g.normal == (('dil_conv_5x5', 1), ('skip_connect', 0), ('sep_conv_3x3', 1),
                        ('sep_conv_5x5', 2), ('sep_conv_3x3', 1), ('max_pool_3x3', 0),
                        ('sep_conv_5x5', 1), ('dil_conv_5x5', 3))
    assert g.reduce == (('max_pool_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 0),
                        ('sep_conv_5x5', 0), ('dil_conv_5x5', 2), ('dil_conv_3x3', 2),
                        ('sep_conv_3x3', 3), ('sep_conv_3x3', 4))
    assert g != get_genotype('RelativeNAS')


def test_darts_exact():
    v2 = get_genotype('DARTS_V2')
    assert v2.normal == (('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0),
                         ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0),
                         ('skip_connect', 0), ('dil_conv_3x3', 2))
    assert v2.reduce == (('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2),
                         ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2),
                         ('skip_connect', 2), ('max_pool_3x3', 1))
    v1 = get_genotype('DARTS_V1')
    assert v1.normal == (('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0),
                         ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1),
                         ('sep_conv_3x3', 0), ('skip_connect', 2))
    assert v1.reduce == (('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2),
                         ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2),
                         ('skip_connect', 2), ('avg_pool_3x3', 0))
    for g in (v1, v2):
        assert g.normal_concat == g.reduce_concat == (2, 3, 4, 5)


def test_nasnet_and_amoebanet():
    nasnet, amoeba = get_genotype('NASNet'), get_genotype('AmoebaNet')
    for g in (nasnet, amoeba):
        assert g.num_nodes('normal') == g.num_nodes('reduce') == 5
        assert not g.is_search_space
    assert nasnet.normal_concat == (2, 3, 4, 5, 6) and nasnet.reduce_concat == (4, 5, 6)
    assert nasnet.reduce[1] == ('sep_conv_7x7', 0) and nasnet.reduce[6] == ('skip_connect', 3)
    assert nasnet.normal[9] == ('skip_connect', 1)
    assert amoeba.normal_concat == (4, 5, 6) and amoeba.reduce_concat == (3, 4, 6)
    assert amoeba.reduce[8:] == (('conv_7x1_1x7', 0), ('sep_conv_3x3', 5))
    assert amoeba.normal[3] == ('sep_conv_5x5', 2)


def test_pdarts_and_search_space_flags():
    g = get_genotype('PDARTS')
    assert g.normal[5:] == (('sep_conv_3x3', 3), ('sep_conv_3x3', 0), ('dil_conv_5x5', 4))
    assert g.reduce[:2] == (('avg_pool_3x3', 0), ('sep_conv_5x5', 1))
    for name in ('RelativeNAS', 'PairNAS_CIFAR100', 'DARTS_V1', 'DARTS_V2', 'PDARTS'):
        assert get_genotype(name).is_search_space, name


@pytest.mark.parametrize('name', list_genotypes())
def test_every_entry_has_a_source_and_round_trips(name, tmp_path):
    assert 'github.com/' in genotype_source(name)
    g = get_genotype(name)
    g.dump(tmp_path / 'g.yaml')
    assert Genotype.load(tmp_path / 'g.yaml') == g


def test_unknown_name():
    with pytest.raises(ValueError, match=r"unknown genotype name 'relativenas' \(did you mean "
                                         r"'RelativeNAS'\?\); known names: AmoebaNet, CSO_CIFAR10"
                                         r'.*pass the path to a \.yaml/\.yml/\.json file'):
        get_genotype('relativenas')
    with pytest.raises(ValueError, match='unknown genotype name'):
        genotype_source('nope')


def test_resolve_each_kind(tmp_path):
    g = get_genotype('RelativeNAS')
    assert resolve_genotype(g) is g
    assert resolve_genotype('PairNAS_CIFAR10') is g
    assert resolve_genotype(g.to_dict()) == g
    assert resolve_genotype('genotype = ' + str(g)) == g
    for name in ('g.yaml', 'g.json'):
        g.dump(tmp_path / name)
        assert resolve_genotype(tmp_path / name) == g
        assert resolve_genotype(str(tmp_path / name)) == g
    darts_tuple = collections.namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')
    assert resolve_genotype(darts_tuple(list(g.normal), range(2, 6), list(g.reduce),
                                        range(2, 6))) == g


def test_resolve_errors(tmp_path):
    with pytest.raises(ValueError, match=re.escape(
            "genotype 'foo' is neither a known name (AmoebaNet, CSO_CIFAR10, ") +
            r'.*\) nor an existing \.yaml/\.yml/\.json file nor Genotype\(\.\.\.\) text$'):
        resolve_genotype('foo')
    with pytest.raises(ValueError, match=r"did you mean 'DARTS_V2'"):
        resolve_genotype('DARTS_v2')
    missing = tmp_path / 'missing.yaml'
    with pytest.raises(ValueError, match=re.escape(f'({missing} does not exist)')):
        resolve_genotype(missing)
    with pytest.raises(ValueError, match='genotype 42 is neither'):
        resolve_genotype(42)
    with pytest.raises(ValueError, match='missing keys'):
        resolve_genotype({'normal': []})
