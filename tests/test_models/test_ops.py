"""Cell operations, ``OPS``, ``build_norm_layer``, ``drop_path`` (docs/reference.md §1.1, §1.5)."""
import pytest
import torch
import torch.nn as nn

from mmrnas.models.ops import OPS, Conv7x1_1x7, DilConv, FactorizedReduce, ReLUConvBN, SepConv, Zero
from mmrnas.models.utils import build_norm_layer, drop_path
from mmrnas.registry import ROOT_MODELS
from mmrnas.structures import ALL_OPS

PARAMETER_FREE = ('none', 'max_pool_3x3', 'avg_pool_3x3')


def test_ops_cover_all_op_names():
    assert set(OPS) == set(ALL_OPS)


@pytest.mark.parametrize('name', ALL_OPS)
@pytest.mark.parametrize('stride', [1, 2])
def test_op_output_shape(name, stride):
    op = OPS[name](4, stride)
    out = op(torch.randn(2, 4, 8, 8))
    assert out.shape == (2, 4, 8 // stride, 8 // stride)


@pytest.mark.parametrize('name', ALL_OPS)
def test_convs_have_no_bias_and_norms_are_affine(name):
    op = OPS[name](4, 2)
    for module in op.modules():
        if isinstance(module, nn.Conv2d):
            assert module.bias is None
        if isinstance(module, nn.BatchNorm2d):
            assert module.affine
    if name in PARAMETER_FREE:
        assert not list(op.parameters())


def test_affine_false_and_norm_cfg_are_passed_down():
    op = OPS['sep_conv_3x3'](4, 1, affine=False)
    assert not [m for m in op.modules() if isinstance(m, nn.BatchNorm2d) and m.affine]
    op = OPS['dil_conv_3x3'](4, 1, norm_cfg=dict(type='GN', num_groups=2))
    assert isinstance(op.op[3], nn.GroupNorm)


def test_skip_connect():
    identity = OPS['skip_connect'](4, 1)
    assert isinstance(identity, nn.Identity) and not list(identity.parameters())
    assert isinstance(OPS['skip_connect'](4, 2), FactorizedReduce)


def test_avg_pool_excludes_padding():
    pool = OPS['avg_pool_3x3'](1, 1)
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    assert pool(x)[0, 0, 0, 0] == x[0, 0, :2, :2].mean()
    assert isinstance(OPS['max_pool_3x3'](1, 2), nn.MaxPool2d)


def test_relu_conv_bn_layout():
    op = ReLUConvBN(3, 5, 3, 2, 1)
    assert [type(m) for m in op.op] == [nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
    conv = op.op[1]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
            conv.padding) == (3, 5, (3, 3), (2, 2), (1, 1))
    assert not op.op[0].inplace


def test_dil_conv_layout():
    op = OPS['dil_conv_5x5'](4, 2)
    assert isinstance(op, DilConv)
    assert [type(m) for m in op.op] == [nn.ReLU, nn.Conv2d, nn.Conv2d, nn.BatchNorm2d]
    dw, pw = op.op[1], op.op[2]
    assert (dw.kernel_size, dw.stride, dw.padding, dw.dilation, dw.groups) == ((5, 5), (2, 2),
                                                                                 (4, 4), (2, 2), 4)
    assert pw.kernel_size == (1, 1)
    assert OPS['dil_conv_3x3'](4, 1).op[1].padding == (2, 2)


def test_sep_conv_layout():
    op = OPS['sep_conv_5x5'](4, 2)
    assert isinstance(op, SepConv)
    assert [type(m) for m in op.op] == [nn.ReLU, nn.Conv2d, nn.Conv2d, nn.BatchNorm2d] * 2
    first, second = op.op[1], op.op[5]
    assert (first.kernel_size, first.stride, first.padding, first.groups) == ((5, 5), (2, 2),
                                                                              (2, 2), 4)
    assert (second.stride, second.padding) == ((1, 1), (2, 2))
    assert OPS['sep_conv_3x3'](4, 1).op[1].padding == (1, 1)
    assert OPS['sep_conv_7x7'](4, 1).op[1].padding == (3, 3)
    # Different in / out channels: the first block keeps the input channels.
    op = SepConv(4, 6, 3, 1, 1)
    assert (op.op[2].out_channels, op.op[6].out_channels) == (4, 6)


def test_factorized_reduce():
    op = FactorizedReduce(3, 6)
    assert [name for name, _ in op.named_children()] == ['relu', 'conv_1', 'conv_2', 'bn']
    x = torch.randn(1, 3, 4, 4)
    out = op.eval()(x)
    relu = x.relu()
    expected = torch.cat([op.conv_1(relu), op.conv_2(relu[:, :, 1:, 1:])], dim=1)
    torch.testing.assert_close(out, op.bn(expected))
    with pytest.raises(ValueError, match='even'):
        FactorizedReduce(3, 5)


def test_conv_7x1_1x7_and_zero():
    op = OPS['conv_7x1_1x7'](4, 2)
    assert isinstance(op, Conv7x1_1x7)
    assert (op[1].kernel_size, op[1].stride, op[2].kernel_size, op[2].stride) == ((1, 7), (1, 2),
                                                                                  (7, 1), (2, 1))
    zero = OPS['none'](4, 2)
    assert isinstance(zero, Zero)
    assert not zero(torch.randn(1, 4, 4, 4)).any()


class TestBuildNormLayer:

    def test_builtin_types_and_kwargs(self):
        bn = build_norm_layer(dict(type='BN', momentum=0.01, eps=1e-3), 8)
        assert type(bn) is nn.BatchNorm2d
        assert (bn.num_features, bn.momentum, bn.eps) == (8, 0.01, 1e-3)
        assert isinstance(build_norm_layer(dict(type='SyncBN'), 8), nn.SyncBatchNorm)
        gn = build_norm_layer(dict(type='GN', num_groups=4), 8)
        assert isinstance(gn, nn.GroupNorm) and (gn.num_groups, gn.num_channels) == (4, 8)
        assert isinstance(build_norm_layer(dict(type='IN'), 8), nn.InstanceNorm2d)

    def test_requires_grad(self):
        bn = build_norm_layer(dict(type='BN', requires_grad=False), 8)
        assert not any(p.requires_grad for p in bn.parameters())

    def test_registry_lookup(self):

        class ProbeNorm(nn.BatchNorm2d):
            pass

        ROOT_MODELS.register_module(name='_MmrnasProbeNorm', module=ProbeNorm)
        try:
            assert isinstance(build_norm_layer(dict(type='_MmrnasProbeNorm'), 4), ProbeNorm)
        finally:
            ROOT_MODELS._module_dict.pop('_MmrnasProbeNorm')

    def test_unknown_type(self):
        with pytest.raises(ValueError, match='NoSuchNorm'):
            build_norm_layer(dict(type='NoSuchNorm'), 4)
        with pytest.raises(ValueError, match='type'):
            build_norm_layer(dict(momentum=0.1), 4)


class TestDropPath:

    def test_noop_when_not_training_or_p_zero(self):
        x = torch.randn(4, 2, 3, 3)
        assert drop_path(x, 0.5, training=False) is x
        assert drop_path(x, 0., training=True) is x

    def test_out_of_place_per_sample_mask(self):
        torch.manual_seed(0)
        x = torch.randn(64, 2, 3, 3)
        x_copy = x.clone()
        out = drop_path(x, 0.25, training=True)
        assert out is not x
        torch.testing.assert_close(x, x_copy)  # input unchanged
        for sample_in, sample_out in zip(x, out):
            dropped = not sample_out.any()
            assert dropped or torch.allclose(sample_out, sample_in / 0.75)

    def test_expectation_is_preserved(self):
        torch.manual_seed(0)
        x = torch.randn(1, 2, 3, 3).expand(20000, -1, -1, -1)
        out = drop_path(x, 0.3, training=True)
        torch.testing.assert_close(out.mean(0), x[0], atol=0.05, rtol=0.)
        assert abs((out.flatten(1).abs().sum(1) == 0).float().mean().item() - 0.3) < 0.02

    def test_tensor_probability_always_draws_the_same_distribution(self):
        """The 0-dim tensor rate of compiled backbones: no value branch, p = 0 keeps x."""
        x = torch.randn(20000, 2, 1, 1)
        zero = drop_path(x, torch.tensor(0.), training=True)
        assert zero is not x and torch.equal(zero, x)
        torch.manual_seed(0)
        out = drop_path(x, torch.tensor(0.3), training=True)
        dropped = (out.flatten(1) == 0).all(1)
        assert abs(dropped.float().mean().item() - 0.3) < 0.02
        torch.testing.assert_close(out[~dropped], x[~dropped] / 0.7)
        assert drop_path(x, torch.tensor(0.3), training=False) is x
