"""Parameter and mult-add counting with the reference's rules (docs/reference.md §8).

The RelativeNAS repository counts parameters as the sum of ``numel`` over
``named_parameters()`` excluding every name containing ``'aux'`` (the auxiliary head), and
mult-adds by forwarding one image in eval mode with hooks on ``nn.Conv2d`` and ``nn.Linear``
only: a convolution costs ``k_h * k_w * C_in * C_out / groups * H_out * W_out`` (plus
``C_out * H_out * W_out`` when it has a bias), a linear layer ``in * out`` (its bias is free);
BN, activations, pooling, additions and concatenations cost nothing; one multiply-add counts 1.
Unlike the reference, the counter runs on the model's own device.
"""
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModel

__all__ = ['TensorForward', 'count_parameters', 'count_mult_adds', 'forward_tensor']


def count_parameters(model: nn.Module, exclude: Sequence[str] = ('aux', )) -> int:
    """Number of parameters whose name contains none of ``exclude``.

    Args:
        model (nn.Module): The model.
        exclude (Sequence[str]): Name fragments to leave out; the reference convention is
            ``('aux', )`` (auxiliary head excluded). Pass ``()`` to count everything.
    """
    return sum(p.numel() for name, p in model.named_parameters()
               if not any(fragment in name for fragment in exclude))


def forward_tensor(model: nn.Module, inputs: torch.Tensor):
    """Plain forward: ``mode='tensor'`` for MMEngine models, ``model(inputs)`` otherwise."""
    if isinstance(model, BaseModel):
        return model(inputs, None, mode='tensor')
    return model(inputs)


class TensorForward(nn.Module):
    """Wraps a model so that ``forward(x)`` is its plain tensor forward (:func:`forward_tensor`),
    for tracing and export (``get_flops.py``, ``pytorch2onnx.py``)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        return forward_tensor(self.model, inputs)


def _conv_cost(module: nn.Conv2d, output: torch.Tensor) -> int:
    kernel_h, kernel_w = module.kernel_size
    out_h, out_w = output.shape[-2:]
    cost = (kernel_h * kernel_w * module.in_channels * module.out_channels // module.groups *
            out_h * out_w)
    if module.bias is not None:
        cost += module.out_channels * out_h * out_w
    return cost


def count_mult_adds(model: nn.Module,
                    input_shape: Tuple[int, int, int] = (3, 224, 224),
                    forward: Optional[Callable[[nn.Module, torch.Tensor], object]] = None,
                    train_mode: bool = False) -> int:
    """Mult-adds of one forward pass of one random image, counted as the reference does.

    Args:
        model (nn.Module): The model; its train/eval mode is restored afterwards.
        input_shape (tuple[int, int, int]): ``(C, H, W)`` of the image.
        forward (callable, optional): ``forward(model, inputs)``; defaults to
            :func:`forward_tensor`.
        train_mode (bool): Forward in train mode (the reference does so for BiSeNet, to count
            all its heads); eval mode otherwise, which skips auxiliary heads. Defaults to False.

    Returns:
        int: The number of multiply-adds (divide by 1e6 for the reference's "M").
    """
    forward = forward or forward_tensor
    total = 0

    def conv_hook(module, _inputs, output):
        nonlocal total
        total += _conv_cost(module, output)

    def linear_hook(module, _inputs, output):
        nonlocal total
        total += module.in_features * module.out_features * (output.numel() //
                                                             output.shape[-1])

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    device = next(model.parameters()).device
    try:
        model.train(train_mode)
        with torch.no_grad():
            forward(model, torch.randn(1, *input_shape, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total
