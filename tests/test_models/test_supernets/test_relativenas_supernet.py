"""The weight set: layout and indexing of docs/reference.md §4.1, candidates cut from it."""
import pytest
import torch

from mmrnas.models import RelativeNASSupernet, is_op_key
from mmrnas.registry import MODELS
from mmrnas.structures import SEARCH_PRIMITIVES, get_genotype


@pytest.fixture(scope='module')
def supernet():
    torch.manual_seed(0)
    return RelativeNASSupernet(base_channels=4, num_cells=5, num_classes=3)


def test_reference_size():
    """The reference code run as is (CHK, docs/reference.md §0): C=16, L=8, 10 classes
    -> 4,922 state tensors and 1.987 M parameters."""
    net = RelativeNASSupernet()
    assert len(net.state_dict()) == 4922
    assert sum(p.numel() for p in net.parameters()) == 1_987_194
    assert all(len(cell.ops) == 98 for cell in net.cells)
    assert net.reduction_indices == (2, 5)


def test_registered():
    assert isinstance(MODELS.build(dict(type='RelativeNASSupernet', num_cells=3)),
                      RelativeNASSupernet)


def test_op_index_is_reference_module_index(supernet):
    """module index = (edge_offset + input) * 7 + op_id, edge offsets 0, 2, 5, 9."""
    cell = supernet.cells[0]
    assert cell.op_index(0, 0, 'max_pool_3x3') == 0
    assert cell.op_index(0, 1, 'dil_conv_5x5') == 13
    assert cell.op_index(1, 2, 'sep_conv_3x3') == (2 + 2) * 7 + 3
    assert cell.op_index(2, 0, 'avg_pool_3x3') == 5 * 7 + 1
    assert cell.op_index(3, 4, 'dil_conv_5x5') == 97
    assert [type(cell.ops[cell.op_index(0, 0, name)]).__name__ for name in SEARCH_PRIMITIVES
            ] == ['MaxPool2d', 'AvgPool2d', 'Identity', 'SepConv', 'SepConv', 'DilConv',
                  'DilConv']


def test_reduction_stride_rule(supernet):
    reduce = supernet.cells[supernet.reduction_indices[0]]
    skip = 'skip_connect'
    assert type(reduce.ops[reduce.op_index(0, 1, skip)]).__name__ == 'FactorizedReduce'
    assert type(reduce.ops[reduce.op_index(1, 2, skip)]).__name__ == 'Identity'


def test_duplicate_edges_share_one_module(supernet):
    genotype = get_genotype('RelativeNAS')  # normal node 1: ('sep_conv_3x3', 1) twice
    indices = supernet.cells[0].edge_op_indices(genotype.normal)
    assert indices[2] == indices[3]
    candidate = supernet.extract(genotype)
    cell = candidate.cells[0]
    assert cell.ops[cell.edge_keys[2]] is cell.ops[cell.edge_keys[3]]
    assert len(cell.ops) == 7  # 8 edges, 7 distinct modules


def test_candidate_equals_supernet_and_is_a_copy(supernet):
    genotype = get_genotype('RelativeNAS')
    candidate = supernet.extract(genotype).eval()
    supernet.eval()
    inputs = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(candidate(inputs), supernet(inputs, genotype=genotype))
    state = candidate.state_dict()
    own = supernet.state_dict()
    assert set(state) < set(own)
    assert all(torch.equal(value, own[key]) for key, value in state.items())
    with torch.no_grad():
        candidate.classifier.weight.add_(1)
    assert not torch.equal(candidate.classifier.weight, supernet.classifier.weight)


def test_candidate_holds_only_active_ops(supernet):
    genotype = get_genotype('DARTS_V2')
    prefixes = {
        '.'.join(key.split('.')[:4])
        for key in supernet.extract(genotype).state_dict() if is_op_key(key)
    }
    parametric = set()  # pools and identities have no state
    for i, cell in enumerate(supernet.cells):
        for k in cell.edge_op_indices(supernet.cell_edges(genotype, i)):
            if cell.ops[k].state_dict():
                parametric.add(f'cells.{i}.ops.{k}')
    assert prefixes == parametric


def test_write_back_copies_values(supernet):
    target = RelativeNASSupernet(base_channels=4, num_cells=5, num_classes=3)
    new = {'classifier.bias': torch.tensor([1., 2., 3.])}
    target.write_back(new)
    assert torch.equal(target.classifier.bias, new['classifier.bias'])
    new['classifier.bias'].add_(1)
    assert torch.equal(target.classifier.bias, torch.tensor([1., 2., 3.]))
    with pytest.raises(KeyError, match='not in the weight set'):
        target.write_back({'cells.0.ops.999.weight': torch.zeros(1)})


@pytest.mark.parametrize('key', [
    'cells.0.ops.999.weight', 'classifier.nonexistent', 'nope.weight', 'stem.1.weightx'])
def test_write_back_names_unknown_keys_and_writes_nothing(key):
    target = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=3)
    before = target.classifier.bias.clone()
    with pytest.raises(KeyError, match=rf"not in the weight set: \['{key}'\]"):
        target.write_back({'classifier.bias': torch.ones(3), key: torch.zeros(1)})
    assert torch.equal(target.classifier.bias, before)


def test_write_back_covers_every_state_key(supernet):
    """Every key of the weight set's state dict (parameters and BN buffers) resolves."""
    target = RelativeNASSupernet(base_channels=4, num_cells=5, num_classes=3)
    source = supernet.state_dict()
    target.write_back(source)
    for key, value in target.state_dict().items():
        assert torch.equal(value, source[key]), key


def test_is_op_key():
    assert is_op_key('cells.3.ops.37.op.1.weight')
    assert not is_op_key('cells.3.preprocess0.op.1.weight')
    assert not is_op_key('classifier.weight')
    assert not is_op_key('stem.0.weight')


def test_forward_modes(supernet):
    genotype = get_genotype('RelativeNAS')
    inputs, labels = torch.randn(2, 3, 16, 16), torch.tensor([0, 2])
    supernet.eval()
    probs = supernet(inputs, mode='predict', genotype=genotype)
    assert torch.allclose(probs.sum(1), torch.ones(2))
    assert set(supernet(inputs, labels, mode='loss', genotype=genotype)) == {'loss'}
    with pytest.raises(ValueError, match='needs the genotype'):
        supernet(inputs)
