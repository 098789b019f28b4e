"""The metafiles (configs/metafile.yml, configs/*/metafile.yml), model_zoo.md and model-index.yml
against tools/analysis_tools/model_zoo.py: every referenced config exists and builds, the
metafiles hold the counts the tool computes, and the files it generates from them are current
(``--check``).

One module-scoped computation (every zoo config built and counted once, about 40 s on two CPU
cores) is shared by all assertions."""
import importlib.util
import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'model_zoo.py'


@pytest.fixture(scope='module')
def zoo():
    spec = importlib.util.spec_from_file_location('model_zoo_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def entries(zoo):
    return zoo.load_entries()


@pytest.fixture(scope='module')
def results(zoo, entries):
    return zoo.compute_all(entries)


def entry(entries, name):
    (found, ) = [e for e in entries if e.name == name]
    return found


def referenced_configs(text: str) -> set:
    return set(re.findall(r'configs/[\w./-]+?\.py', text))


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


# ---------------------------------------------------------------- generated files are current


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_generated_files_are_current(zoo, entries, results):
    """What ``model_zoo.py --check`` checks, on the shared computation."""
    assert zoo.count_mismatches(entries, results) == []
    stale = zoo.stale_files(entries, results)
    assert not stale, (f'out of date: {sorted(stale)}; run python tools/analysis_tools/'
                       f'model_zoo.py\n' + ''.join(stale.values())[:4000])


def copy_zoo_files(zoo, tmp_path: Path) -> None:
    """The metafiles and the generated files, copied under ``tmp_path``."""
    for path in zoo.metafile_paths() + ['model_zoo.md', 'model-index.yml']:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, target)


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_check_mode_exit_status(zoo, results, monkeypatch, capsys):
    """``--check`` exits 0 when everything is current and 1, with the diff, when not; it
    never writes."""
    monkeypatch.setattr(zoo, 'compute_all', lambda *a, **k: results)
    monkeypatch.setattr(zoo, 'write_all', lambda *a, **k: pytest.fail('--check wrote files'))
    assert zoo.main(['--check']) == 0
    monkeypatch.setattr(zoo, 'stale_files', lambda *a, **k: {'model_zoo.md': '-old\n+new\n'})
    assert zoo.main(['--check']) == 1
    assert 'model_zoo.md is out of date' in capsys.readouterr().err


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_hand_edited_count_fails_the_check(zoo, results, tmp_path, monkeypatch, capsys):
    """A metafile count that differs from the config's fails ``--check``, which names the
    model and both values; without ``--check`` nothing is written either."""
    copy_zoo_files(zoo, tmp_path)
    monkeypatch.setattr(zoo, 'compute_all', lambda *a, **k: results)
    assert zoo.main(['--check'], root=tmp_path) == 0
    metafile = tmp_path / 'configs' / 'pose' / 'metafile.yml'
    metafile.write_text(metafile.read_text().replace('Parameters: 9430742', 'Parameters: 1'))
    model_zoo = (tmp_path / 'model_zoo.md').read_text()
    (tmp_path / 'model_zoo.md').write_text(model_zoo.replace('3,928,222', '3,928,223', 1))
    capsys.readouterr()
    assert zoo.main(['--check'], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert ('configs/pose/metafile.yml: td-hm_rnas-c46l14_1xb128-140e_coco-256x192: '
            'Metadata.Parameters is 1 in the metafile, but 9430742 computed from '
            'configs/pose/td-hm_rnas-c46l14_1xb128-140e_coco-256x192.py') in err
    assert 'model_zoo.md is out of date' in err
    assert zoo.main([], root=tmp_path) == 1
    assert '3,928,223' in (tmp_path / 'model_zoo.md').read_text()


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_stale_table_is_detected(zoo, entries, results, tmp_path):
    """A hand edit inside a generated block, or a metafile list that changed, is reported."""
    copy_zoo_files(zoo, tmp_path)
    assert zoo.stale_files(entries, results, tmp_path) == {}
    text = (tmp_path / 'model_zoo.md').read_text()
    (tmp_path / 'model_zoo.md').write_text(text.replace('3,928,222', '3,928,223', 1))
    (tmp_path / 'configs' / 'pose' / 'metafile.yml').unlink()
    assert set(zoo.stale_files(entries, results, tmp_path)) == {'model_zoo.md',
                                                                'model-index.yml'}


def test_invalid_metafile_is_refused(zoo, tmp_path, capsys):
    """A model without its counts, or in an unknown table, is named in a one-line error."""
    copy_zoo_files(zoo, tmp_path)
    metafile = tmp_path / 'configs' / 'detection' / 'metafile.yml'
    text = metafile.read_text()
    metafile.write_text(text.replace('Section: voc', 'Section: kitti'))
    with pytest.raises(ValueError, match="ssdlite_rnas-c46l14_8xb32-200e_voc0712-320.*kitti"):
        zoo.load_entries(tmp_path)
    metafile.write_text(text.replace('      FLOPs: 1202970565\n', ''))
    assert zoo.main(['--check'], root=tmp_path) == 1
    assert 'FLOPs and Input Size go together' in capsys.readouterr().err


def test_every_section_has_its_markers(zoo):
    text = (ROOT / 'model_zoo.md').read_text()
    for section in zoo.SECTIONS:
        assert text.count(zoo.BEGIN.format(section)) == 1, section
    assert text.count(zoo.END) == len(zoo.SECTIONS)


# ---------------------------------------------------------------- configs exist and build


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_configs_in_model_zoo_exist_and_build(entries, results):
    """Every config model_zoo.md names exists and is one the tool built and counted."""
    configs = referenced_configs((ROOT / 'model_zoo.md').read_text())
    assert configs, 'model_zoo.md references no config'
    built = {e.config for e in entries if e.name in results}
    for config in configs:
        assert (ROOT / config).is_file(), config
        assert config in built, f'{config} is in model_zoo.md but in no metafile'


def test_every_retrain_and_downstream_config_is_in_the_zoo(entries):
    zoo_configs = {e.config for e in entries}
    for folder in ('retrain', 'detection', 'segmentation', 'pose'):
        for config in sorted((ROOT / 'configs' / folder).glob('*.py')):
            relative = config.relative_to(ROOT).as_posix()
            assert relative in zoo_configs, f'{relative} is missing from the model zoo'


# ---------------------------------------------------------------- metafiles and model index


def test_model_index_imports_every_metafile():
    index = load_yaml(ROOT / 'model-index.yml')
    imports = index['Import']
    on_disk = sorted(p.relative_to(ROOT).as_posix() for p in
                     [ROOT / 'configs' / 'metafile.yml', *ROOT.glob('configs/*/metafile.yml')])
    assert sorted(imports) == on_disk
    assert len(imports) == 5


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_metafiles_hold_the_computed_counts(entries, results):
    names = set()
    for path in load_yaml(ROOT / 'model-index.yml')['Import']:
        metafile = load_yaml(ROOT / path)
        collections = {c['Name'] for c in metafile['Collections']}
        for model in metafile['Models']:
            name = model['Name']
            assert name not in names
            names.add(name)
            assert model['In Collection'] in collections
            assert (ROOT / model['Config']).is_file()
            assert model['Config'] == entry(entries, name).config
            metadata = model['Metadata']
            assert metadata['Parameters'] == results[name]['params']
            assert metadata.get('FLOPs') == results[name].get('mult_adds')
            if 'Results' not in model:  # searches and baselines: counts only
                continue
            assert isinstance(metadata['Reported by the paper'], bool)
            (result, ) = model['Results']
            assert set(result) == {'Task', 'Dataset', 'Metrics'}
            assert all(isinstance(v, float) for v in result['Metrics'].values())
    assert names == {e.name for e in entries}
    assert len(names) == 18


def test_paper_metrics_in_metafiles():
    """The Results are the paper's numbers (docs/reference.md §7.1), marked as reported."""
    expected = {
        'rnas_c36l20_1xb128-600e_cifar10': {'Top 1 Error': 2.26},
        'rnas_c36l20_1xb128-600e_cifar100': {'Top 1 Error': 15.86},
        'rnas_c46l14_8xb128-250e_in1k': {'Top 1 Error': 24.88, 'Top 5 Error': 7.7},
        'ssdlite_rnas-c46l14_8xb32-200e_voc0712-320': {'mAP': 73.1},
        'bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024': {'mIoU': 78.7},
        'td-hm_rnas-c46l14_1xb128-140e_coco-256x192': {'AP': 68.5},
    }
    found = {}
    for path in load_yaml(ROOT / 'model-index.yml')['Import']:
        for model in load_yaml(ROOT / path)['Models']:
            if model['Metadata'].get('Reported by the paper'):
                found[model['Name']] = model['Results'][0]['Metrics']
    assert found == expected


# ---------------------------------------------------------------- the counts themselves


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_counts_match_the_reference_code(results):
    """docs/reference.md §7-8 (CHK: the reference code run as is, §0) and the counts other
    tests assert."""
    expected_params = {
        'rnas_c36l20_1xb128-600e_cifar10': (3_928_222, 4_404_648),
        'rnas_c36l20_1xb128-600e_cifar100': (3_980_152, None),
        'rnas_c46l14_8xb128-250e_in1k': (5_050_029, 6_306_709),
        'ssdlite_rnas-c46l14_8xb32-200e_voc0712-320': (5_069_824, 5_069_824),
        'bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024': (6_944_702, 6_944_702),
        'td-hm_rnas-c46l14_1xb128-140e_coco-256x192': (9_430_742, 9_430_742),
        'rnas_cifar10': (1_987_194, 1_987_194),
    }
    for name, (params, params_all) in expected_params.items():
        assert results[name]['params'] == params, name
        if params_all is not None:
            assert results[name]['params_all'] == params_all, name
    expected_mult_adds = {
        'rnas_c36l20_1xb128-600e_cifar10': 616.83,
        'rnas_c46l14_8xb128-250e_in1k': 562.97,
        'ssdlite_rnas-c46l14_8xb32-200e_voc0712-320': 1202.97,
        'td-hm_rnas-c46l14_1xb128-140e_coco-256x192': 564.19,
        'bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024': 35347.37,
        'darts-v2_c48l14_in1k': 529.91,
    }
    for name, mult_adds in expected_mult_adds.items():
        assert round(results[name]['mult_adds'] / 1e6, 2) == mult_adds, name
    assert round(results['bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024']['mult_adds']
                 / 1e9, 2) == 35.35
    # The three transfer models share the C46 L14 backbone without its classifier.
    for name in ('ssdlite_rnas-c46l14_8xb32-200e_voc0712-320',
                 'bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024',
                 'td-hm_rnas-c46l14_1xb128-140e_coco-256x192'):
        assert results[name]['params_backbone'] == 5_050_029 - 737_000
    # Only the pose head has transposed convolutions (uncounted by the reference rule).
    assert results['td-hm_rnas-c46l14_1xb128-140e_coco-256x192']['uncounted_deconv'] == (
        16 * 256 * (736 * 8 * 6 + 256 * 16 * 12 + 256 * 32 * 24))
    assert results['ssdlite_rnas-c46l14_8xb32-200e_voc0712-320']['uncounted_deconv'] == 0


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_comparison_text_is_computed(zoo, entries, results):
    bisenet = entry(entries, 'bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024')
    text = zoo.comparison(bisenet, results[bisenet.name])
    assert text.startswith('params: no, 6,944,645 (+57); mult-adds: yes (35.35 G)')
    ssdlite = entry(entries, 'ssdlite_rnas-c46l14_8xb32-200e_voc0712-320')
    assert zoo.comparison(ssdlite, results[ssdlite.name]) == (
        'params: yes (5.0698 M); mult-adds: yes (1202.97 M)')


@pytest.mark.full_install  # builds every zoo config, downstream ones included
def test_meta_device_count_equals_a_real_forward(zoo, entries, results):
    """The tool counts on the meta device (shapes only); a real CPU forward gives the same."""
    ssdlite = entry(entries, 'ssdlite_rnas-c46l14_8xb32-200e_voc0712-320')
    on_cpu = zoo.count_entry(ssdlite, device='cpu')
    assert on_cpu == results[ssdlite.name]
