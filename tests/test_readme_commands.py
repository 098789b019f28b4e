"""The README's Quickstart holds exactly two commands, and CI runs the second one verbatim."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands() -> list:
    text = (ROOT / 'README.md').read_text()
    section = text.split('## Quickstart', 1)[1].split('\n## ', 1)[0]
    return [block.strip() for block in re.findall(r'```bash\n(.*?)```', section, re.S)]


def test_two_quickstart_commands():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert all(c.startswith('bash tools/setup_env.sh && .venv/bin/python ') for c in commands)
    assert commands[1] == 'bash tools/setup_env.sh && .venv/bin/python -m pytest'


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / '.ci' / 'run').read_text().splitlines()
    assert quickstart_commands()[1] in ci_lines
