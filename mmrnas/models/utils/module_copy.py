"""A fast deep copy of a module tree: new modules, cloned tensors, nothing shared."""
import torch.nn as nn

__all__ = ['copy_module']

_TENSOR_DICTS = ('_parameters', '_buffers', '_modules')


def copy_module(module: nn.Module) -> nn.Module:
    """Return a copy of ``module`` and its submodules whose parameters and buffers are clones.

    The same result as :func:`copy.deepcopy` for plain modules (attributes, training flags,
    ``requires_grad``, hook and buffer-name containers copied, so later changes to either side
    stay on that side), without deepcopy's generic per-object machinery: the search copies a
    candidate out of the weight set for every estimate. Attribute values other than tensors and
    modules are shared when immutable and shallow-copied when they are dicts, lists or sets.

    Args:
        module (nn.Module): The module to copy.

    Returns:
        nn.Module: The copy.
    """
    state = module.__dict__.copy()
    for name, value in state.items():
        if name not in _TENSOR_DICTS and isinstance(value, (dict, list, set)):
            state[name] = value.copy()  # keeps the type (OrderedDict, defaultdict, ...)
    state['_parameters'] = {
        name: None if param is None else nn.Parameter(param.detach().clone(), param.requires_grad)
        for name, param in module._parameters.items()
    }
    state['_buffers'] = {
        name: None if buffer is None else buffer.clone()
        for name, buffer in module._buffers.items()
    }
    state['_modules'] = {
        name: None if child is None else copy_module(child)
        for name, child in module._modules.items()
    }
    clone = module.__class__.__new__(module.__class__)
    clone.__dict__ = state
    return clone
