"""convert_relativenas_state_dict: reference (DARTS model.py) keys -> mmrnas keys.

The reference networks below are an independent re-implementation of the RelativeNAS / DARTS
``model.py`` ``NetworkCIFAR`` and ``NetworkImageNet``, written from docs/reference.md §1 with the
reference's module names, so that their state dicts have the official checkpoint layout.
``tests/test_tools/test_model_converters.py`` reuses them.
"""
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

import mmrnas.models  # noqa: F401  (registers RelativeNASBackbone)
import mmrnas.models.heads.relativenas_cls_head  # noqa: F401  (registers RelativeNASClsHead)
from mmrnas.models.utils.checkpoint_conversion import (
    convert_relativenas_state_dict,
    describe_relativenas_state_dict,
    extract_state_dict,
)

# docs/reference.md §6.4, verbatim: (op, input index) pairs, two per node; concat = 2..5.
RELATIVENAS_NORMAL = [('sep_conv_3x3', 0), ('dil_conv_5x5', 1), ('sep_conv_3x3', 1),
                      ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_5x5', 1),
                      ('skip_connect', 0), ('sep_conv_3x3', 0)]
RELATIVENAS_REDUCE = [('avg_pool_3x3', 1), ('max_pool_3x3', 1), ('dil_conv_5x5', 1),
                      ('max_pool_3x3', 1), ('avg_pool_3x3', 3), ('skip_connect', 1),
                      ('dil_conv_5x5', 3), ('sep_conv_3x3', 1)]
CONCAT = (2, 3, 4, 5)
C, LAYERS, CLASSES = 8, 6, 10


