"""Integration modules for the OpenMMLab toolboxes, imported only by the configs that need them
(``custom_imports``), never by ``import mmrnas``."""
