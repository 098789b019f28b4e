"""mmrnas registries: children of MMEngine's root registries, scope ``mmrnas`` (and one root of
its own, :data:`BATCH_AUGMENTS`, which MMEngine has no root for).

Each registry names the modules that register into it (``locations``), so that
``Registry.build`` imports them on demand; ``import mmrnas`` itself stays light.

**The registration rule** (docs/get_started.md, "Names in configs", says the same for users):

- ``RelativeNASBackbone`` is the one name that downstream configs use bare: it is registered
  in this scope's ``MODELS`` and in MMEngine's root ``MODELS`` (:data:`ROOT_MODELS`). The
  OpenMMLab toolboxes' registries are children of the root, so ``type='RelativeNASBackbone'``
  resolves from mmdet, mmseg, mmpose and mmpretrain configs.
- Everything else (heads, necks, detectors, losses, datasets, hooks, loops) lives in the
  ``mmrnas`` scope only. From another scope's config (``default_scope='mmdet'``, ...) it is
  named with the scope prefix, ``type='mmrnas.RelativeNASClsHead'``; MMEngine resolves
  ``mmrnas.X`` through the root into this scope. Modules that import a toolbox register here
  too and are loaded by the config's ``custom_imports``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS',
    'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS',
    'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'ROOT_MODELS', 'BATCH_AUGMENTS'
]

SCOPE = 'mmrnas'

# Runner, loops and hooks: the search loop and the search / retraining hooks.
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope=SCOPE, locations=['mmrnas.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope=SCOPE, locations=['mmrnas.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE, locations=['mmrnas.engine'])
LOG_PROCESSORS = Registry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, scope=SCOPE, locations=['mmrnas.engine'])

# Optimisation.
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, scope=SCOPE, locations=['mmrnas.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE, locations=['mmrnas.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope=SCOPE,
    locations=['mmrnas.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    scope=SCOPE,
    locations=['mmrnas.engine'])

# Data.
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, scope=SCOPE, locations=['mmrnas.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope=SCOPE, locations=['mmrnas.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE, locations=['mmrnas.datasets'])
#: Augmentations of a whole batch on its device (``train_dataloader.augment`` of a search:
#: ``BatchAugment``), as mmpretrain keeps its ``Mixup`` / ``CutMix``: a root registry, not a
#: child of ``TRANSFORMS``. A batch augment is called with a uint8 batch, the normalisation and
#: a generator, a transform with one sample's dict; as a child, a name missing here would
#: resolve to a per-sample transform of the same name (``RandomCrop``) and fail when called.
BATCH_AUGMENTS = Registry('batch augment', scope=SCOPE, locations=['mmrnas.datasets'])

# Models.
MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE, locations=['mmrnas.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE, locations=['mmrnas.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    scope=SCOPE,
    locations=['mmrnas.models'])
TASK_UTILS = Registry(
    'task util',
    parent=MMENGINE_TASK_UTILS,
    scope=SCOPE,
    locations=['mmrnas.models', 'mmrnas.search', 'mmrnas.engine', 'mmrnas.engine.estimators'])

# Evaluation and visualisation.
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope=SCOPE, locations=['mmrnas.engine'])
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, scope=SCOPE, locations=['mmrnas.engine'])
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, scope=SCOPE, locations=['mmrnas.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, scope=SCOPE, locations=['mmrnas.visualization'])

#: MMEngine's root model registry, for modules that must resolve by bare name from every
#: OpenMMLab toolbox (``RelativeNASBackbone``).
ROOT_MODELS = MMENGINE_MODELS
