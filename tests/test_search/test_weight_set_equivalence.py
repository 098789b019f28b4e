"""Extract -> one SGD epoch -> write-back equals the reference's full-supernet training.

The reference (docs/reference.md §4.2-4.4) loads the whole weight set into a freshly built full
supernet, trains it with one SGD over *all* its parameters while the forward only runs the
genotype's ops, and writes whole state dicts back with the pair rule. mmrnas copies only the
candidate's modules out (``RelativeNASSupernet.extract``), trains them with
``CandidateTrainer`` and copies them back (``write_back`` / ``pair_write_back``). These tests
run both on the same batches, initial state and drop-path random stream and compare every
weight-set tensor, BN buffers included.

The reference side below is written from the spec, not from the package's routing: the op of
(node j, input i, op o) is module ``(edge_offset(j) + i) * 7 + o`` with offsets 0, 2, 5, 9;
nodes sum their two edges; drop-path (keep mask drawn per edge from the global RNG, divide then
multiply) skips only stride-1 ``skip_connect``; the write-back parses key names.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmrnas.datasets import BatchAugment, TensorBatches
from mmrnas.engine.estimators import CandidateTrainer
from mmrnas.models import RelativeNASSupernet
from mmrnas.search.weight_set import pair_write_back
from mmrnas.structures import Genotype, get_genotype

pytestmark = pytest.mark.usefixtures('one_thread')

# The reference encoding order (docs/reference.md §1.1) and edge offsets of nodes 0-3 (§4.1).
PRIMITIVES = ('max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
              'dil_conv_3x3', 'dil_conv_5x5')
EDGE_OFFSETS = (0, 2, 5, 9)
NET = dict(base_channels=4, num_cells=5, num_classes=3)
REDUCTIONS = (NET['num_cells'] // 3, 2 * NET['num_cells'] // 3)
LR, BATCH_SIZE, DATA_SEED, MASK_SEED = 0.1, 8, 3, 11
AUGMENT = BatchAugment(crop_padding=1, flip=True, cutout=4)

# A is the published genotype: a duplicated (input, op) in normal node 1 (one module run twice,
# its BN updated twice a step), reduction cells that never read state 0 (their preprocess0
# runs but gets no gradient), pools and a FactorizedReduce skip. B shares some of A's modules
# (normal sep_conv_3x3 on 0 in node 0 and on 1 in node 1, the reduction FactorizedReduce of
# node 2, dil_conv_5x5 of nodes 1 and 3, ...) and has its own (a FactorizedReduce on state 0,
# dil_conv_3x3, sep_conv_5x5 on state 4, ...).
A = get_genotype('RelativeNAS')
B = Genotype(
    normal=[('sep_conv_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 1), ('dil_conv_3x3', 2),
            ('sep_conv_5x5', 1), ('avg_pool_3x3', 3), ('skip_connect', 2), ('sep_conv_5x5', 4)],
    normal_concat=range(2, 6),
    reduce=[('skip_connect', 0), ('avg_pool_3x3', 1), ('dil_conv_5x5', 1), ('sep_conv_3x3', 0),
            ('skip_connect', 1), ('dil_conv_3x3', 2), ('dil_conv_5x5', 3), ('sep_conv_3x3', 1)],
    reduce_concat=range(2, 6))


def cell_edges(genotype, cell):
    return genotype.reduce if cell in REDUCTIONS else genotype.normal


def module_index(node, input_index, op_name):
    return (EDGE_OFFSETS[node] + input_index) * len(PRIMITIVES) + PRIMITIVES.index(op_name)


def active_slots(genotype):
    """{(cell, module index)} of the ops the genotype runs (the reference's ``arch_info``)."""
    return {(cell, module_index(k // 2, index, name))
            for cell in range(NET['num_cells'])
            for k, (name, index) in enumerate(cell_edges(genotype, cell))}


def op_slot(key):
    """(cell, module index) of a ``cells.<i>.ops.<k>...`` key, None for other layers."""
    parts = key.split('.')
    return (int(parts[1]), int(parts[3])) if parts[0] == 'cells' and parts[2] == 'ops' else None


def reference_forward(net, genotype, inputs, drop_prob):
    """The full supernet run as ``genotype``: only the chosen op modules are called."""
    s0 = s1 = net.stem(inputs)
    for i, cell in enumerate(net.cells):
        states = [cell.preprocess0(s0), cell.preprocess1(s1)]
        edges = cell_edges(genotype, i)
        for node in range(4):
            outs = []
            for name, index in edges[2 * node:2 * node + 2]:
                out = cell.ops[module_index(node, index, name)](states[index])
                identity = name == 'skip_connect' and not (i in REDUCTIONS and index < 2)
                if drop_prob > 0 and not identity:
                    mask = torch.empty(out.shape[0], 1, 1, 1).bernoulli_(1 - drop_prob)
                    out = out / (1 - drop_prob) * mask
                outs.append(out)
            states.append(outs[0] + outs[1])
        s0, s1 = s1, torch.cat(states[2:], dim=1)
    return net.classifier(s1.mean(dim=(2, 3)))


def full_supernet(weight_set_state):
    """A freshly built full supernet loaded with the whole weight set (the reference's
    ``decode``: new network, ``load_state_dict(strict=True)``)."""
    net = RelativeNASSupernet(**NET)
    net.load_state_dict(weight_set_state, strict=True)
    return net


def reference_train(net, genotype, batches, drop_prob):
    """One SGD over every parameter of the full supernet, as the reference's candidate epoch:
    momentum 0.9, weight decay 3e-4, grad-norm clip 5, ``zero_grad`` without ``set_to_none``
    (torch 1.x)."""
    net.train()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=0.9, weight_decay=3e-4)
    for inputs, labels in batches:
        optimizer.zero_grad(set_to_none=False)
        F.cross_entropy(reference_forward(net, genotype, inputs, drop_prob), labels).backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
    return net


def reference_merge(teacher_net, student_net, teacher_genotype, student_genotype):
    """``update_state_dict`` of the reference: op tensors from the teacher if it uses the op,
    else from the student if it does, else the teacher's (unchanged) copy; every other tensor
    from the teacher."""
    teacher, student = teacher_net.state_dict(), student_net.state_dict()
    teacher_ops, student_ops = active_slots(teacher_genotype), active_slots(student_genotype)
    merged = {}
    for key, value in teacher.items():
        slot = op_slot(key)
        from_student = slot is not None and slot not in teacher_ops and slot in student_ops
        merged[key] = (student if from_student else teacher)[key].clone()
    return merged


def make_trainer():
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (28, 3, 8, 8), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, NET['num_classes'], (28, ), generator=generator)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    train = TensorBatches(images[:20], labels[:20], mean, std)  # batches of 8, 8 and 4
    val = TensorBatches(images[20:], labels[20:], mean, std)
    return CandidateTrainer(train, val, torch.Generator().manual_seed(DATA_SEED),
                            batch_size=BATCH_SIZE, val_batch_size=8, train_augment=AUGMENT)


def epochs(count):
    """The training batches of ``count`` successive candidate epochs of ``make_trainer()``
    (its data generator serves the candidates one after the other)."""
    trainer, generator = make_trainer(), torch.Generator().manual_seed(DATA_SEED)
    return [list(trainer.train_set.batches(BATCH_SIZE, generator, augment=AUGMENT))
            for _ in range(count)]


def make_weight_set():
    torch.manual_seed(0)
    return RelativeNASSupernet(**NET)


def snapshot(module):
    return {key: value.clone() for key, value in module.state_dict().items()}


def assert_same_weight_set(actual, expected):
    assert actual.keys() == expected.keys()
    different = [key for key in expected if not torch.equal(actual[key], expected[key])]
    assert not different, f'{len(different)} of {len(expected)} tensors differ: {different[:5]}'


def bn_keys(state, prefix):
    return [key for key in state if key.startswith(prefix) and
            key.endswith(('running_mean', 'running_var', 'num_batches_tracked'))]


def one_candidate(genotype, drop_prob, update):
    """Estimate ``genotype`` cut from a new weight set, ``write_back(update(state))``, and train
    the reference's full supernet from the same state on the same batches and masks; return
    the weight set, its initial state, the trained full supernet and the batches."""
    weight_set = make_weight_set()
    initial = snapshot(weight_set)
    net = full_supernet(initial)
    batches, = epochs(1)
    candidate = weight_set.extract(genotype, drop_path_rate=drop_prob)
    torch.manual_seed(MASK_SEED)
    weight_set.write_back(update(make_trainer().estimate(candidate, LR).state))
    torch.manual_seed(MASK_SEED)
    reference_train(net, genotype, batches, drop_prob)
    return weight_set, initial, net, batches


@pytest.mark.parametrize('drop_prob', [0.0, 0.3])
def test_one_candidate_equals_full_supernet_training(drop_prob):
    """extract -> CandidateTrainer.estimate -> write_back leaves the weight set bit-identical
    to the reference's full-supernet epoch: every parameter and BN buffer, same drop-path
    draws; inactive ops get no gradient and keep their values and BN statistics."""
    weight_set, initial, net, batches = one_candidate(A, drop_prob, lambda state: state)
    expected = net.state_dict()
    assert_same_weight_set(weight_set.state_dict(), expected)

    # The claims behind it, on the reference side: inactive ops (and the preprocess0 of a
    # cell that no edge reads state 0 from: A's reduction cells) got no gradient; inactive
    # ops kept every tensor; active ops (BN statistics included) moved.
    active = active_slots(A)
    unread = {f'cells.{i}.preprocess0.' for i in range(NET['num_cells'])
              if all(index != 0 for _, index in cell_edges(A, i))}
    assert unread == {f'cells.{i}.preprocess0.' for i in REDUCTIONS}
    for name, param in net.named_parameters():
        slot = op_slot(name)
        idle = slot not in active if slot is not None else name.startswith(tuple(unread))
        assert (param.grad is None) == idle, name
    for key, value in expected.items():
        if op_slot(key) is not None and op_slot(key) not in active:
            assert torch.equal(value, initial[key]), key
    duplicated = f'cells.0.ops.{module_index(1, 1, "sep_conv_3x3")}.'  # twice in node 1
    single = f'cells.0.ops.{module_index(0, 1, "dil_conv_5x5")}.'
    for prefix, uses in ((duplicated, 2), (single, 1)):
        keys = bn_keys(expected, prefix)
        assert keys
        for key in keys:
            if key.endswith('num_batches_tracked'):
                assert expected[key].item() == uses * len(batches), key
            else:
                assert not torch.equal(expected[key], initial[key]), key


def test_pairs_equal_reference_write_back():
    """Two successive pairs (A teacher then B teacher), each member extracted from the same
    weight-set snapshot and estimated, then ``write_back(pair_write_back(...))``: the weight set
    equals the reference's merge of two full supernets trained from that snapshot, after each
    pair (the second pair inherits the first's write-back)."""
    weight_set = make_weight_set()
    reference = snapshot(weight_set)
    trainer = make_trainer()
    batches = iter(epochs(4))
    for teacher, student in ((A, B), (B, A)):
        nets = [full_supernet(reference) for _ in range(2)]
        candidates = [weight_set.extract(g, drop_path_rate=0.2) for g in (teacher, student)]
        torch.manual_seed(MASK_SEED)
        results = trainer.estimate_many(candidates, LR)
        weight_set.write_back(pair_write_back(results[0].state, results[1].state))

        torch.manual_seed(MASK_SEED)
        for net, genotype in zip(nets, (teacher, student)):
            reference_train(net, genotype, next(batches), 0.2)
        merged = reference_merge(*nets, teacher, student)
        assert_same_weight_set(weight_set.state_dict(), merged)

        # Not vacuous: the student's exclusive training was kept, and the teacher won an op
        # both trained to different values.
        own_student = [k for k in merged if op_slot(k) in active_slots(student) -
                       active_slots(teacher) and not torch.equal(merged[k], reference[k])]
        student_state, teacher_state = nets[1].state_dict(), nets[0].state_dict()
        contested = [k for k in merged if op_slot(k) in active_slots(student) &
                     active_slots(teacher) and
                     not torch.equal(teacher_state[k], student_state[k])]
        assert own_student and contested
        assert all(torch.equal(merged[k], teacher_state[k]) for k in contested)
        reference = merged


def test_diverged_student_writes_only_the_teacher():
    """A pair whose student diverged (``pair_write_back(teacher, None)``) leaves the weight set
    equal to the teacher's trained full supernet, for B (FactorizedReduce on state 0 of the
    reduction cells, so their preprocess0 trains): A's exclusive ops keep their values."""
    weight_set, initial, net, _ = one_candidate(
        B, 0.0, lambda state: pair_write_back(state, None))
    assert_same_weight_set(weight_set.state_dict(), net.state_dict())
    assert all(param.grad is not None
               for i in REDUCTIONS for param in net.cells[i].preprocess0.parameters())
    only_a = [k for k in initial if op_slot(k) in active_slots(A) - active_slots(B)]
    assert only_a and all(torch.equal(weight_set.state_dict()[k], initial[k]) for k in only_a)
