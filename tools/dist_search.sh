#!/usr/bin/env bash
# Usage: tools/dist_search.sh CONFIG NPROC [search.py args]   (GPUs, or CPU processes)
# Each candidate trains data-parallel over the NPROC processes; see docs/search_guide.md.
# Env: PORT (default 29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1).
exec "$(dirname "$0")/dist_launch.sh" search.py "$1" "$2" "${@:3}"
