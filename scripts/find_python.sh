#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter that runs, or fails with one sentence.
# Order: $PYTHON, a python3.10 on PATH that actually runs (a pyenv shim may not), pyenv's versions folder.
set -u
runs_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
  if runs_310 "$PYTHON"; then command -v "$PYTHON"; exit 0; fi
  echo "PYTHON=$PYTHON is not a working Python 3.10 interpreter." >&2
  exit 1
fi
if command -v python3.10 >/dev/null 2>&1 && runs_310 python3.10; then
  python3.10 -c 'import sys; print(sys.executable)'; exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  for candidate in "$(pyenv root)"/versions/3.10*/bin/python3.10; do
    if [ -x "$candidate" ] && runs_310 "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi
echo "Python 3.10 is required (TFX 1.16 supports no newer Python here) and none was found: install it (e.g. 'pyenv install 3.10.13' or 'uv python install 3.10') or point PYTHON at one." >&2
exit 1
