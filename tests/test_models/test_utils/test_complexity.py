"""The reference counting rules (docs/reference.md §8), on hand-sized layers and published nets."""
import torch.nn as nn

from mmrnas.models.utils.complexity import count_mult_adds, count_parameters


def test_conv_and_linear_rules():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=True),  # 8x8 out
        nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 5, padding=2, groups=8, bias=False),  # depthwise, 8x8 out
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 4))
    conv1 = 3 * 3 * 3 * 8 * 8 * 8 + 8 * 8 * 8  # weights + bias term
    conv2 = 5 * 5 * 8 * 8 // 8 * 8 * 8
    linear = 8 * 4  # bias not counted
    assert count_mult_adds(model, (3, 16, 16)) == conv1 + conv2 + linear


def test_counts_in_eval_mode_and_restores_mode():
    calls = []

    class Probe(nn.Module):

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 1, bias=False)

        def forward(self, x):
            calls.append(self.training)
            return self.conv(x)

    model = Probe().train()
    assert count_mult_adds(model, (1, 4, 4)) == 16
    assert calls == [False] and model.training
    count_mult_adds(model, (1, 4, 4), train_mode=True)
    assert calls[-1] is True


def test_parameters_exclude_aux_by_name():
    model = nn.ModuleDict(dict(body=nn.Linear(3, 2), auxiliary_head=nn.Linear(5, 1)))
    assert count_parameters(model) == 8
    assert count_parameters(model, exclude=()) == 14
