"""mmrnas.search: the RelativeNAS search (encoding, slow-fast update, population)."""
from .encoding import PRIMITIVES, bounds, decode, decode_index, encode, random_vectors
from .population import POPULATION_UPDATES, Population
from .slow_fast import select_teacher, slow_fast_update

__all__ = [
    'PRIMITIVES', 'bounds', 'decode', 'decode_index', 'encode', 'random_vectors',
    'slow_fast_update', 'select_teacher', 'Population',
    'POPULATION_UPDATES'
]
