"""The layers import only upward (structures, models, search, datasets, utils never import
engine/): every import statement of every module, those inside functions included."""
import ast
from pathlib import Path
from typing import Iterator, Tuple

ROOT = Path(__file__).resolve().parents[1]
LOWER_LAYERS = ('search', 'models', 'structures', 'datasets', 'utils')
ENGINE = 'mmrnas.engine'


def imported_modules(source: str, package: str) -> Iterator[Tuple[int, str]]:
    """``(line, module)`` of every import in ``source`` (a module of ``package``): ``import``
    and ``from ... import`` statements anywhere (relative ones resolved; each imported name
    also as ``module.name``, for ``from mmrnas import engine``) and ``import_module`` /
    ``__import__`` calls with a literal absolute name."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split('.')
            base = parts[:len(parts) - node.level + 1] if node.level else []
            module = '.'.join(base + ([node.module] if node.module else []))
            yield node.lineno, module
            yield from ((node.lineno, f'{module}.{alias.name}') for alias in node.names)
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and getattr(node.func, 'attr', getattr(node.func, 'id', None)) in (
                  'import_module', '__import__')):
            yield node.lineno, node.args[0].value


def engine_imports(path: Path) -> Iterator[str]:
    """``'path:line module'`` for each import of ``mmrnas.engine`` in the file at ``path``."""
    package = '.'.join(path.relative_to(ROOT).parts[:-1])
    for line, module in imported_modules(path.read_text(), package):
        if module == ENGINE or module.startswith(f'{ENGINE}.'):
            yield f'{path.relative_to(ROOT)}:{line} {module}'


def test_the_check_sees_every_kind_of_import():
    source = '\n'.join([
        'import mmrnas.engine.hooks',
        'from mmrnas import engine',
        'def late():',
        '    from ..engine.search_settings import plain',
        '    importlib.import_module("mmrnas.engine")',
        'from .encoding import bounds',
    ])
    assert sorted(imported_modules(source, 'mmrnas.search')) == [
        (1, 'mmrnas.engine.hooks'), (2, 'mmrnas'), (2, 'mmrnas.engine'),
        (4, 'mmrnas.engine.search_settings'), (4, 'mmrnas.engine.search_settings.plain'),
        (5, 'mmrnas.engine'), (6, 'mmrnas.search.encoding'),
        (6, 'mmrnas.search.encoding.bounds')]


def test_lower_layers_never_import_the_engine():
    files = [path for layer in LOWER_LAYERS for path in sorted((ROOT / 'mmrnas' / layer).rglob(
        '*.py'))]
    assert len(files) > 40
    violations = [found for path in files for found in engine_imports(path)]
    assert violations == []
