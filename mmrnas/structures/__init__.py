"""mmrnas.structures: the architecture as data (standard library, numpy and PyYAML only)."""
from .genotype import CELL_KINDS, GENOTYPE_SUFFIXES, Edge, Genotype
from .genotype_distance import genotype_distance
from .genotype_library import (
    GenotypeSpec,
    genotype_source,
    get_genotype,
    list_genotypes,
    resolve_genotype,
)
from .op_names import ALL_OPS, EXTRA_OPS, SEARCH_PRIMITIVES

__all__ = [
    'ALL_OPS', 'CELL_KINDS', 'EXTRA_OPS', 'Edge', 'GENOTYPE_SUFFIXES', 'Genotype', 'GenotypeSpec',
    'SEARCH_PRIMITIVES', 'genotype_distance', 'genotype_source', 'get_genotype', 'list_genotypes',
    'resolve_genotype'
]
