#!/usr/bin/env bash
# Runs a command with the stack's venv first on PATH: `STACK=current scripts/in_stack.sh glassbox run`.
# STACK as in scripts/setup.sh (empty: picked by the host's glibc). The current stack on a host whose glibc is
# older than 2.39 runs inside the Debian 13 root of scripts/rootfs.sh, in the same directory.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
stack=${STACK:-$(bash "$repo/scripts/stack.sh")}
case "$stack" in
  legacy) venv=$repo/.venv ;;
  current) venv=$repo/.venv-current ;;
  *) echo "in_stack.sh: STACK=$stack names no stack (legacy or current)." >&2; exit 2 ;;
esac
if [ "$stack" = current ] && [ "$(bash "$repo/scripts/stack.sh")" != current ]; then
  exec bash "$repo/scripts/rootfs.sh" run env PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$@"
fi
PATH="$venv/bin:$PATH" exec "$@"
