"""``import mmrnas`` stays light: torch and mmengine only, no OpenMMLab toolbox."""
import json
import subprocess
import sys

import pytest

HEAVY = ('mmdet', 'mmseg', 'mmpose', 'mmpretrain', 'mmcv.ops')


def loaded_modules(statement: str) -> list:
    """Run ``statement`` in a fresh interpreter and return the heavy modules it loaded."""
    code = (f'import sys, json\n{statement}\n'
            f'print(json.dumps(sorted(m for m in sys.modules if m in {HEAVY!r})))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('statement', [
    'import mmrnas',
    'import mmrnas.registry',
    'import mmrnas.structures',
    'import mmrnas.models',
    'import mmrnas.search',
    'import mmrnas.engine',
    'import mmrnas.datasets',
    'import mmrnas.visualization',
    'import mmrnas.utils.cli',
])
def test_import_is_light(statement):
    assert loaded_modules(statement) == []


def test_the_check_sees_heavy_imports():
    """Guard the guard: importing a toolbox is detected."""
    assert 'mmpretrain' in loaded_modules('import mmpretrain')


def test_version():
    import mmrnas
    assert mmrnas.__version__.count('.') == 2
