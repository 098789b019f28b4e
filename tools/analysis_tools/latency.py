"""Predicted and measured latency of a genotype's network on this machine.

Usage: python tools/analysis_tools/latency.py TARGET [--genotype G] [--base-channels C]
       [--num-cells L] [--stem cifar|imagenet] [--num-classes K] [--input-size S]
       [--in-channels N] [--backend torch|onnxruntime] [--device cpu|cuda] [--threads N]
       [--batch-size B] [--json FILE]

TARGET is a genotype (a known name such as ``RelativeNAS``, a .yaml/.json genotype file or
DARTS ``Genotype(...)`` text) or a config:

- a search config whose ``train_cfg.budget.cost`` (or ``constraint_model``) times latency: its
  network and latency settings, with ``--genotype`` (default ``RelativeNAS``);
- a retraining config: the ``RelativeNASBackbone`` of ``model.backbone`` (genotype, C, L, stem,
  in_channels), ``model.head.num_classes`` and the input size its pipelines fix.

The network is the retraining classifier without its auxiliary head
(:class:`~mmrnas.models.utils.genotype_classifier.GenotypeClassifier`). The prediction comes
from this machine's latency table (:class:`~mmrnas.models.latency.LatencyTable`, built once and
cached by fingerprint); the measurement times the whole network by the same protocol
(:mod:`~mmrnas.models.latency.timing`). Flags override what the target gives. ``--json FILE``
writes ``predicted_ms``, ``measured_ms``, ``backend``, ``device``, ``threads``, ``batch_size``,
``fingerprint`` and more (atomically). Bad input is one ``error:`` line and exit code 2.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Any, Dict, Optional, Tuple

import torch

from mmrnas.models.latency import LatencyTable, measure_latency, parse_latency
from mmrnas.structures import SEARCH_PRIMITIVES, Genotype, resolve_genotype
from mmrnas.utils.cli import exit_on_user_errors, load_config
from mmrnas.utils.fileio import atomic_write
from mmrnas.utils.input_size import config_input_size

PROG = 'latency.py'
#: The CIFAR retraining network (configs/retrain/*cifar10*), for a bare genotype.
DEFAULT_NETWORK = dict(base_channels=36, num_cells=20, stem='cifar', num_classes=10,
                       input_size=32, in_channels=3)
NETWORK_FLAGS = ('base_channels', 'num_cells', 'stem', 'num_classes', 'input_size',
                 'in_channels')
LATENCY_FLAGS = ('backend', 'device', 'threads', 'batch_size')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    parser.add_argument('target', help='a genotype (name, file, text) or a config')
    parser.add_argument('--genotype', help='the genotype, for a search config (or overriding '
                        "a retraining config's)")
    parser.add_argument('--base-channels', type=int)
    parser.add_argument('--num-cells', type=int)
    parser.add_argument('--stem', choices=('cifar', 'imagenet'))
    parser.add_argument('--num-classes', type=int)
    parser.add_argument('--input-size', type=int)
    parser.add_argument('--in-channels', type=int)
    parser.add_argument('--backend', choices=('torch', 'onnxruntime'))
    parser.add_argument('--device', choices=('cpu', 'cuda'))
    parser.add_argument('--threads', type=int, help='default: as many as PyTorch uses')
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--json', help='write the numbers to this JSON file')
    return parser.parse_args(argv)


def _search_cost(cfg) -> Optional[Dict[str, Any]]:
    """The cost model of a search config's budget, if it has one."""
    train_cfg = cfg.get('train_cfg') or {}
    budget = train_cfg.get('budget') or {}
    cost = budget.get('cost') or train_cfg.get('constraint_model')
    return None if cost is None else {k: v for k, v in dict(cost).items() if k != 'type'}


