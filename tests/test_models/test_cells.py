"""GenotypeCell: edge modules, strides, preprocessing, drop path; the channel plan of a cell
stack (docs/reference.md §1.2-1.5)."""
import pytest
import torch
import torch.nn as nn

from mmrnas.models.cells import CellSpec, GenotypeCell, cell_channel_plan, reduction_cell_indices
from mmrnas.models.ops import DilConv, FactorizedReduce, ReLUConvBN, SepConv
from mmrnas.structures import Genotype, get_genotype

RELATIVENAS = get_genotype('RelativeNAS')


def make_cell(genotype=RELATIVENAS, reduction=False, reduction_prev=False, channels=4):
    return GenotypeCell(genotype, 6, 5, channels, reduction, reduction_prev)


def test_structure_follows_the_genotype():
    cell = make_cell()
    assert [name for name, _ in cell.named_children()] == ['preprocess0', 'preprocess1', 'ops']
    assert len(cell.ops) == 8
    assert cell.input_indices == tuple(index for _, index in RELATIVENAS.normal)
    assert (cell.concat, cell.multiplier, cell.out_channels) == ((2, 3, 4, 5), 4, 16)
    assert isinstance(cell.ops[1], DilConv) and isinstance(cell.ops[6], nn.Identity)


def test_preprocessing():
    cell = make_cell()
    assert isinstance(cell.preprocess0, ReLUConvBN) and isinstance(cell.preprocess1, ReLUConvBN)
    assert cell.preprocess0.op[1].in_channels == 6 and cell.preprocess1.op[1].in_channels == 5
    cell = make_cell(reduction_prev=True)
    assert isinstance(cell.preprocess0, FactorizedReduce)
    out = cell(torch.randn(2, 6, 8, 8), torch.randn(2, 5, 4, 4))
    assert out.shape == (2, 16, 4, 4)


def test_channel_plan():
    """Reductions at L // 3 and 2L // 3 double C; each cell reads the two outputs before it."""
    assert reduction_cell_indices(20) == (6, 13)
    with pytest.raises(ValueError, match='num_cells'):
        reduction_cell_indices(2)
    # CIFAR-style search network C16 L8: stem 48 channels, 4 concatenated nodes.
    plan = cell_channel_plan(16, 8, 48, (4, 4))
    assert plan[:4] == [CellSpec(48, 48, 16, False, False), CellSpec(48, 64, 16, False, False),
                        CellSpec(64, 64, 32, True, False), CellSpec(64, 128, 32, False, True)]
    assert [spec.channels for spec in plan] == [16, 16, 32, 32, 32, 64, 64, 64]
    # ImageNet stem: the first cell follows a reduction; NASNet concatenates 5 normal states.
    plan = cell_channel_plan(8, 3, 8, (5, 4), reduction_prev=True)
    assert plan == [CellSpec(8, 8, 8, False, True), CellSpec(8, 40, 16, True, False),
                    CellSpec(40, 64, 32, True, True)]


def test_duplicate_edges_are_separate_modules():
    """Normal node 1 of RelativeNAS is ('sep_conv_3x3', 1) twice."""
    assert RELATIVENAS.normal[2] == RELATIVENAS.normal[3] == ('sep_conv_3x3', 1)
    cell = make_cell()
    first, second = cell.ops[2], cell.ops[3]
    assert isinstance(first, SepConv) and isinstance(second, SepConv)
    assert first is not second
    for p, q in zip(first.parameters(), second.parameters()):
        assert p is not q
    assert not torch.equal(first.op[1].weight, second.op[1].weight)


def test_reduction_stride_rule():
    """stride = 2 if reduction and input_index < 2 else 1."""
    cell = make_cell(reduction=True)
    assert RELATIVENAS.reduce[4] == ('avg_pool_3x3', 3)
    assert RELATIVENAS.reduce[5] == ('skip_connect', 1)
    assert RELATIVENAS.reduce[6] == ('dil_conv_5x5', 3)
    assert isinstance(cell.ops[5], FactorizedReduce)  # stride-2 skip
    assert isinstance(cell.ops[4], nn.AvgPool2d) and cell.ops[4].stride == 1
    assert cell.ops[6].op[1].stride == (1, 1)  # reads state 3
    assert cell.ops[0].stride == 2 and cell.ops[1].stride == 2  # pools on state 1
    assert cell.ops[2].op[1].stride == (2, 2) and cell.ops[7].op[1].stride == (2, 2)
    out = cell(torch.randn(2, 6, 8, 8), torch.randn(2, 5, 8, 8))
    assert out.shape == (2, 16, 4, 4)


def test_output_is_the_concat_of_the_nodes():
    genotype = Genotype(
        normal=[('skip_connect', 0), ('skip_connect', 0), ('skip_connect', 1),
                ('skip_connect', 2)],
        normal_concat=[2, 3],
        reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)],
        reduce_concat=[2])
    cell = make_cell(genotype).eval()
    s0, s1 = torch.randn(1, 6, 4, 4), torch.randn(1, 5, 4, 4)
    state0, state1 = cell.preprocess0(s0), cell.preprocess1(s1)
    node2 = 2 * state0
    torch.testing.assert_close(cell(s0, s1), torch.cat([node2, state1 + node2], dim=1))
    assert cell.multiplier == 2 and make_cell(genotype, reduction=True).multiplier == 1


class TestDropPath:
    """Drop-path hits every op output except Identity, only in training."""

    ALL_SKIP = Genotype(
        normal=[('skip_connect', 0), ('skip_connect', 1)] * 4,
        normal_concat=range(2, 6),
        reduce=[('skip_connect', 0), ('skip_connect', 1)] * 4,
        reduce_concat=range(2, 6))

    @staticmethod
    def run(cell, drop_prob, seed=0):
        torch.manual_seed(seed)
        inputs = torch.randn(8, 6, 4, 4), torch.randn(8, 5, 4, 4)
        return cell(*inputs, drop_prob)

    def test_not_applied_to_identity(self):
        cell = make_cell(self.ALL_SKIP).train()
        torch.testing.assert_close(self.run(cell, 0.5), self.run(cell, 0.))

    def test_applied_to_other_ops_in_training(self):
        cell = make_cell().train()
        assert not torch.allclose(self.run(cell, 0.5), self.run(cell, 0.))

    def test_not_applied_in_eval(self):
        cell = make_cell().eval()
        torch.testing.assert_close(self.run(cell, 0.5), self.run(cell, 0.))


@pytest.mark.parametrize('name, nodes, multipliers', [('NASNet', 5, (5, 3)),
                                                       ('AmoebaNet', 5, (3, 3))])
def test_baseline_genotypes(name, nodes, multipliers):
    genotype = get_genotype(name)
    normal, reduce = make_cell(genotype), make_cell(genotype, reduction=True)
    assert len(normal.ops) == len(reduce.ops) == 2 * nodes
    assert (normal.multiplier, reduce.multiplier) == multipliers
    out = normal.eval()(torch.randn(1, 6, 8, 8), torch.randn(1, 5, 8, 8))
    assert out.shape == (1, 4 * multipliers[0], 8, 8)
