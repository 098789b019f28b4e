"""tools/dist_train.sh on 2 gloo CPU processes: a downstream config (mmpose SimpleBaseline on
generated COCO keypoints) trains data-parallel with DDP and validates."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.test_configs.test_pose_config import CONFIG, load_generator, tiny_options
from tests.test_tools.test_dist_search import free_port

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.full_install  # the pose config
def test_dist_train_two_cpu_processes(tmp_path):
    root = tmp_path / 'coco'
    load_generator().generate_tiny_coco_keypoints(str(root), num_train=8, num_val=4, seed=0)
    options = tiny_options(root)  # 256x192 input (the command line cannot pass a codec dict)
    options.update({
        'train_dataloader.batch_size': 2,  # per process: 2 x 2 images per iteration
        'val_dataloader.batch_size': 2,
        'model.backbone.base_channels': 8,  # a small backbone: C8 L5, 128 channels at /32
        'model.backbone.num_cells': 5,
        'model.head.in_channels': 128,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
    })
    work_dir = tmp_path / 'work_dir'
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(free_port()),
               PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    command = ['bash', 'tools/dist_train.sh', str(CONFIG), '2', '--work-dir', str(work_dir),
               '--cfg-options'] + [f'{key}={value}' for key, value in options.items()]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    # 8 images / (2 processes x 2) = 2 iterations in the epoch, then COCO AP on 4 images.
    scalars = [json.loads(line) for line in
               next(work_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    assert [entry['iter'] for entry in scalars if 'loss' in entry] == [1, 2]
    ap = [entry['coco/AP'] for entry in scalars if 'coco/AP' in entry]
    assert len(ap) == 1 and 0.0 <= ap[0] <= 1.0
    assert (work_dir / 'epoch_1.pth').is_file()
