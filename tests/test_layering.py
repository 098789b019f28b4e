"""The layers import only upward (structures, models, search, datasets, utils never import
engine/): every import statement of every module, those inside functions included. And
mmrnas/search holds the algorithm only: no CUDA, graphs or collectives (they run it, in
mmrnas/engine)."""
import ast
import re
from pathlib import Path
from typing import Iterator, Tuple

ROOT = Path(__file__).resolve().parents[1]
LOWER_LAYERS = ('search', 'models', 'structures', 'datasets', 'utils')
ENGINE = 'mmrnas.engine'
#: What only the execution (mmrnas/engine) may name: CUDA, CUDA graphs, collectives.
EXECUTION = re.compile(r'torch\.cuda|cuda_graph|all_reduce|broadcast')


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


def code_names(source: str) -> Iterator[Tuple[int, str]]:
    """``(line, name)`` of every name the code of ``source`` uses, defines or imports: names,
    dotted attribute chains (``torch.cuda.Stream``), definitions and arguments, imported
    modules (also as ``module.name``) and their aliases; not strings or docstrings (a
    docstring's "arguments broadcast" is NumPy's, not a collective)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            parts, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name):
                parts.append(inner.id)
            yield node.lineno, '.'.join(reversed(parts))
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.lineno, node.name
        elif isinstance(node, ast.arg):
            yield node.lineno, node.arg
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = getattr(node, 'module', None) or ''
            for alias in node.names:
                yield node.lineno, f'{module}.{alias.name}' if module else alias.name
                if alias.asname:
                    yield node.lineno, alias.asname


def execution_names(path: Path) -> Iterator[str]:
    """``'path:line name'`` for each name in the file at ``path`` that :data:`EXECUTION`
    matches."""
    for line, name in code_names(path.read_text()):
        if EXECUTION.search(name):
            yield f'{path.relative_to(ROOT)}:{line} {name}'


def test_the_execution_check_sees_every_kind_of_name():
    source = '\n'.join([
        'import torch.cuda',
        'from torch import cuda',
        'from mmrnas.engine.estimators.cuda_graph import iter_steps',
        'from mmengine.dist import all_reduce as reduce',
        'def broadcast_state(x):',
        '    """All arguments broadcast (NumPy\'s sense: not a collective)."""',
        '    return torch.cuda.is_available(), x.all_reduce_params',
        'y = np.broadcast_to(z, (2, 3))',
    ])
    found = [line for line, name in code_names(source) if EXECUTION.search(name)]
    assert sorted(set(found)) == [1, 2, 3, 4, 5, 7, 8]


def test_the_search_layer_holds_the_algorithm_only():
    """The search (encoding, population, update, schedules, weight set, pareto, constraints,
    budget, genotype cost) runs anywhere: what needs CUDA, CUDA graphs or collectives lives in
    mmrnas/engine (mmrnas/engine/estimators, mmrnas/engine/data_parallel.py)."""
    files = sorted((ROOT / 'mmrnas' / 'search').rglob('*.py'))
    assert len(files) > 10
    violations = [found for path in files for found in execution_names(path)]
    assert violations == [], (
        'mmrnas/search names CUDA, CUDA graphs or collectives (torch.cuda, cuda_graph, '
        'all_reduce, broadcast); move that code to mmrnas/engine (estimators/, '
        'data_parallel.py) and keep mmrnas/search the algorithm:\n' + '\n'.join(violations))