def from_config(cfg) -> Tuple[Optional[Genotype], Dict[str, Any], Dict[str, Any]]:
    """``(genotype, network, latency)`` a config gives (missing ones left out)."""
    cost = _search_cost(cfg)
    if cost is not None:
        latency = dict(cost.pop('latency', None) or {})
        # the search fills the cost model's channels from its data, as its supernet takes them
        cost.setdefault('in_channels', (cfg.get('model') or {}).get('in_channels', 3))
        return None, cost, latency
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    if 'RelativeNASBackbone' not in str(backbone.get('type', '')):
        raise ValueError("the config has neither a search budget's cost model nor a "
                         "model.backbone of type 'RelativeNASBackbone'")
    head = cfg.model.get('head') or {}
    height, width, _ = config_input_size(cfg)
    if height != width:
        raise ValueError(f'the config fixes a {height}x{width} input; latency tables cover '
                         f'square inputs: pass --input-size')
    network = dict(base_channels=backbone.get('base_channels', 46),
                   num_cells=backbone.get('num_cells', 14), stem=backbone.get('stem', 'imagenet'),
                   num_classes=head.get('num_classes', 1000), input_size=height,
                   in_channels=backbone.get('in_channels', 3))
    return resolve_genotype(backbone.get('genotype', 'RelativeNAS')), network, {}


def resolve_target(args: argparse.Namespace
                   ) -> Tuple[Genotype, Dict[str, Any], Dict[str, Any], str]:
    """The genotype, network and latency settings of the command line."""
    target = args.target
    if osp.isfile(target) and osp.splitext(target)[1] == '.py':
        genotype, network, latency = from_config(load_config(target))
        source = f'config {target}'
    else:
        genotype, network, latency = resolve_genotype(target), dict(DEFAULT_NETWORK), {}
        source = 'genotype'
    if args.genotype is not None:
        genotype = resolve_genotype(args.genotype)
    if genotype is None:
        genotype = resolve_genotype('RelativeNAS')
    outside = sorted({op for op, _ in (*genotype.normal, *genotype.reduce)
                      if op not in SEARCH_PRIMITIVES})
    if outside:
        raise ValueError(f'the genotype uses {", ".join(outside)}, outside the search space a '
                         f'latency table covers ({", ".join(SEARCH_PRIMITIVES)})')
    for key in NETWORK_FLAGS:
        if getattr(args, key) is not None:
            network[key] = getattr(args, key)
    network.setdefault('in_channels', 3)
    missing = [key for key in NETWORK_FLAGS if key not in network]
    if missing:
        raise ValueError(f'the network needs {", ".join(missing)}: pass '
                         f'{" ".join("--" + k.replace("_", "-") for k in missing)}')
    for key in LATENCY_FLAGS:
        if getattr(args, key) is not None:
            latency[key] = getattr(args, key)
    return genotype, network, parse_latency(latency, 'latency'), source


def main(argv=None) -> int:
    args = parse_args(argv)
    with exit_on_user_errors(PROG):
        genotype, network, latency, source = resolve_target(args)
        table = LatencyTable.cached(network, latency)
        predicted = table.predict(genotype)
        measured = measure_latency(genotype, network, latency)
    low, high = table.extremes()
    threads = table.fingerprint['threads']
    print(f'genotype ({source}): {genotype}')
    print(f'network: {network}')
    print(f'timing: {latency["backend"]} on {latency["device"]} '
          f'({table.fingerprint["hardware"]}), {threads} threads, batch {latency["batch_size"]}, '
          f'torch {torch.__version__}')
    print(f'latency table: fingerprint {table.fingerprint_digest}, predictions of the search '
          f'space from {low:.3f} to {high:.3f} ms')
    print(f'predicted: {predicted:.3f} ms')
    print(f'measured:  {measured:.3f} ms ({(predicted - measured) / measured:+.1%} predicted '
          f'vs measured)')
    if args.json:
        atomic_write(args.json, json.dumps(dict(
            genotype=str(genotype), network=network, predicted_ms=predicted,
            measured_ms=measured, backend=latency['backend'], device=latency['device'],
            threads=threads, batch_size=latency['batch_size'],
            fingerprint=table.fingerprint_digest, hardware=table.fingerprint['hardware'],
            space_range_ms=[low, high]), indent=2) + '\n')
        print(f'written: {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
