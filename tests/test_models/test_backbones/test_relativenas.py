"""RelativeNASBackbone: sizes, pyramid, freezing, checkpointing, registries, init."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS as ROOT_MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmrnas.models import (
    AuxiliaryHeadCIFAR,
    AuxiliaryHeadImageNet,
    GenotypeCell,
    RelativeNASBackbone,
    ReLUConvBN,
)
from mmrnas.registry import MODELS
from mmrnas.structures import get_genotype


def paper_params(module: nn.Module) -> int:
    """docs/reference.md §8: parameters whose name does not contain 'aux'."""
    return sum(p.numel() for name, p in module.named_parameters() if 'aux' not in name)


class Classifier(nn.Module):
    """Backbone + global pool + Linear (+ auxiliary head), the reference network layout."""

    def __init__(self, num_classes, aux_head=None, **backbone_kwargs):
        super().__init__()
        self.backbone = RelativeNASBackbone(**backbone_kwargs)
        self.classifier = nn.Linear(self.backbone.out_channels[-1], num_classes)
        if aux_head is not None:
            self.aux_head = aux_head(self.backbone.aux_channels, num_classes)


@pytest.mark.parametrize('genotype, stem, channels, cells, classes, aux_head, expected', [
    ('RelativeNAS', 'cifar', 36, 20, 10, AuxiliaryHeadCIFAR, (3_928_222, 4_404_648)),
    ('RelativeNAS', 'cifar', 36, 20, 100, None, (3_980_152, 3_980_152)),
    ('RelativeNAS', 'imagenet', 46, 14, 1000, AuxiliaryHeadImageNet, (5_050_029, 6_306_709)),
    ('DARTS_V2', 'cifar', 36, 20, 10, None, (3_349_342, 3_349_342)),
    ('DARTS_V2', 'imagenet', 48, 14, 1000, None, (4_718_752, 4_718_752)),
])
def test_parameter_counts(genotype, stem, channels, cells, classes, aux_head, expected):
    """The reference's counts (docs/reference.md §6.1, §6.2, §8)."""
    model = Classifier(
        classes, aux_head, genotype=genotype, stem=stem, base_channels=channels,
        num_cells=cells)
    total = sum(p.numel() for p in model.parameters())
    assert (paper_params(model), total) == expected


def test_imagenet_pyramid_c46_l14():
    backbone = RelativeNASBackbone(out_indices=(0, 1, 2, 3)).eval()
    assert backbone.reduction_indices == (4, 9)
    assert backbone.stage_channels == backbone.out_channels == (46, 184, 368, 736)
    assert backbone.stage_strides == backbone.out_strides == (4, 8, 16, 32)
    with torch.no_grad():
        outs = backbone(torch.randn(1, 3, 224, 224))
    assert [tuple(out.shape) for out in outs] == [(1, 46, 56, 56), (1, 184, 28, 28),
                                                  (1, 368, 14, 14), (1, 736, 7, 7)]


def small(**kwargs) -> RelativeNASBackbone:
    """A small CIFAR-stem backbone for behaviour tests (reductions at cells 2 and 4)."""
    kwargs = {'stem': 'cifar', 'base_channels': 4, 'num_cells': 6, **kwargs}
    return RelativeNASBackbone(**kwargs)


def test_cifar_pyramid():
    backbone = small(out_indices=(0, 1, 2, 3)).eval()
    assert backbone.reduction_indices == (2, 4)
    assert backbone.stem_type == 'cifar' and not hasattr(backbone, 'stem1')
    assert backbone.stage_channels == (12, 16, 32, 64)
    assert backbone.stage_strides == (1, 1, 2, 4)
    assert isinstance(backbone.cells[0].preprocess0, ReLUConvBN)
    outs = backbone(torch.randn(2, 3, 32, 32))
    assert [tuple(out.shape) for out in outs] == [(2, 12, 32, 32), (2, 16, 32, 32),
                                                  (2, 32, 16, 16), (2, 64, 8, 8)]


def test_out_indices():
    backbone = small(out_indices=(-1, 1))
    assert backbone.out_indices == (1, 3)
    assert backbone.out_channels == (16, 64) and backbone.out_strides == (1, 4)
    assert small(out_indices=2).out_indices == (2, )
    for bad in [(4, ), (-5, ), ()]:
        with pytest.raises(ValueError, match='out_indices'):
            small(out_indices=bad)
    with pytest.raises(ValueError, match=r'\[0, 3\]'):
        small(out_indices=(0, 4))


def test_invalid_arguments():
    with pytest.raises(ValueError, match='stem'):
        small(stem='mobile')
    with pytest.raises(ValueError, match='num_cells'):
        small(num_cells=2)
    with pytest.raises(ValueError, match='frozen_stages'):
        small(frozen_stages=4)


@pytest.mark.parametrize('stem, first_conv, channels', [
    ('cifar', 'stem.0', 12), ('imagenet', 'stem0.0', 2)])
