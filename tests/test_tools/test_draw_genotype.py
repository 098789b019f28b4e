"""tools/visualization/draw_genotype.py: names, genotype files, errors."""
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from mmrnas.structures import Genotype

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'visualization' / 'draw_genotype.py'


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120)


def test_known_name(tmp_path):
    result = run('RelativeNAS', '--out', str(tmp_path / 'cells'))
    assert result.returncode == 0, result.stderr
    expected = [str(tmp_path / 'cells' / n)
                for n in ('normal.png', 'normal.svg', 'reduce.png', 'reduce.svg')]
    assert result.stdout.splitlines() == expected
    for path in expected:
        assert Path(path).stat().st_size > 1000


def test_yaml_file(tmp_path):
    genotype = Genotype(normal=[('dil_conv_3x3', 0), ('sep_conv_5x5', 1),
                                ('max_pool_3x3', 2), ('dil_conv_3x3', 2)],
                        normal_concat=[3],
                        reduce=[('avg_pool_3x3', 0), ('avg_pool_3x3', 1),
                                ('skip_connect', 2), ('sep_conv_3x3', 0)],
                        reduce_concat=[2, 3])
    path = tmp_path / 'best_genotype.yaml'
    genotype.dump(path)
    result = run(str(path), '--out', str(tmp_path), '--formats', 'svg', '--prefix', 'best_')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(tmp_path / 'best_normal.svg'),
                                          str(tmp_path / 'best_reduce.svg')]
    texts = [''.join(el.itertext()) for el in ET.parse(tmp_path / 'best_normal.svg').iter()
             if el.tag.endswith('}text')]
    assert sorted(t for t in texts if '_' in t and '{' not in t) == [
        'dil_conv_3x3', 'dil_conv_3x3', 'max_pool_3x3', 'sep_conv_5x5']


def test_unknown_name_exits_2_with_one_line(tmp_path):
    result = run('NoSuchGenotype', '--out', str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'error' in lines[0] and 'NoSuchGenotype' in lines[0]
    assert 'Traceback' not in result.stderr
    assert result.stdout == '' and list(tmp_path.iterdir()) == []
