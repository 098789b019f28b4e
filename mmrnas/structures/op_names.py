"""Names of the cell operations.

``SEARCH_PRIMITIVES`` is the RelativeNAS search space in the reference order: the position of a
name is its op id in the continuous encoding (docs/reference.md §1.1). ``EXTRA_OPS`` exist only so
that the NASNet and AmoebaNet baseline genotypes can be described; they are never searched.
"""

__all__ = ['SEARCH_PRIMITIVES', 'EXTRA_OPS', 'ALL_OPS']

SEARCH_PRIMITIVES: tuple[str, ...] = (
    'max_pool_3x3',   # 0
    'avg_pool_3x3',   # 1
    'skip_connect',   # 2
    'sep_conv_3x3',   # 3
    'sep_conv_5x5',   # 4
    'dil_conv_3x3',   # 5
    'dil_conv_5x5',   # 6
)

EXTRA_OPS: tuple[str, ...] = ('none', 'sep_conv_7x7', 'conv_7x1_1x7')

ALL_OPS: tuple[str, ...] = SEARCH_PRIMITIVES + EXTRA_OPS
