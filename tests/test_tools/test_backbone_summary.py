"""tools/analysis_tools/backbone_summary.py prints the published networks' exact numbers."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'backbone_summary.py'


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=300)


def test_imagenet_relativenas():
    """docs/reference.md §6.2 / §8: 5,050,029 params (aux excluded), 562.97 M mult-adds."""
    result = run()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2:6] == [
        '        0       4        46  1x46x56x56',
        '        1       8       184  1x184x28x28',
        '        2      16       368  1x368x14x14',
        '        3      32       736  1x736x7x7',
    ]
    assert ('params, backbone + 1000-class classifier (reference convention, auxiliary head '
            'excluded): 5,050,029') in lines
    assert lines[-1].endswith(': 562.97 M (562,973,760)')


def test_cifar_relativenas():
    """docs/reference.md §8: 3,928,222 params (aux excluded), 616.83 M mult-adds at 32x32."""
    result = run('RelativeNAS', '--stem', 'cifar', '--num-classes', '10')
    assert result.returncode == 0, result.stderr
    assert ('classifier (reference convention, auxiliary head excluded): 3,928,222'
            in result.stdout)
    assert result.stdout.rstrip().endswith(': 616.83 M (616,832,640)')


def test_unknown_genotype_is_one_clear_error():
    result = run('NoSuchNet')
    assert result.returncode == 2
    assert result.stderr.startswith("backbone_summary: error: genotype 'NoSuchNet' is neither")
    assert 'Traceback' not in result.stderr


def test_grey_images():
    """--in-channels 1: the first stem convolution (3C = 108 filters of 3x3) takes one channel,
    2 x 108 x 9 weights fewer than with three."""
    result = run('RelativeNAS', '--stem', 'cifar', '--num-classes', '10', '--in-channels', '1')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith('input 1x1x32x32')
    assert (f'auxiliary head excluded): {3_928_222 - 2 * 108 * 9:,}' in result.stdout)
    assert result.stdout.rstrip().endswith(f'({616_832_640 - 2 * 108 * 9 * 32 * 32:,})')