def test_in_channels(stem, first_conv, channels):
    """Grey images: only the first convolution of the stem changes (9 weights per output
    channel less than with 3 input channels); outputs are those of a colour backbone."""
    torch.manual_seed(0)
    colour = small(stem=stem, out_indices=(0, 1, 2, 3)).eval()
    torch.manual_seed(0)
    grey = small(stem=stem, in_channels=1, out_indices=(0, 1, 2, 3)).eval()
    assert (colour.in_channels, grey.in_channels) == (3, 1)
    conv = grey.get_submodule(first_conv)
    assert (conv.in_channels, tuple(conv.weight.shape)) == (1, (channels, 1, 3, 3))
    assert paper_params(colour) - paper_params(grey) == 2 * channels * 9
    assert [key for key, value in grey.state_dict().items()
            if value.shape != colour.state_dict()[key].shape] == [f'{first_conv}.weight']
    with torch.no_grad():
        grey_outs = grey(torch.randn(2, 1, 32, 32))
        colour_outs = colour(torch.randn(2, 3, 32, 32))
    assert [o.shape for o in grey_outs] == [o.shape for o in colour_outs]
    with pytest.raises(RuntimeError, match='expected input'):
        grey(torch.randn(2, 3, 32, 32))


@pytest.mark.parametrize('in_channels', [0, -1, 1.0, True, '3', None])
def test_invalid_in_channels(in_channels):
    with pytest.raises(ValueError) as error:
        small(in_channels=in_channels)
    assert str(error.value) == (
        'in_channels must be a positive int (the image channels: 3 for colour, 1 for grey '
        f'images), got {in_channels!r}')


def test_aux_feature_in_train_and_eval():
    backbone = small(out_indices=(1, 3), with_aux_feature=True)
    assert backbone.aux_channels == 64
    captured = []
    backbone.cells[4].register_forward_hook(lambda module, args, out: captured.append(out))
    x = torch.randn(2, 3, 16, 16)
    train_outs = backbone.train()(x)
    eval_outs = backbone.eval()(x)
    assert len(train_outs) == len(eval_outs) == 3
    assert train_outs[0] is captured[0] and eval_outs[0] is captured[1]
    assert eval_outs[0].shape == (2, 64, 4, 4)
    assert [out.shape[1] for out in eval_outs[1:]] == [16, 64]
    assert len(small(out_indices=(1, 3))(x)) == 2


def stage_modules(backbone):
    """Stage -> modules, as documented for ``frozen_stages`` (ImageNet stem, 6 cells)."""
    cells = list(backbone.cells)
    return [[backbone.stem0], [backbone.stem1] + cells[:2], cells[2:4], cells[4:]]


def unread_parameters(backbone):
    """Parameters of the preprocessing of cell inputs that no edge reads (never trainable)."""
    return {id(p) for cell in backbone.cells for i, pre in enumerate(
        (cell.preprocess0, cell.preprocess1)) if i not in cell.input_indices
            for p in pre.parameters()}


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3])
def test_frozen_stages(frozen_stages):
    backbone = RelativeNASBackbone(
        base_channels=4, num_cells=6, frozen_stages=frozen_stages).train()
    stages = stage_modules(backbone)
    assert sum(len(list(m.parameters())) for s in stages for m in s) == len(
        list(backbone.parameters()))
    unread = unread_parameters(backbone)
    for stage, modules in enumerate(stages):
        frozen = stage <= frozen_stages
        for module in modules:
            assert all(p.requires_grad != (frozen or id(p) in unread)
                       for p in module.parameters())
            norms = [m for m in module.modules() if isinstance(m, _BatchNorm)]
            assert norms and all(norm.training != frozen for norm in norms)


def test_frozen_stages_cifar_stem():
    backbone = small(frozen_stages=1).train()
    assert not any(p.requires_grad for p in backbone.stem.parameters())
    assert not any(p.requires_grad for cell in backbone.cells[:2] for p in cell.parameters())
    unread = unread_parameters(backbone)
    assert all(p.requires_grad != (id(p) in unread) for cell in backbone.cells[2:]
               for p in cell.parameters())


def test_norm_eval():
    backbone = small(norm_eval=True).train()
    norms = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert norms and not any(norm.training for norm in norms)
    assert backbone.training and backbone.cells[0].training
    unread = unread_parameters(backbone)
    assert all(p.requires_grad != (id(p) in unread) for p in backbone.parameters())


def test_only_parameters_that_get_gradients_are_trainable():
    """RelativeNAS reduction cells never read state 0: their preprocess0 still runs (as in the
    reference; its parameters count) but is not trainable, so every trainable parameter gets a
    gradient and DistributedDataParallel needs no find_unused_parameters."""
    backbone = RelativeNASBackbone(base_channels=4, num_cells=6, out_indices=(0, 1, 2, 3))
    frozen = [name for name, p in backbone.named_parameters() if not p.requires_grad]
    assert frozen == [f'cells.{i}.preprocess0.{name}' for i in (2, 4)
                      for name in ('op.1.weight', 'op.2.weight', 'op.2.bias')]
    sum(out.sum() for out in backbone(torch.randn(2, 3, 32, 32))).backward()
    assert all((p.grad is not None) == p.requires_grad for p in backbone.parameters())


