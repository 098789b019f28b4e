"""Installs mmrnas: ``pip install -e .`` is ``import mmrnas`` (torch + mmengine); the install
levels are extras, never both in one environment (mmcv-lite and mmcv share the package ``mmcv``):

- ``pip install -e .[core]``: search, retraining, analysis, ONNX export (mmpretrain on
  mmcv-lite, nothing compiled);
- ``pip install -e .[full]``: the detection, segmentation and pose configs too (mmcv 2.1.0 with
  compiled ops, mmdet, mmsegmentation, mmpose); as it is, only where mmcv 2.1.0 has wheels
  (torch <= 2.1), and mmpose's chumpy dependency does not build on Python 3.11.

``tools/setup_env.sh`` (core) and ``tools/setup_env.sh --full`` install the levels with the
fixes they need on current torch (docs/get_started.md).
"""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` (comments and blanks dropped)."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def read_version() -> str:
    with open(osp.join(HERE, 'mmrnas', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


setup(
    name='mmrnas',
    version=read_version(),
    description='RelativeNAS (slow-fast neural architecture search) for OpenMMLab / MMEngine',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    install_requires=read_requirements('runtime'),
    extras_require={
        'core': read_requirements('mmcv_lite') + read_requirements('core'),
        'full': read_requirements('core') + read_requirements('downstream'),
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
