"""tools/analysis_tools/latency.py: predicted and measured latency of a genotype's network,
from a genotype, a search config or a retraining config."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmrnas.models.latency import LatencyTable
from mmrnas.structures import get_genotype

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'analysis_tools' / 'latency.py'
TINY = ['--base-channels', '4', '--num-cells', '3', '--input-size', '8', '--threads', '1']


@pytest.fixture
def run(tmp_path):
    env = dict(os.environ, MMRNAS_CACHE_DIR=str(tmp_path / 'cache'), OMP_NUM_THREADS='1')

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                              text=True, timeout=600, cwd=ROOT, env=env)

    return run


def test_a_genotype_with_its_json(run, tmp_path):
    out = tmp_path / 'latency.json'
    result = run('DARTS_V2', *TINY, '--json', str(out))
    assert result.returncode == 0, result.stderr
    numbers = json.loads(out.read_text())
    assert set(numbers) >= {'predicted_ms', 'measured_ms', 'backend', 'device', 'threads',
                            'batch_size', 'fingerprint'}
    assert (numbers['backend'], numbers['device'], numbers['threads'],
            numbers['batch_size']) == ('torch', 'cpu', 1, 1)
    assert numbers['network'] == dict(base_channels=4, num_cells=3, stem='cifar',
                                      num_classes=10, input_size=8, in_channels=3)
    cached = tmp_path / 'cache' / 'latency' / f'{numbers["fingerprint"]}.json'
    table = LatencyTable.from_dict(json.loads(cached.read_text()))
    assert numbers['predicted_ms'] == table.predict(get_genotype('DARTS_V2'))
    assert f'predicted: {numbers["predicted_ms"]:.3f} ms' in result.stdout
    assert f'latency table: fingerprint {numbers["fingerprint"]}' in result.stdout


def test_a_search_config_gives_its_cost_model(run, tmp_path):
    out = tmp_path / 'latency.json'
    result = run('configs/rnas_quickstart-latency.py', '--genotype', 'RelativeNAS',
                 '--num-cells', '3', '--json', str(out))
    assert result.returncode == 0, result.stderr
    numbers = json.loads(out.read_text())
    assert numbers['network'] == dict(base_channels=8, num_cells=3, stem='cifar',
                                      num_classes=10, input_size=16, in_channels=3)
    assert numbers['threads'] == 1  # the config's latency settings
    assert numbers['genotype'] == str(get_genotype('RelativeNAS'))


def test_a_retraining_config_gives_its_backbone(run, tmp_path):
    out = tmp_path / 'latency.json'
    result = run('configs/retrain/rnas_c8l5_1xb64-12e_digits-16.py', '--num-cells', '3',
                 '--threads', '1', '--json', str(out))
    assert result.returncode == 0, result.stderr
    numbers = json.loads(out.read_text())
    assert numbers['network'] == dict(base_channels=8, num_cells=3, stem='cifar',
                                      num_classes=10, input_size=16, in_channels=3)


@pytest.mark.parametrize('args, message', [
    (['NoSuchNet'], 'NoSuchNet'),
    (['RelativeNAS', '--threads', '0'], 'latency.threads must be a positive integer'),
    (['configs/rnas_quickstart.py'], "the config has neither a search budget's cost model "
                                     "nor a model.backbone of type 'RelativeNASBackbone'"),
])
def test_bad_input_is_one_line(run, args, message):
    result = run(*args)
    assert result.returncode == 2 and result.stdout == ''
    (line, ) = result.stderr.strip().splitlines()
    assert line.startswith('latency.py: error: ') and message in line
