"""The README's Quickstart holds exactly two commands, CI runs the second one verbatim, and the
first one really runs, in a copy of the repository."""
import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_SUITE_COMMAND = 'bash tools/setup_env.sh --full && .venv/bin/python -m pytest'
QUICKSTART_COMMAND = ('bash tools/setup_env.sh && .venv/bin/python tools/search.py '
                      'configs/rnas_quickstart.py')
# How tools/setup_env.sh fingerprints its inputs (the content of .venv/.mmrnas-setup-ok); the
# copy's marker below is computed the same way, and this test stops if the formula changes.
FINGERPRINT_LINE = ('FINGERPRINT="$(cat "$0" "$MMCV_OPS" "$ROOT"/requirements/*.txt '
                    '"$ROOT/setup.py" | sha256sum | cut -c1-16) $PYVER $ARCH $MMRNAS_TORCH"')
MARKER_LINE = 'echo "$FINGERPRINT $LEVEL" > "$MARKER"'  # what a finished run writes
DEFAULT_TORCH = {
    'x86_64': 'torch==2.14.1 torchvision==0.29.1',
    'aarch64': 'torch==2.9.1 torchvision==0.24.1',
}


def quickstart_commands() -> list:
    text = (ROOT / 'README.md').read_text()
    section = text.split('## Quickstart', 1)[1].split('\n## ', 1)[0]
    return [block.strip() for block in re.findall(r'```bash\n(.*?)```', section, re.S)]


def ci_lines() -> list:
    return (ROOT / '.ci' / 'run').read_text().splitlines()


def test_two_quickstart_commands():
    """The first installs the core level (the script's default for a new .venv) and searches,
    the second installs the full level and runs the suite."""
    assert quickstart_commands() == [QUICKSTART_COMMAND, TEST_SUITE_COMMAND]


def test_ci_runs_the_readme_test_command():
    assert quickstart_commands()[1] in ci_lines()


def tour_commands() -> list:
    """The ``python`` commands of README.md's tour as argument lists (continued lines joined)."""
    text = (ROOT / 'README.md').read_text()
    section = text.split('## A five-minute tour', 1)[1].split('\n## ', 1)[0]
    block = re.search(r'```bash\n(.*?)```', section, re.S).group(1).replace('\\\n', ' ')
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith('python ')]


def test_tour_says_which_steps_need_the_full_level():
    """A tour step with a detection, segmentation or pose config says "(full level)"; the
    others run at the core level the first Quickstart command installs."""
    text = (ROOT / 'README.md').read_text()
    block = re.search(r'```bash\n(.*?)```', text.split('## A five-minute tour', 1)[1], re.S)
    steps = re.split(r'\n(?=# \d+\. )', block.group(1))
    full = [step for step in steps if re.search(r'configs/(detection|segmentation|pose)/', step)]
    assert full and all('(full level)' in step.splitlines()[0] for step in full)
    assert not any('(full level)' in step for step in steps if step not in full)


def test_tour_summarises_the_network_it_retrains():
    """Step 2 summarises the backbone (stem, C, L, input size) that step 3 retrains."""
    from mmengine.config import Config

    from tests.utils import load_tool
    (summary, ) = [command[1:] for command in tour_commands()
                   if command[0] == 'tools/analysis_tools/backbone_summary.py']
    summary = load_tool('analysis_tools/backbone_summary').parse_args(summary)
    (config, ) = [command[1] for command in tour_commands()
                  if command[0] == 'tools/train.py' and command[1].startswith('configs/retrain/')]
    cfg = Config.fromfile(str(ROOT / config), import_custom_modules=False)
    backbone = cfg.model.backbone
    assert (summary.stem, summary.base_channels, summary.num_cells, summary.shape) == (
        backbone.stem, backbone.base_channels, backbone.num_cells, cfg.image_size)
    assert summary.genotype == 'work_dirs/rnas_quickstart/best_genotype.yaml'


# ---------------------------------------------------------------- running the Quickstart


def copy_repository(destination: Path) -> None:
    """The files of the working tree that a clone would have: tracked, and untracked but not
    ignored (``git ls-files -co --exclude-standard``); so no .venv, work_dirs or data."""
    listing = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=ROOT,
                             capture_output=True, check=True).stdout.decode()
    for name in filter(None, listing.split('\0')):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree, or a submodule
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def setup_python() -> str:
    """The interpreter tools/setup_env.sh would pick: $PYTHON, else python3.11, else python3."""
    return os.environ.get('PYTHON') or ('python3.11' if shutil.which('python3.11') else 'python3')


