"""Training-free scores of a network at its current weights ("zero-cost proxies"), higher
meaning better by their authors' hypothesis: SynFlow (Tanaka et al., NeurIPS 2020, used to
rank architectures by Abdelfattah et al., ICLR 2021) and NASWOT (Mellor et al., ICML 2021).
Both are computed on a copy: the network is left as it was."""
import copy
from typing import Callable, Dict

import torch
from torch import nn

__all__ = ['synflow_score', 'naswot_score', 'ZERO_COST_SCORES']


def _without_drop_path(network: nn.Module) -> nn.Module:
    """A copy of ``network`` with its ``drop_path_rate`` (where it has one) set to 0."""
    net = copy.deepcopy(network)
    if hasattr(net, 'drop_path_rate'):
        net.drop_path_rate = 0.0
    return net


def synflow_score(network: nn.Module, inputs: torch.Tensor) -> float:
    """SynFlow: ``sum |w * dR/dw|`` over the weights of every convolution and linear layer,
    where ``R`` is the summed output for an all-ones image of ``inputs``' shape (one image)
    of a float64 copy whose parameters are replaced by their absolute values, in eval mode,
    with every BatchNorm's running statistics reset (mean 0, variance 1), so that every layer
    is a positive map and no data is needed. (Tanaka et al. keep the absolute running
    statistics, Abdelfattah et al. remove BatchNorm; at initial weights all three agree.)

    Args:
        network (nn.Module): Maps a batch of images to logits.
        inputs (torch.Tensor): A batch of images; only its shape and device are used.
    """
    net = _without_drop_path(network).double().eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and \
                    module.track_running_stats:
                module.reset_running_stats()
        for param in net.parameters():
            param.abs_()
    net.zero_grad(set_to_none=True)
    ones = torch.ones((1, ) + tuple(inputs.shape[1:]), dtype=torch.float64,
                      device=inputs.device)
    with torch.enable_grad():
        net(ones).sum().backward()
    weights = [module.weight for module in net.modules()
               if isinstance(module, (nn.Conv2d, nn.Linear)) and module.weight.grad is not None]
    return sum((weight.detach() * weight.grad).abs().sum().item() for weight in weights)


def naswot_score(network: nn.Module, inputs: torch.Tensor) -> float:
    """NASWOT: ``log |det K|`` where ``K[i, j]`` counts the ReLU units on which images ``i``
    and ``j`` of ``inputs`` agree (both active or both inactive), over the outputs of every
    ``nn.ReLU`` of a copy in train mode (batch statistics, no drop path), without gradients.
    ``K`` is summed layer by layer in float64 (exact counts, memory of a batch x batch
    matrix).

    Args:
        network (nn.Module): Maps a batch of images to logits.
        inputs (torch.Tensor): A batch of images (Mellor et al. use 128).

    Raises:
        ValueError: the network has no ``nn.ReLU``.
    """
    net = _without_drop_path(network).train()
    kernel = torch.zeros(inputs.shape[0], inputs.shape[0], dtype=torch.float64,
                         device=inputs.device)

    def record(_module, _inputs, output):
        active = (output > 0).flatten(1).to(torch.float64)
        kernel.add_(active @ active.T + (1 - active) @ (1 - active).T)

    hooks = [module.register_forward_hook(record) for module in net.modules()
             if isinstance(module, nn.ReLU)]
    if not hooks:
        raise ValueError(f'naswot_score needs nn.ReLU modules; {type(network).__name__} has none')
    with torch.no_grad():
        net(inputs)
    for hook in hooks:
        hook.remove()
    return float(torch.linalg.slogdet(kernel)[1])


#: Training-free scores by name: ``score(network, inputs) -> float``, higher is better.
ZERO_COST_SCORES: Dict[str, Callable[[nn.Module, torch.Tensor], float]] = dict(
    synflow=synflow_score, naswot=naswot_score)
