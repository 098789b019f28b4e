"""Drop-path (stochastic depth over cell edges) as used by DARTS-style cells."""
import torch

__all__ = ['drop_path']


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Zero whole samples of ``x`` with probability ``p`` and rescale the rest by ``1 / (1 - p)``.

    Same distribution as the reference (REFERENCE.md §1.5), but out of place and device-agnostic
    (REFERENCE.md §9.2): the reference multiplies the op output in place and draws the mask
    with ``torch.cuda.FloatTensor``.

    Args:
        x (Tensor): Input of shape (N, C, H, W).
        p (float): Drop probability in [0, 1).
        training (bool): Apply only when True; otherwise ``x`` is returned unchanged.

    Returns:
        Tensor: ``x`` itself when not training or ``p == 0``, else a new tensor.
    """
    if not training or p <= 0.:
        return x
    keep = 1. - p
    mask = x.new_empty(x.size(0), 1, 1, 1).bernoulli_(keep)
    return x / keep * mask
