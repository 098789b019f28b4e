#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args]   (CPU processes without GPUs)
# Env: PORT (default 29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1).
exec "$(dirname "$0")/dist_launch.sh" train.py "$1" "$2" "${@:3}"