def setup_fingerprint(repo: Path, level: str) -> str:
    """What tools/setup_env.sh in ``repo`` writes to its marker after installing ``level``
    (see :data:`FINGERPRINT_LINE`)."""
    script = repo / 'tools' / 'setup_env.sh'
    assert FINGERPRINT_LINE in script.read_text() and MARKER_LINE in script.read_text(), (
        'tools/setup_env.sh changed how it fingerprints its inputs: update setup_fingerprint() '
        'in this test (otherwise the copy would not take the warm path)')
    inputs = [script, repo / 'tools' / 'misc' / 'mmcv_ops.py',
              *sorted((repo / 'requirements').glob('*.txt')), repo / 'setup.py']
    digest = hashlib.sha256(b''.join(path.read_bytes() for path in inputs)).hexdigest()[:16]
    version = subprocess.run(
        [setup_python(), '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
        capture_output=True, text=True, check=True).stdout.strip()
    arch = platform.machine()
    torch_pair = os.environ.get('MMRNAS_TORCH') or DEFAULT_TORCH.get(arch, '')
    return f'{digest} {version} {arch} {torch_pair} {level}'


def link_environment(repo: Path) -> None:
    """``repo/.venv``: every entry of the repository's set-up .venv as a symlink, plus the
    copy's own setup marker, at the level of the repository's.

    A symlink to the whole .venv would share the marker, whose fingerprint covers the files of
    the repository the setup ran in: if they have changed since (or differ in the copy),
    setup_env.sh would take its install path and reinstall into the shared environment. With
    the marker local to the copy and written for the copy's inputs, setup_env.sh takes its warm
    path (marker matches, then the stack must still import), and the real .venv stays valid and
    untouched. The interpreter finds ``.venv/pyvenv.cfg`` next to the path it was started by,
    so the linked entries form a working virtualenv rooted in the copy.
    """
    real = ROOT / '.venv'
    if not (real / 'bin' / 'python').exists() or not (real / '.mmrnas-setup-ok').is_file():
        pytest.skip('the repository has no set-up .venv: run bash tools/setup_env.sh first')
    venv = repo / '.venv'
    venv.mkdir()
    for entry in real.iterdir():
        if entry.name != '.mmrnas-setup-ok':
            (venv / entry.name).symlink_to(entry)
    level = (real / '.mmrnas-setup-ok').read_text().split()[-1]
    if level not in ('core', 'full'):
        pytest.skip('the repository .venv was set up by an older tools/setup_env.sh: run it again')
    (venv / '.mmrnas-setup-ok').write_text(setup_fingerprint(repo, level) + '\n')


@pytest.mark.slow
def test_quickstart_commands_run_in_a_copy(tmp_path):
    """Runs each command of README.md's Quickstart, verbatim, in a temporary copy of the
    repository (``git ls-files -co --exclude-standard``) whose ``.venv`` links to the
    repository's environment (see :func:`link_environment`), so ``tools/setup_env.sh`` takes its
    warm path at the environment's level (about 10 s; the first command has no level flag, so
    it keeps a full .venv full) and the search really runs (about 2 minutes on two CPU cores).

    The test-suite command (``bash tools/setup_env.sh --full && .venv/bin/python -m pytest``)
    is not run here: it would run this test again, recursively. Instead the test asserts that it is
    exactly the line ``.ci/run`` runs: CI runs it there, so it is exercised on every CI run.

    The copy imports its own ``mmrnas`` (``PYTHONPATH`` is the copy; the environment's editable
    install points at the repository), and pip is held to dry runs without an index, so that
    not even a broken warm path could change the shared environment.
    """
    real_marker = ROOT / '.venv' / '.mmrnas-setup-ok'
    marker_before = real_marker.read_bytes() if real_marker.is_file() else None
    repo = tmp_path / 'mmrnas'
    copy_repository(repo)
    link_environment(repo)
    env = dict(os.environ, PYTHONPATH=str(repo), PIP_NO_INDEX='1', PIP_DRY_RUN='1')
    env.pop('PYTHONHOME', None)

    origin = subprocess.run(
        ['.venv/bin/python', '-c', 'import mmrnas; print(mmrnas.__file__)'], cwd=repo, env=env,
        capture_output=True, text=True, check=True).stdout.strip()
    assert Path(origin).resolve().is_relative_to(repo.resolve()), origin

    commands = quickstart_commands()
    assert commands, 'README.md has no Quickstart commands'
    for command in commands:
        if command.endswith('-m pytest'):
            assert command == TEST_SUITE_COMMAND and command in ci_lines()
            continue
        result = subprocess.run(['bash', '-c', command], cwd=repo, env=env, capture_output=True,
                                text=True, timeout=1500)
        log = result.stdout + result.stderr
        assert result.returncode == 0, f'{command}\n{log[-4000:]}'
        assert '.venv is up to date' in result.stdout, f'setup_env.sh was not warm:\n{log[-4000:]}'

    work_dir = repo / 'work_dirs' / 'rnas_quickstart'
    best = work_dir / 'best_genotype.yaml'
    assert best.is_file()
    from mmrnas.structures import Genotype
    Genotype.load(str(best))  # a valid genotype
    for cell in ('normal', 'reduce'):
        drawing = work_dir / f'best_genotype_{cell}.png'
        assert drawing.is_file() and drawing.read_bytes().startswith(b'\x89PNG')
    assert (work_dir / 'history.jsonl').is_file()
    # The shared environment's own marker is untouched.
    assert real_marker.read_bytes() == marker_before
