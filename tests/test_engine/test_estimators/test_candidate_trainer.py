"""CandidateTrainer: the reference training epoch and its speed options (layout, precision)."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmrnas.datasets import BatchAugment, build_search_split, split_indices
from mmrnas.engine.estimators import CandidateTrainer
from mmrnas.models import RelativeNASSupernet
from mmrnas.search.encoding import decode, random_vectors
from tests.utils import quickstart_search_data

pytestmark = [
    pytest.mark.usefixtures('one_thread'),
    pytest.mark.filterwarnings('ignore:channels_last=True on a CPU'),
]

AUGMENT = BatchAugment(crop_padding=1, flip=False, cutout=4)


def make_trainer(**options) -> CandidateTrainer:
    dataset, _ = quickstart_search_data()
    train, val = split_indices(len(dataset), 0.5, 0)
    return CandidateTrainer(
        *build_search_split(dataset, train, val, 'cpu'), generator=torch.Generator().manual_seed(0),
        batch_size=128, val_batch_size=300, train_augment=AUGMENT, **options)


def estimate_pair(**options):
    """Two candidates with write-back between them, as a search pair does."""
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    trainer = make_trainer(**options)
    results = []
    for vector in random_vectors(2, np.random.Generator(np.random.PCG64(0))):
        candidate = weight_set.extract(decode(vector), drop_path_rate=0.2)
        result = trainer.estimate(candidate, lr=0.05)
        weight_set.write_back(result.state)
        results.append(result)
    return results, weight_set


def test_default_epoch_is_the_reference_loop():
    """fp32, default layout: bit-identical to a plain loop (fresh SGD, CE, clip 5, step)."""
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    genotype = decode(random_vectors(1, np.random.Generator(np.random.PCG64(1)))[0])
    ours, plain = (weight_set.extract(genotype, drop_path_rate=0.2) for _ in range(2))
    trainer = make_trainer()

    torch.manual_seed(1)
    loss = trainer.train_epoch(ours, lr=0.05)

    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    plain.train()
    total = 0.
    for inputs, labels in trainer.train_set.batches(128, generator, augment=AUGMENT):
        batch_loss = F.cross_entropy(plain(inputs), labels)
        optimizer.zero_grad()
        batch_loss.backward()
        nn.utils.clip_grad_norm_([p for p in plain.parameters() if p.requires_grad], 5.0)
        optimizer.step()
        total += batch_loss.item() * labels.shape[0]
    assert loss == pytest.approx(total / len(trainer.train_set), rel=1e-6)
    for (key, a), b in zip(ours.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), key


def test_channels_last_computes_the_same_step():
    """Same arithmetic in the other layout: one training step's logits and gradients agree to
    float32 rounding on inputs without ties (over an epoch on digits, zero padding and
    max-pool ties let rounding pick other argmax routes, so whole epochs drift apart)."""
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    genotype = decode(random_vectors(1, np.random.default_rng(0))[0])
    default = weight_set.extract(genotype)
    fast = weight_set.extract(genotype).to(memory_format=torch.channels_last)
    inputs, labels = torch.randn(64, 3, 8, 8), torch.randint(0, 10, (64, ))
    logits = default(inputs)
    fast_logits = fast(inputs.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(fast_logits, logits, rtol=1e-4, atol=1e-4)
    F.cross_entropy(logits, labels).backward()
    F.cross_entropy(fast_logits, labels).backward()
    for (key, a), b in zip(default.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-3, atol=1e-4 * a.grad.abs().max(),
                                   msg=key)


def test_channels_last_estimate_keeps_the_weight_set_layout():
    results, weights = estimate_pair(channels_last=True)
    assert all(result.finite for result in results)
    state = results[1].state  # the last candidate, trained channels-last, wrote the stem
    conv = 'stem.0.weight'
    assert state[conv].is_contiguous(memory_format=torch.channels_last)
    assert not state[conv].is_contiguous()
    assert all(value.is_contiguous() for value in weights.state_dict().values())
    assert torch.equal(weights.state_dict()[conv], state[conv])


def test_bf16_autocasts_forward_passes_and_keeps_float32_weights():
    dtypes = []
    trainer = make_trainer(precision='bf16')
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    candidate = weight_set.extract(decode(random_vectors(1, np.random.default_rng(0))[0]))
    candidate.classifier.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    result = trainer.estimate(candidate, lr=0.05)
    assert set(dtypes) == {torch.bfloat16}  # training and validation batches
    assert len(dtypes) == 8 + 3
    assert {v.dtype for v in result.state.values() if v.is_floating_point()} == {torch.float32}
    assert result.finite and 1.0 < result.train_loss < 2.4


@pytest.mark.parametrize('options, message', [
    (dict(precision='fp16'), r"precision must be one of \('fp32', 'bf16'\), got 'fp16'"),
    (dict(cuda_graph=True), 'cuda_graph=True needs the search data on a CUDA device, but it '
     'is on cpu'),
    (dict(optimizer=dict(type='SGD', lr=0.1)), 'must not set lr or params'),
])
def test_bad_options_fail_at_construction(options, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(**options)


def test_channels_last_on_a_cpu_warns():
    with pytest.warns(UserWarning, match='channels_last=True on a CPU: measured slower'):
        make_trainer(channels_last=True)
