"""Per-generation learning rate and drop-path probability of the search (docs/reference.md §4.2)."""
import math

__all__ = ['search_lr', 'search_drop_path_rate']


def search_lr(generation: int, max_generations: int, lr: float, lr_min: float,
              reference_quirk: bool = False) -> float:
    """Cosine annealing over generations, ``lr -> lr_min``, in closed form.

    ``lr_g = lr_min + (lr - lr_min) * (1 + cos(pi * g / G)) / 2``. The reference reads its
    scheduler with ``get_lr()`` outside ``step()``, which on current PyTorch multiplies one
    extra factor ``f_g = (1 + cos(pi g / G)) / (1 + cos(pi (g - 1) / G))`` into the distance
    to ``lr_min`` for ``g >= 1`` (0.047576 instead of 0.050500 at g=25 of 50). The closed
    form is the default; ``reference_quirk=True`` reproduces the compounded values.

    Args:
        generation (int): 0-based generation g.
        max_generations (int): Number of generations G.
        lr (float): Initial lr (reference: 0.1).
        lr_min (float): Final lr (reference: 0.001).
        reference_quirk (bool): Reproduce the reference's compounded lr. Defaults to False.
    """
    cosine = 1 + math.cos(math.pi * generation / max_generations)
    value = lr_min + (lr - lr_min) * cosine / 2
    if reference_quirk and generation >= 1:
        factor = cosine / (1 + math.cos(math.pi * (generation - 1) / max_generations))
        value = lr_min + factor * (value - lr_min)
    return value


def search_drop_path_rate(generation: int, max_generations: int, max_rate: float) -> float:
    """``max_rate * g / G`` (reference: 0.3 * g / 50)."""
    return max_rate * generation / max_generations
