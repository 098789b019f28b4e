"""Integration modules for the OpenMMLab toolboxes, imported only by the configs that need them
(``custom_imports``), never by ``import mmrnas``.

They need the full install level (mmcv's compiled ops and the toolboxes): under the core level
importing any of them stops with one line naming ``bash tools/setup_env.sh --full``.
"""
from mmrnas.utils.install_level import require_full_install

require_full_install('mmrnas.downstream (the detection, segmentation and pose integration)')
