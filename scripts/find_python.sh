#!/usr/bin/env bash
# Prints the path of a Python interpreter of the version asked for (3.10, the default, for the legacy stack;
# 3.12 for the current one) that runs, or fails with one sentence.
# Order: $PYTHON (3.10) or $PYTHON312 (3.12), a python3.X on PATH that actually runs (a pyenv shim may not),
# pyenv's versions folder, then ~/.pyenv/versions (inside scripts/rootfs.sh's root, where pyenv is not).
set -u
want=${1:-3.10}
case "$want" in
  3.10) override_name=PYTHON; why="TFX 1.16 supports no newer Python here" ;;
  3.12) override_name=PYTHON312; why="the current stack, TFX 1.21, is locked on it" ;;
  *) echo "find_python.sh: no stack uses Python $want (3.10 or 3.12)." >&2; exit 2 ;;
esac
runs() { "$1" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$want')" >/dev/null 2>&1; }

override=${!override_name:-}
if [ -n "$override" ]; then
  if runs "$override"; then command -v "$override"; exit 0; fi
  echo "$override_name=$override is not a working Python $want interpreter." >&2
  exit 1
fi
if command -v "python$want" >/dev/null 2>&1 && runs "python$want"; then
  "python$want" -c 'import sys; print(sys.executable)'; exit 0
fi
roots=()
command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
roots+=("${PYENV_ROOT:-$HOME/.pyenv}")
for root in "${roots[@]}"; do
  for candidate in "$root"/versions/"$want"*/bin/python"$want"; do
    if [ -x "$candidate" ] && runs "$candidate"; then echo "$candidate"; exit 0; fi
  done
done
echo "Python $want is required ($why) and none was found: install it (e.g. 'pyenv install $want' or 'uv python install $want') or point $override_name at one." >&2
exit 1
