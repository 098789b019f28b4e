"""copy_module: the weight set's fast deep copy behaves like copy.deepcopy."""
import copy

import torch
import torch.nn as nn

from mmrnas.models.ops import OPS
from mmrnas.models.utils import copy_module


def test_copy_equals_deepcopy_and_shares_nothing():
    torch.manual_seed(0)
    module = nn.Sequential(OPS['sep_conv_3x3'](4, 1, True), nn.BatchNorm2d(4), nn.ReLU())
    module[1].weight.requires_grad_(False)
    module.eval()
    clone, reference = copy_module(module), copy.deepcopy(module)
    assert type(clone[0]) is type(module[0]) and not clone.training
    assert [n for n, _ in clone.named_modules()] == [n for n, _ in module.named_modules()]
    assert clone.state_dict().keys() == reference.state_dict().keys()
    for (key, value), original in zip(clone.state_dict(keep_vars=True).items(),
                                      module.state_dict(keep_vars=True).values()):
        assert torch.equal(value, original) and value.data_ptr() != original.data_ptr(), key
        assert value.requires_grad == original.requires_grad, key
        assert type(value) is type(original), key
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(clone(x), reference(x))

    clone.train()
    clone(x).sum().backward()  # trains the copy only: BN statistics and gradients
    assert module[1].num_batches_tracked == 0 and module[0].op[1].weight.grad is None
    clone.register_forward_hook(lambda *args: None)
    assert not module._forward_hooks
    assert clone[1]._non_persistent_buffers_set is not module[1]._non_persistent_buffers_set
