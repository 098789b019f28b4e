"""mmrnas.utils.cli: --cfg-options with genotype text, config loading, the launch arguments and
work dir, one-line user errors, and the genotype / thread lines the tools log."""
import argparse
import os

import pytest
import torch
from mmengine.config import Config, DictAction

from mmrnas.structures import get_genotype, resolve_genotype
from mmrnas.utils.cli import (
    CfgOptionsAction,
    describe_genotypes,
    describe_threads,
    exit_on_user_errors,
    load_config,
    parse_launch_args,
    set_work_dir,
)

#: What DARTS logs print: tuples and range() concat, as in the issue's command line.
DARTS_TEXT = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
              "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', "
              "0), ('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
              "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', "
              "0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
              "reduce_concat=range(2, 6))")


def parser():
    parser = argparse.ArgumentParser(prog='tool.py')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    return parser


def test_genotype_text_is_kept_verbatim():
    with pytest.raises(RecursionError):  # what MMEngine's DictAction does with it
        DictAction._parse_iterable(DARTS_TEXT)
    args = parser().parse_args([
        '--cfg-options', f'genotype={DARTS_TEXT}', 'model.backbone.genotype="best.yaml"',
        'a.b=[1,(2,3)]', 'lr=0.1', 'flag=False'
    ])
    assert args.cfg_options == {
        'genotype': DARTS_TEXT, 'model.backbone.genotype': 'best.yaml', 'a.b': [1, (2, 3)],
        'lr': 0.1, 'flag': False
    }
    assert resolve_genotype(args.cfg_options['genotype']) == get_genotype('DARTS_V2')


@pytest.mark.parametrize('pair, message', [
    ('foo', "tool.py: error: --cfg-options takes KEY=VALUE pairs, got 'foo'\n"),
    ('=1', "tool.py: error: --cfg-options takes KEY=VALUE pairs, got '=1'\n"),
    ('a=[1,2', "tool.py: error: --cfg-options: cannot parse the value of 'a': '[1,2' "
     '(unbalanced brackets?)\n'),
])
def test_malformed_pair_is_one_line(pair, message, capsys):
    with pytest.raises(SystemExit) as error:
        parser().parse_args(['--cfg-options', pair])
    assert error.value.code == 2
    assert capsys.readouterr().err == message


def test_load_config(tmp_path):
    config = tmp_path / 'net.py'
    config.write_text("genotype = 'RelativeNAS'\nmodel = dict(backbone=dict("
                      "type='RelativeNASBackbone', genotype=genotype))\n")
    cfg = load_config(str(config), {'genotype': DARTS_TEXT})
    assert cfg.genotype == cfg.model.backbone.genotype == DARTS_TEXT
    with pytest.raises(FileNotFoundError) as error:
        load_config(str(tmp_path / 'nope.py'))
    assert str(error.value) == f"config file '{tmp_path}/nope.py' does not exist"
    genotype_file = tmp_path / 'best_genotype.yaml'
    get_genotype('PDARTS').dump(genotype_file)
    with pytest.raises(ValueError) as error:
        load_config(str(genotype_file))
    assert str(error.value) == (
        f"'{genotype_file}' is a genotype file, not a config: pass a config and the genotype "
        f'as --cfg-options genotype={genotype_file}')
    # A YAML config that is not a genotype is read as a config.
    yaml_config = tmp_path / 'cfg.yaml'
    yaml_config.write_text('lr: 0.1\n')
    assert load_config(str(yaml_config)).lr == 0.1


@pytest.mark.parametrize('argv, env, launcher, local_rank', [
    ([], None, 'none', '0'),
    (['--launcher', 'pytorch', '--local-rank', '3'], None, 'pytorch', '3'),
    (['--local_rank=2'], None, 'none', '2'),
    (['--local-rank', '3'], '1', 'none', '1'),  # the launcher's LOCAL_RANK wins
])
def test_parse_launch_args(argv, env, launcher, local_rank, monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    if env is not None:
        monkeypatch.setenv('LOCAL_RANK', env)
    parser = argparse.ArgumentParser(prog='tool.py')
    parser.add_argument('config')
    args = parse_launch_args(parser, ['c.py', '--work-dir', 'w'] + argv, 'where it goes')
    assert (args.config, args.work_dir, args.launcher) == ('c.py', 'w', launcher)
    assert os.environ['LOCAL_RANK'] == local_rank
    assert 'where it goes' in parser.format_help()


@pytest.mark.parametrize('config_work_dir, work_dir, expected', [
    (None, None, './work_dirs/rnas_c8l5_1xb64-12e_digits-16'),
    (None, 'runs/a', 'runs/a'),
    ('from_config', None, 'from_config'),
    ('from_config', 'runs/a', 'runs/a'),
])
def test_set_work_dir(config_work_dir, work_dir, expected):
    cfg = Config(dict(lr=0.1) if config_work_dir is None else dict(work_dir=config_work_dir))
    set_work_dir(cfg, 'configs/retrain/rnas_c8l5_1xb64-12e_digits-16.py', work_dir)
    assert cfg.work_dir == expected


def test_exit_on_user_errors(capsys):
    with pytest.raises(SystemExit) as error, exit_on_user_errors('tool.py'):
        raise FileNotFoundError("config file 'x.py' does not exist")
    assert error.value.code == 2
    assert capsys.readouterr().err == "tool.py: error: config file 'x.py' does not exist\n"
    with pytest.raises(RuntimeError), exit_on_user_errors('tool.py'):
        raise RuntimeError('a bug keeps its traceback')


def test_describe_threads(monkeypatch):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        monkeypatch.setenv('OMP_NUM_THREADS', '1')
        assert describe_threads() == 'threads: 1 (OMP_NUM_THREADS=1)'
        monkeypatch.setenv('OMP_NUM_THREADS', '4')
        assert describe_threads() == (
            'threads: 1 (torch.set_num_threads; OMP_NUM_THREADS=4 is not used)')
        monkeypatch.delenv('OMP_NUM_THREADS')
        assert describe_threads() == (
            'threads: 1 (PyTorch default, OMP_NUM_THREADS unset; processes sharing the CPU '
            'should split its cores, see docs/faq.md)')
    finally:
        torch.set_num_threads(threads)


def test_describe_genotypes(tmp_path):
    path = tmp_path / 'g.yaml'
    get_genotype('PDARTS').dump(path)
    cfg = Config(dict(model=dict(
        type='EncoderDecoder',
        backbone=dict(type='BiSeNetV1', backbone_cfg=dict(type='RelativeNASBackbone',
                                                          genotype=str(path))),
        auxiliary_head=[dict(type='RelativeNASBackbone', genotype=DARTS_TEXT),
                        dict(type='RelativeNASBackbone', genotype=str(path)),
                        dict(type='RelativeNASBackbone')])))
    assert describe_genotypes(cfg) == [
        f"genotype: {path} -> {get_genotype('PDARTS')!r}",
        f"genotype: {get_genotype('DARTS_V2')!r}",
        f"genotype: RelativeNAS -> {get_genotype('RelativeNAS')!r}",
    ]
    assert describe_genotypes(Config(dict(model=dict(type='ImageClassifier')))) == []
    with pytest.raises(ValueError, match="genotype 'Nope' is neither a known name"):
        describe_genotypes(Config(dict(model=dict(type='RelativeNASBackbone', genotype='Nope'))))
