"""Auxiliary heads and RelativeNASClsHead inside mmpretrain's ImageClassifier."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from mmrnas.models.heads import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet

mmpretrain = pytest.importorskip('mmpretrain')

from mmpretrain.registry import MODELS  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

from mmrnas.models.heads.relativenas_cls_head import RelativeNASClsHead  # noqa: E402
from mmrnas.registry import ROOT_MODELS  # noqa: E402

# The CIFAR classifier preset the retraining configs build on (the tests below check its exact
# parameter count and behaviour).
CIFAR10_CLASSIFIER = Config.fromfile(
    str(Path(__file__).resolve().parents[3] / 'configs' / '_base_' / 'models' /
        'relativenas_c36l20_cifar.py')).model.to_dict()


def samples(labels):
    return [DataSample().set_gt_label(label) for label in labels]


@pytest.mark.parametrize('head_cls, in_size, layers', [
    (AuxiliaryHeadCIFAR, 8, [nn.ReLU, nn.AvgPool2d, nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d,
                             nn.BatchNorm2d, nn.ReLU]),
    (AuxiliaryHeadImageNet, 7, [nn.ReLU, nn.AvgPool2d, nn.Conv2d, nn.BatchNorm2d, nn.ReLU,
                                nn.Conv2d, nn.ReLU]),
])
def test_auxiliary_heads(head_cls, in_size, layers):
    head = head_cls(16, 5)
    assert [type(m) for m in head.features] == layers
    pool = head.features[1]
    assert (pool.kernel_size, pool.padding, pool.count_include_pad) == (5, 0, False)
    assert pool.stride == (3 if head_cls is AuxiliaryHeadCIFAR else 2)
    assert (head.features[2].out_channels, head.features[5].kernel_size) == (128, (2, 2))
    assert (head.classifier.in_features, head.classifier.out_features) == (768, 5)
    x = torch.randn(2, 16, in_size, in_size)
    x_copy = x.clone()
    assert head(x).shape == (2, 5)
    torch.testing.assert_close(x, x_copy)  # the backbone feature is not rectified in place


@pytest.fixture(scope='module')
def model():
    """The CIFAR-10 retraining classifier (C36 L20 + CIFAR aux head) built by mmpretrain."""
    return MODELS.build(CIFAR10_CLASSIFIER)


class TestImageClassifier:

    def test_build_and_parameter_count(self, model):
        assert ROOT_MODELS.get('RelativeNASClsHead') is None  # mmrnas scope only
        assert MODELS.get('mmrnas.RelativeNASClsHead') is RelativeNASClsHead
        assert isinstance(model.head, RelativeNASClsHead)
        assert isinstance(model.head.aux_head, AuxiliaryHeadCIFAR)
        assert model.backbone.aux_channels == model.backbone.out_channels[-1] == 576
        paper = sum(p.numel() for name, p in model.named_parameters() if 'aux' not in name)
        assert paper == 3_928_222
        assert sum(p.numel() for p in model.parameters()) == 4_404_648

    def test_loss_has_weighted_aux_loss(self, model):
        aux_logits = []
        handle = model.head.aux_head.register_forward_hook(
            lambda module, args, out: aux_logits.append(out))
        labels = [3, 7]
        torch.manual_seed(0)
        try:
            losses = model.train()(torch.randn(2, 3, 32, 32), samples(labels), mode='loss')
        finally:
            handle.remove()
        assert set(losses) == {'loss', 'loss_aux'}
        expected = 0.4 * F.cross_entropy(aux_logits[0], torch.tensor(labels))
        torch.testing.assert_close(losses['loss_aux'], expected)
        assert losses['loss'].requires_grad and losses['loss_aux'].requires_grad

    def test_predict_uses_main_logits_only(self, model):
        calls = []
        handle = model.head.aux_head.register_forward_hook(lambda *args: calls.append(1))
        inputs = torch.randn(2, 3, 32, 32)
        model.eval()
        try:
            with torch.no_grad():
                predictions = model(inputs, samples([1, 2]), mode='predict')
                logits = model(inputs, mode='tensor')
        finally:
            handle.remove()
        assert not calls
        assert logits.shape == (2, 10)
        scores = torch.stack([p.pred_score for p in predictions])
        torch.testing.assert_close(scores, logits.softmax(dim=1))
        assert [p.pred_label.item() for p in predictions] == logits.argmax(1).tolist()


def small_head(**kwargs):
    return RelativeNASClsHead(num_classes=4, in_channels=8, **kwargs)


def test_avg7_pool_needs_224_input():
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='RelativeNASBackbone', base_channels=4, num_cells=3),
            head=dict(type='mmrnas.RelativeNASClsHead', num_classes=4, in_channels=64,
                      pool='avg7'))).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 224, 224)).shape == (1, 4)
        with pytest.raises(ValueError, match=r"224x224.*5x5.*pool='adaptive'"):
            model(torch.randn(1, 3, 160, 160))


def test_label_smooth_loss_and_no_aux_head():
    head = small_head(loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1))
    losses = head.loss((torch.randn(2, 8, 3, 3), ), samples([0, 3]))
    assert set(losses) == {'loss'} and head.aux_head is None


def test_aux_loss_with_label_smoothing():
    head = small_head(
        aux_in_channels=6, aux_head='imagenet', aux_weight=0.5,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1))
    feats = (torch.randn(2, 6, 7, 7), torch.randn(2, 8, 7, 7))
    losses = head.train().loss(feats, samples([0, 3]))
    expected = 0.5 * head.loss_module(
        head.aux_head(feats[0]), torch.tensor([0, 3]), avg_factor=2)
    torch.testing.assert_close(losses['loss_aux'], expected)


AUX_MESSAGE = ('The auxiliary head reads the auxiliary feature as feats[0] '
               '(aux_in_channels={} channels, at the resolution of the last feature), {}: build '
               'the backbone with with_aux_feature=True and set aux_in_channels to its '
               'aux_channels, or aux_in_channels=None for no auxiliary head.')


def test_aux_head_needs_the_aux_feature():
    head = small_head(aux_in_channels=8)
    with pytest.raises(ValueError) as error:
        head.loss((torch.randn(2, 8, 7, 7), ), samples([0, 1]))
    assert str(error.value) == AUX_MESSAGE.format(8, 'got 1 feature map')
    # Right channels but a higher resolution than the last feature: a pyramid level.
    with pytest.raises(ValueError) as error:
        head.loss((torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)), samples([0, 1]))
    assert str(error.value) == AUX_MESSAGE.format(
        8, 'feats[0] has 8 channels at 8x8, the last feature is 4x4')


def classifier(out_indices, with_aux_feature):
    """C4 L5 CIFAR-stem classifier with an auxiliary head (aux feature: 64 channels)."""
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='RelativeNASBackbone', stem='cifar', base_channels=4, num_cells=5,
                          out_indices=out_indices, with_aux_feature=with_aux_feature),
            head=dict(type='mmrnas.RelativeNASClsHead', num_classes=4,
                      in_channels=64 if 3 in out_indices else 16, aux_in_channels=64))).train()


@pytest.mark.parametrize('out_indices, found', [
    ((1, 2, 3), 'feats[0] has 16 channels at 32x32, the last feature is 8x8'),
    ((0, 3), 'feats[0] has 12 channels at 32x32, the last feature is 8x8'),
    ((0, 1), 'feats[0] has 12 channels at 32x32, the last feature is 32x32'),
])
def test_pyramid_level_is_not_fed_to_the_aux_head(out_indices, found):
    """Several out_indices without with_aux_feature: the first level must not reach the
    auxiliary head; with with_aux_feature=True the same model trains."""
    inputs = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError) as error:
        classifier(out_indices, False)(inputs, samples([0, 1]), mode='loss')
    assert str(error.value) == AUX_MESSAGE.format(64, found)
    losses = classifier(out_indices, True)(inputs, samples([0, 1]), mode='loss')
    assert set(losses) == {'loss', 'loss_aux'}


def test_invalid_arguments():
    with pytest.raises(ValueError, match='pool'):
        small_head(pool='max')
    with pytest.raises(ValueError, match='aux_head'):
        small_head(aux_in_channels=8, aux_head='coco')
    with pytest.raises(ValueError, match='num_classes'):
        RelativeNASClsHead(num_classes=0, in_channels=8)
