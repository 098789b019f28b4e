#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]   (CPU processes without GPUs)
# Env: PORT (default 29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1).
exec "$(dirname "$0")/dist_launch.sh" test.py "$1" "$3" "$2" "${@:4}"
