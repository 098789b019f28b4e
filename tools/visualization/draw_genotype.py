"""Draw the normal and reduction cells of a genotype as PNG/SVG/PDF files (headless).

Examples::

    python tools/visualization/draw_genotype.py RelativeNAS --out work_dirs/cells
    python tools/visualization/draw_genotype.py work_dirs/search/best_genotype.yaml --out cells
    python tools/visualization/draw_genotype.py "Genotype(normal=[...], ...)" --out cells

Prints the written paths, one per line. A genotype that cannot be resolved, or an engine that is
not installed, ends with one ``error:`` line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse

from mmrnas.structures import resolve_genotype
from mmrnas.visualization import save_genotype_drawings
from mmrnas.visualization.cell_drawing import ENGINES, FORMATS


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(
        description='Draw the normal and reduction cells of a genotype.')
    parser.add_argument(
        'genotype', metavar='GENOTYPE_OR_FILE',
        help='a known genotype name (e.g. RelativeNAS), a .yaml/.yml/.json genotype file, '
        'or the Genotype(normal=[...], ...) text printed by DARTS/RelativeNAS')
    parser.add_argument('--out', required=True, help='output folder (created if missing)')
    parser.add_argument('--formats', nargs='+', default=['png', 'svg'], choices=FORMATS,
                        help='file formats (default: png svg)')
    parser.add_argument('--engine', default='matplotlib', choices=ENGINES,
                        help='renderer; graphviz needs the graphviz package and the dot binary')
    parser.add_argument('--prefix', default='', help='prefix of the file names')
    return parser


def main(argv: list[str] | None = None) -> None:
    """Resolve the genotype, write the drawings and print their paths.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        paths = save_genotype_drawings(resolve_genotype(args.genotype), args.out,
                                       formats=args.formats, prefix=args.prefix,
                                       engine=args.engine)
    except (ValueError, RuntimeError, OSError) as exc:
        parser.exit(2, f'{parser.prog}: error: {exc}\n')
    print('\n'.join(paths))


if __name__ == '__main__':
    main()
