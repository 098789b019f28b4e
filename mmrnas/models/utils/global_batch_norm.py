"""Batch normalisation over the batch of all processes, on any device and backend."""
import torch
import torch.distributed as dist
import torch.nn as nn

__all__ = ['GlobalBatchNorm2d', 'convert_to_global_batch_norm']


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes whose backward sums the incoming gradients over processes."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.clone()
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


def _all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    return _AllReduceSum.apply(tensor)


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` whose training statistics cover the whole data-parallel batch.

    PyTorch's ``SyncBatchNorm`` runs on GPUs only; this layer works with every
    ``torch.distributed`` backend (gloo on CPUs included) and computes what one process
    training the whole batch computes, up to floating-point order: the mean and the biased
    variance (two passes, for accuracy) normalise the batch, the unbiased variance enters the
    running statistics. Outside training, or with one process, it is ``BatchNorm2d``.
    Parameters, buffers and state-dict keys are those of ``BatchNorm2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        dims = (0, 2, 3)
        local_count = x.new_full((1, ), x.numel() // x.size(1))
        sums = _all_reduce(torch.cat([x.sum(dims), local_count]))
        count = sums[-1]
        mean = sums[:-1] / count
        centred = x - mean.view(1, -1, 1, 1)
        var = _all_reduce(centred.pow(2).sum(dims)) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (1.0 / self.num_batches_tracked.item()
                            if self.momentum is None else self.momentum)
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_mean.lerp_(mean, momentum)
                self.running_var.lerp_(unbiased, momentum)
        out = centred * torch.rsqrt(var + self.eps).view(1, -1, 1, 1)
        if self.affine:
            out = out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return out


def convert_to_global_batch_norm(module: nn.Module) -> nn.Module:
    """Replace, in place, every ``BatchNorm2d`` of ``module`` by a :class:`GlobalBatchNorm2d`
    holding the same parameter and buffer tensors; return ``module`` (or its replacement when
    ``module`` itself is a ``BatchNorm2d``)."""
    if type(module) is nn.BatchNorm2d:
        layer = GlobalBatchNorm2d(module.num_features, module.eps, module.momentum,
                                  module.affine, module.track_running_stats)
        for name, tensor in list(module._parameters.items()) + list(module._buffers.items()):
            setattr(layer, name, tensor)
        layer.train(module.training)
        return layer
    for name, child in module.named_children():
        converted = convert_to_global_batch_norm(child)
        if converted is not child:
            setattr(module, name, converted)
    return module