def test_drop_path_rate_is_used_in_training():
    backbone = small(drop_path_rate=0.).train()
    x = torch.randn(4, 3, 16, 16)
    torch.manual_seed(0)
    plain = backbone(x)[0]
    backbone.drop_path_rate = 0.5
    torch.manual_seed(0)
    assert not torch.allclose(backbone(x)[0], plain)
    backbone.eval()
    with_rate = backbone(x)[0]
    backbone.drop_path_rate = 0.
    torch.testing.assert_close(backbone(x)[0], with_rate)


def test_compiled_backbone_takes_new_drop_path_rates_without_recompiling():
    """A schedule hook changes the rate every epoch: a compiled backbone reads it from a
    tensor (not saved in checkpoints), so one graph serves every rate."""
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    backbone = small().train()
    compiled = torch.compile(backbone, backend='eager')  # Dynamo's tracing, no code generation
    x = torch.ones(64, 3, 16, 16)
    torch.manual_seed(0)
    plain = backbone(x)[0]
    torch.manual_seed(0)
    torch.testing.assert_close(compiled(x)[0], plain)  # rate 0: an all-ones mask
    for rate in (0.1, 0.5):
        backbone.drop_path_rate = rate
        assert not torch.allclose(compiled(x)[0], plain)
    assert counters['stats']['unique_graphs'] == 1
    assert '_drop_path_prob' not in backbone.state_dict()
    assert backbone.drop_path_rate == 0.5 and float(backbone._drop_path_prob) == 0.5


def test_with_cp_matches_without():
    torch.manual_seed(0)
    plain = small(out_indices=(2, 3), drop_path_rate=0.2).train()
    checkpointed = copy.deepcopy(plain)
    checkpointed.with_cp = True
    x = torch.randn(4, 3, 16, 16)
    outputs, grads = [], []
    for model in (plain, checkpointed):
        torch.manual_seed(1)
        outs = model(x)
        sum(out.square().mean() for out in outs).backward()
        outputs.append(outs)
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*outputs):
        torch.testing.assert_close(a, b)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_sync_bn_builds_and_reverts():
    backbone = small(norm_cfg=dict(type='SyncBN'))
    norms = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert norms and all(isinstance(m, nn.SyncBatchNorm) for m in norms)
    backbone = revert_sync_batchnorm(backbone).train()
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in backbone.modules())
    assert backbone(torch.randn(2, 3, 16, 16))[0].shape == (2, 64, 4, 4)


def test_registries():
    backbone = ROOT_MODELS.build(dict(type='RelativeNASBackbone'))
    assert isinstance(backbone, RelativeNASBackbone)
    assert backbone.out_channels == (736, )
    assert MODELS.get('RelativeNASBackbone') is RelativeNASBackbone
    backbone = MODELS.build(
        dict(type='mmrnas.RelativeNASBackbone', stem='cifar', base_channels=4, num_cells=3))
    assert isinstance(backbone, RelativeNASBackbone)


def test_pretrained_init_cfg_with_prefix(tmp_path):
    source = small()
    checkpoint = tmp_path / 'classifier.pth'
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(3, 3)
    torch.save({'state_dict': state}, checkpoint)
    backbone = small(
        init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.'))
    assert not torch.equal(backbone.stem[0].weight, source.stem[0].weight)
    backbone.init_weights()
    for (name, value), expected in zip(backbone.state_dict().items(),
                                       source.state_dict().values()):
        assert torch.equal(value, expected), name


@pytest.mark.parametrize('name, normal_multiplier', [('NASNet', 5), ('AmoebaNet', 3)])
def test_baseline_genotypes_run(name, normal_multiplier):
    backbone = small(genotype=name, num_cells=3, out_indices=(1, 2, 3)).eval()
    assert isinstance(backbone.cells[0], GenotypeCell)
    assert backbone.cells[0].multiplier == normal_multiplier
    genotype = get_genotype(name)
    assert backbone.stage_channels[1:] == (4 * len(genotype.normal_concat),
                                           8 * len(genotype.reduce_concat),
                                           16 * len(genotype.reduce_concat))
    outs = backbone(torch.randn(1, 3, 16, 16))
    assert [out.shape[1] for out in outs] == list(backbone.out_channels)


def test_genotype_specs(tmp_path):
    genotype = get_genotype('DARTS_V2')
    path = tmp_path / 'arch.yaml'
    genotype.dump(path)
    for spec in (genotype, 'DARTS_V2', str(path), genotype.to_dict()):
        assert small(genotype=spec).genotype == genotype
