"""mmrnas.search: the RelativeNAS search (encoding, slow-fast update, population)."""
from .budget import NoBudget, SearchBudget, build_search_budget
from .encoding import PRIMITIVES, bounds, decode, decode_index, encode, random_vectors
from .genotype_cost import GenotypeCost
from .population import Population
from .population_update import (
                                PopulationUpdate,
                                RandomRedraw,
                                SlowFastUpdate,
                                build_population_update,
)
from .slow_fast import select_teacher, slow_fast_update

__all__ = [
    'PRIMITIVES', 'bounds', 'decode', 'decode_index', 'encode', 'random_vectors',
    'slow_fast_update', 'select_teacher', 'Population', 'PopulationUpdate', 'SlowFastUpdate',
    'RandomRedraw', 'build_population_update', 'NoBudget', 'SearchBudget',
    'build_search_budget', 'GenotypeCost'
]