# ---------------------------------------------------------------- reference ops (§1.1)
class RefReLUConvBN(nn.Module):

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class RefDilConv(nn.Module):

    def __init__(self, c: int, kernel: int, stride: int, padding: int, dilation: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class RefSepConv(nn.Module):

    def __init__(self, c: int, kernel: int, stride: int, padding: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride, padding, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c),
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, 1, padding, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class RefFactorizedReduce(nn.Module):

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


REF_OPS = {
    'max_pool_3x3': lambda c, s: nn.MaxPool2d(3, stride=s, padding=1),
    'avg_pool_3x3': lambda c, s: nn.AvgPool2d(3, stride=s, padding=1, count_include_pad=False),
    'skip_connect': lambda c, s: nn.Identity() if s == 1 else RefFactorizedReduce(c, c),
    'sep_conv_3x3': lambda c, s: RefSepConv(c, 3, s, 1),
    'sep_conv_5x5': lambda c, s: RefSepConv(c, 5, s, 2),
    'dil_conv_3x3': lambda c, s: RefDilConv(c, 3, s, 2, 2),
    'dil_conv_5x5': lambda c, s: RefDilConv(c, 5, s, 4, 2),
}


# ---------------------------------------------------------------- reference cell (§1.2-1.3)
class RefCell(nn.Module):
    """Evaluation cell; eval / drop-path 0 only, so no drop-path."""

    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.preprocess0 = (RefFactorizedReduce(c_pp, c) if reduction_prev else
                            RefReLUConvBN(c_pp, c))
        self.preprocess1 = RefReLUConvBN(c_p, c)
        edges = RELATIVENAS_REDUCE if reduction else RELATIVENAS_NORMAL
        self._indices = [index for _, index in edges]
        self._ops = nn.ModuleList(
            REF_OPS[name](c, 2 if reduction and index < 2 else 1) for name, index in edges)
        self.multiplier = len(CONCAT)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(len(self._ops) // 2):
            a, b = 2 * node, 2 * node + 1
            states.append(self._ops[a](states[self._indices[a]]) +
                          self._ops[b](states[self._indices[b]]))
        return torch.cat([states[i] for i in CONCAT], dim=1)


# ---------------------------------------------------------------- reference heads (§1.4)
class RefAuxiliaryHead(nn.Module):
    """AuxiliaryHeadCIFAR (pool stride 3, BN after the 768 conv) or AuxiliaryHeadImageNet
    (pool stride 2, no BN there); in-place ReLUs as in the reference."""

    def __init__(self, c: int, classes: int, imagenet: bool):
        super().__init__()
        layers = [
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=2 if imagenet else 3, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False)
        ]
        if not imagenet:
            layers.append(nn.BatchNorm2d(768))
        layers.append(nn.ReLU(inplace=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


class RefNetwork(nn.Module):
    """NetworkCIFAR (``imagenet=False``) or NetworkImageNet; ``forward`` returns
    ``(logits, logits_aux)``, ``logits_aux`` None in eval mode or without an aux head.

    ``pool='avg7'`` is the reference ImageNet head, ``AvgPool2d(7)``, which needs 224x224 input;
    ``pool='adaptive'`` (the CIFAR head) allows small test inputs.
    """

    def __init__(self, imagenet: bool, auxiliary: bool = True, pool: str = 'adaptive'):
        super().__init__()
        c, classes, layers = C, CLASSES, LAYERS
        self._layers = layers
        self._imagenet = imagenet
        self._auxiliary = auxiliary
        if imagenet:
            self.stem0 = nn.Sequential(
                nn.Conv2d(3, c // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c // 2),
                nn.ReLU(inplace=True),
                nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c))
            self.stem1 = nn.Sequential(
                nn.ReLU(inplace=True),  # in place, as in the reference: also rectifies s0
                nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c))
            c_pp, c_p, reduction_prev = c, c, True
        else:
            self.stem = nn.Sequential(nn.Conv2d(3, 3 * c, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(3 * c))
            c_pp, c_p, reduction_prev = 3 * c, 3 * c, False
        self.cells = nn.ModuleList()
        c_curr = c
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = RefCell(c_pp, c_p, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_curr
            if i == 2 * layers // 3:
                c_aux = c_p
        if auxiliary:
            self.auxiliary_head = RefAuxiliaryHead(c_aux, classes, imagenet)
        self.global_pooling = nn.AvgPool2d(7) if pool == 'avg7' else nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, classes)

    def forward(self, x: torch.Tensor):
        logits_aux = None
        if self._imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == 2 * self._layers // 3 and self._auxiliary and self.training:
                logits_aux = self.auxiliary_head(s1)
        out = self.global_pooling(s1)
        return self.classifier(out.view(out.size(0), -1)), logits_aux


def build_reference(imagenet: bool, seed: int = 0, size: int | None = None,
                    **kwargs) -> RefNetwork:
    """A reference network in eval mode whose every tensor is random, so that any wrong key
    mapping changes the outputs.

    BN affine parameters and counters are drawn at random; the running statistics of the BN
    layers on the main path are then set to the batch statistics of random ``size`` x ``size``
    inputs (those of the auxiliary head stay random), which keeps the logits input-dependent.
    """
    torch.manual_seed(seed)
    net = RefNetwork(imagenet, **kwargs)
    norms = [module for module in net.modules() if isinstance(module, nn.BatchNorm2d)]
    with torch.no_grad():
        for norm in norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_(0., 0.2)
            norm.running_mean.normal_(0., 0.2)
            norm.running_var.uniform_(0.5, 2.)
            norm.momentum = None  # running statistics := those of the next batch
        size = size or (64 if imagenet else 32)
        auxiliary, net._auxiliary = net._auxiliary, False
        net.train()(torch.randn(4, 3, size, size))
        net._auxiliary = auxiliary
        for norm in norms:
            norm.momentum = 0.1
            norm.num_batches_tracked.fill_(int(torch.randint(1, 1000, ())))
    return net.eval()


def build_classifier(imagenet: bool, pool: str = 'adaptive') -> nn.Module:
    """Our ImageClassifier matching :class:`RefNetwork` (with its auxiliary head)."""
    width = 16 * C  # 4 nodes x 4C: the second reduction cell (aux feature) and the last cell
    head = dict(type='mmrnas.RelativeNASClsHead', num_classes=CLASSES, in_channels=width, pool=pool,
                aux_head='imagenet' if imagenet else 'cifar',
                aux_in_channels=width)
    backbone = dict(type='RelativeNASBackbone', stem='imagenet' if imagenet else 'cifar',
                    base_channels=C, num_cells=LAYERS, with_aux_feature=True)
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone, head=head))


def assert_same(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected, rtol=1e-5, atol=1e-6), (
        f'max abs difference {(actual - expected).abs().max().item():.3g}')


# ---------------------------------------------------------------- tests
@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: faster for these tiny networks, and no OpenMP spinning on a busy
    machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_cifar_logits_equal_reference(prefix):
    ref = build_reference(imagenet=False)
    state_dict = OrderedDict((prefix + key, value) for key, value in ref.state_dict().items())
    ours = build_classifier(imagenet=False)
    ours.load_state_dict(convert_relativenas_state_dict(state_dict), strict=True)
    ours.eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        expected, no_aux = ref(x)
        assert no_aux is None
        assert_same(ours(x, mode='tensor'), expected)

        # Train mode (batch-statistics BN, no drop-path): main and auxiliary logits.
        ref.train()
        ours.train()
        expected, expected_aux = ref(x.clone())
        feats = ours.backbone(x)
        assert_same(ours.head(feats), expected)
        assert_same(ours.head.aux_head(feats[0]), expected_aux)


@pytest.mark.parametrize('size,pool', [(64, 'adaptive'), (224, 'avg7')])
def test_imagenet_logits_equal_reference(size, pool):
    """At 64x64 both sides use a global average pool; at 224x224 the reference's own
    ``AvgPool2d(7)`` head, which needs that input size, is checked against ``pool='avg7'``."""
    ref = build_reference(imagenet=True, size=size, pool=pool)
    ours = build_classifier(imagenet=True, pool=pool)
    ours.load_state_dict(convert_relativenas_state_dict(ref.state_dict()), strict=True)
    ours.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        assert_same(ours(x, mode='tensor'), ref(x.clone())[0])


def test_auxiliary_heads_equal_on_the_same_feature():
    """Eval-mode BN: the converted aux heads give the reference aux logits for one feature
    (8x8 for the CIFAR head, 7x7 for the ImageNet head)."""
    for imagenet, size in ((False, 8), (True, 7)):
        ref = build_reference(imagenet=imagenet, seed=1)
        ours = build_classifier(imagenet=imagenet)
        ours.load_state_dict(convert_relativenas_state_dict(ref.state_dict()), strict=True)
        ours.eval()
        feature = torch.randn(2, 16 * C, size, size)
        with torch.no_grad():
            assert_same(ours.head.aux_head(feature), ref.auxiliary_head(feature.clone()))


def test_a_wrong_mapping_shows():
    """Sanity check of the fixture: swapping two same-shaped edges changes the logits."""
    ref = build_reference(imagenet=False)
    state_dict = ref.state_dict()
    edge_4, edge_7 = 'cells.0._ops.4.', 'cells.0._ops.7.'
    swap = {edge_4: edge_7, edge_7: edge_4}
    swapped = OrderedDict()
    for key in state_dict:
        source = next((swap[edge] + key[len(edge):] for edge in swap if key.startswith(edge)),
                      key)
        swapped[key] = state_dict[source]
    ours = build_classifier(imagenet=False).eval()
    ours.load_state_dict(convert_relativenas_state_dict(swapped), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(ours(x, mode='tensor'), ref(x)[0], atol=1e-3)


def test_key_mapping_rules():
    tensor = torch.zeros(1)
    reference = {
        'module.stem.0.weight': tensor,
        'module.stem0.4.running_var': tensor,
        'module.stem1.2.num_batches_tracked': tensor,
        'module.cells.3.preprocess0.conv_2.weight': tensor,
        'module.cells.3.preprocess1.op.2.running_mean': tensor,
        'module.cells.3._ops.11.op.7.bias': tensor,
        'module.cells.13._ops.5.bn.weight': tensor,
        'module.cells.0._ops.2.1.weight': tensor,  # conv_7x1_1x7 is a bare Sequential
        'module.auxiliary_head.features.6.running_mean': tensor,
        'module.auxiliary_head.classifier.bias': tensor,
        'module.classifier.weight': tensor,
    }
    expected = [
        'backbone.stem.0.weight',
        'backbone.stem0.4.running_var',
        'backbone.stem1.2.num_batches_tracked',
        'backbone.cells.3.preprocess0.conv_2.weight',
        'backbone.cells.3.preprocess1.op.2.running_mean',
        'backbone.cells.3.ops.11.op.7.bias',
        'backbone.cells.13.ops.5.bn.weight',
        'backbone.cells.0.ops.2.1.weight',
        'head.aux_head.features.6.running_mean',
        'head.aux_head.classifier.bias',
        'head.classifier.weight',
    ]
    converted = convert_relativenas_state_dict(reference)
    assert list(converted) == expected
    assert all(value is tensor for value in converted.values())
    assert list(convert_relativenas_state_dict(reference, backbone_only=True)) == expected[:8]


def test_unmatched_keys_are_named():
    state_dict = build_reference(imagenet=False).state_dict()
    state_dict['module.cells.0.extra.weight'] = torch.zeros(1)
    state_dict['total_ops'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"2 key\(s\) match no parameter .*'module\.cells\.0"
                       r"\.extra\.weight', 'total_ops'"):
        convert_relativenas_state_dict(state_dict)
    many = {f'unknown.{i}': torch.zeros(1) for i in range(25)}
    with pytest.raises(ValueError, match=r"'unknown\.9' \(and 15 more\)$"):
        convert_relativenas_state_dict(many)


def test_invalid_state_dicts():
    with pytest.raises(ValueError, match="both convert to 'head.classifier.bias'"):
        convert_relativenas_state_dict({
            'classifier.bias': torch.zeros(1),
            'module.classifier.bias': torch.zeros(1)
        })
    with pytest.raises(ValueError, match="'epoch' holds a int, not a tensor"):
        convert_relativenas_state_dict({'epoch': 3})


def test_extract_state_dict():
    state_dict = {'classifier.weight': torch.zeros(1)}
    assert extract_state_dict(state_dict) is state_dict
    assert extract_state_dict({'epoch': 5, 'state_dict': state_dict}) is state_dict
    assert extract_state_dict({'model': state_dict, 'optimizer': {}}) is state_dict
    assert extract_state_dict({'model': {'state_dict': state_dict}}) is state_dict
    with pytest.raises(ValueError, match=r"found a dict with keys 'epoch', 'optimizer'"):
        extract_state_dict({'epoch': 5, 'optimizer': {}})
    with pytest.raises(ValueError, match='found a list'):
        extract_state_dict([state_dict])


def test_describe_state_dict():
    cifar = build_reference(imagenet=False).state_dict()
    assert describe_relativenas_state_dict(cifar) == dict(
        stem='cifar', base_channels=C, num_cells=LAYERS, num_classes=CLASSES, aux_head='cifar')
    imagenet = {'module.' + key: value for key, value in
                build_reference(imagenet=True, auxiliary=False).state_dict().items()
                if not key.startswith('classifier.')}
    assert describe_relativenas_state_dict(imagenet) == dict(
        stem='imagenet', base_channels=C, num_cells=LAYERS, num_classes=0, aux_head='none')
    with pytest.raises(ValueError, match='found 0'):
        describe_relativenas_state_dict({'classifier.weight': torch.zeros(1, 1)})
