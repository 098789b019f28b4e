"""check_backbone_pyramid: one clear error when a backbone's outputs do not fit a consumer."""
import pytest
from torch import nn

from mmrnas.models import RelativeNASBackbone
from mmrnas.models.utils import check_backbone_pyramid


@pytest.fixture(scope='module')
def backbone():
    # C8 L5 keeps the build fast; stages 0..3: 8/32/64/128 channels at strides 4/8/16/32.
    return RelativeNASBackbone(base_channels=8, num_cells=5, out_indices=(1, 2, 3))


def test_fitting_pyramid_passes(backbone):
    assert backbone.out_channels == (32, 64, 128)
    check_backbone_pyramid(backbone, 'neck', (32, 64, 128), (8, 16, 32))
    check_backbone_pyramid(backbone, 'neck', (32, 64, 128))  # channels only


def test_wrong_count_names_both_pyramids_and_the_fix(backbone):
    with pytest.raises(ValueError) as error:
        check_backbone_pyramid(backbone, 'SSD neck', (64, 128), (16, 32))
    assert str(error.value) == (
        'RelativeNASBackbone(out_indices=(1, 2, 3)) gives 3 feature map(s) with channels '
        '(32, 64, 128) at strides (8, 16, 32), but the SSD neck expects 2 feature map(s) with '
        'channels (64, 128) at strides (16, 32). Set the backbone out_indices=(2, 3), or '
        'change the SSD neck.')


def test_wrong_stride_is_caught_even_with_matching_count():
    backbone = RelativeNASBackbone(base_channels=8, num_cells=5, out_indices=(3, ))
    with pytest.raises(ValueError, match=r'strides \(32,\), but the head expects 1 feature '
                       r'map\(s\) with channels \(64,\) at strides \(16,\)\. Set the backbone '
                       r'out_indices=\(2,\)'):
        check_backbone_pyramid(backbone, 'head', (64, ), (16, ))


def test_unreachable_pyramid_suggests_changing_the_backbone(backbone):
    with pytest.raises(ValueError, match=r'expects 1 feature map\(s\) with channels \(736,\)\. '
                       r'Change the backbone \(out_indices, base_channels\) or the head\.'):
        check_backbone_pyramid(backbone, 'head', (736, ))


def test_backbones_without_pyramid_are_not_checked():
    check_backbone_pyramid(nn.Conv2d(3, 8, 3), 'head', (736, ), (32, ))
