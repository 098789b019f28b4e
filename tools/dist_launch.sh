#!/usr/bin/env bash
# Usage: tools/dist_launch.sh SCRIPT CONFIG NPROC [SCRIPT args]
# Runs tools/SCRIPT (train.py, test.py or search.py) on NPROC processes with torchrun and
# --launcher pytorch: one per GPU, or CPU processes (gloo) on a machine without GPUs.
# Env: PORT (default 29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1).
SCRIPT=$1
CONFIG=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
exec torchrun \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$(dirname "$0")/$SCRIPT" \
    "$CONFIG" "${@:4}" \
    --launcher pytorch
