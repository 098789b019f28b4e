"""Write-back rules of the weight set after a pair, per tensor (docs/reference.md §4.4)."""
import torch

from mmrnas.models import RelativeNASSupernet
from mmrnas.search.weight_set import pair_write_back
from mmrnas.structures import Genotype

# Two genotypes that share some ops and not others. Normal node 0 of both reads
# ('sep_conv_3x3', 0); only A uses ('dil_conv_3x3', 1) there, only B ('sep_conv_5x5', 1);
# A's node 1 has a duplicated ('dil_conv_5x5', 2) edge.
CELL_A = [('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('dil_conv_5x5', 2), ('dil_conv_5x5', 2),
          ('max_pool_3x3', 0), ('skip_connect', 1), ('avg_pool_3x3', 3), ('sep_conv_3x3', 4)]
CELL_B = [('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_5x5', 2), ('sep_conv_3x3', 1),
          ('max_pool_3x3', 0), ('skip_connect', 1), ('avg_pool_3x3', 3), ('sep_conv_3x3', 4)]
A = Genotype(CELL_A, [2, 3, 4, 5], CELL_A, [2, 3, 4, 5])
B = Genotype(CELL_B, [2, 3, 4, 5], CELL_B, [2, 3, 4, 5])


def trained(supernet, genotype, shift):
    """A candidate whose every tensor (BN buffers included) is moved by ``shift``."""
    candidate = supernet.extract(genotype)
    state = candidate.state_dict()
    for value in state.values():
        value.add_(shift)
    return state


def test_rules_per_tensor():
    torch.manual_seed(0)
    supernet = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=3)
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    teacher, student = trained(supernet, A, 1), trained(supernet, B, 2)
    supernet.write_back(pair_write_back(teacher, student))
    after = supernet.state_dict()

    cell = supernet.cells[0]
    shared_op = f'cells.0.ops.{cell.op_index(0, 0, "sep_conv_3x3")}.'
    teacher_only = f'cells.0.ops.{cell.op_index(0, 1, "dil_conv_3x3")}.'
    duplicated = f'cells.0.ops.{cell.op_index(1, 2, "dil_conv_5x5")}.'
    student_only = f'cells.0.ops.{cell.op_index(0, 1, "sep_conv_5x5")}.'
    student_only_2 = f'cells.0.ops.{cell.op_index(1, 1, "sep_conv_3x3")}.'
    unused = f'cells.0.ops.{cell.op_index(3, 4, "dil_conv_5x5")}.'

    def source(key):
        delta = after[key].double() - before[key].double()
        return {1.0: 'teacher', 2.0: 'student', 0.0: 'unchanged'}[round(delta.mean().item(), 6)]

    expected = {
        shared_op: 'teacher', teacher_only: 'teacher', duplicated: 'teacher',
        student_only: 'student', student_only_2: 'student', unused: 'unchanged',
        'stem.': 'teacher', 'cells.0.preprocess0.': 'teacher', 'cells.1.preprocess1.': 'teacher',
        'classifier.': 'teacher'
    }
    for prefix, origin in expected.items():
        keys = [k for k in after if k.startswith(prefix)]
        assert keys, prefix
        assert {source(k) for k in keys} == {origin}, prefix
    # BN buffers follow their op: running statistics and num_batches_tracked included.
    for prefix, origin in ((student_only, 'student'), (teacher_only, 'teacher')):
        buffers = [k for k in after if k.startswith(prefix) and
                   k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))]
        assert len(buffers) >= 3 and {source(k) for k in buffers} == {origin}


def test_diverged_members_write_nothing():
    torch.manual_seed(0)
    supernet = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=3)
    teacher = trained(supernet, A, 1)
    assert pair_write_back(None, None) == {}
    only_teacher = pair_write_back(teacher, None)
    assert only_teacher.keys() == teacher.keys()


def test_values_are_copied_not_aliased():
    torch.manual_seed(0)
    supernet = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=3)
    teacher = trained(supernet, A, 1)
    supernet.write_back(pair_write_back(teacher, None))
    teacher['classifier.bias'].add_(5)
    assert not torch.equal(supernet.classifier.bias, teacher['classifier.bias'])
