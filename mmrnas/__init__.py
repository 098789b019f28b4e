"""mmrnas: RelativeNAS for OpenMMLab. Importing it loads torch and mmengine only."""
from .version import __version__

__all__ = ['__version__']
