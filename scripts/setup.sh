#!/usr/bin/env bash
# Creates the stack's venv and installs its lock and the project into it:
#   STACK=legacy:  .venv          (Python 3.10) from requirements.lock
#   STACK=current: .venv-current  (Python 3.12) from requirements-current.lock; on a host whose glibc is older
#                  than 2.39 this builds the Debian 13 root of scripts/rootfs.sh and installs inside it.
# No STACK: scripts/stack.sh picks by the host's glibc and this says which and why in one line.
# Fast path: does nothing when the venv was built from exactly this lock and pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${STACK:-}
if [ -z "$stack" ]; then
  stack=$(bash scripts/stack.sh)
  echo "setup: $(bash scripts/stack.sh --why) (STACK=legacy|current overrides)"
fi
case "$stack" in
  legacy) venv=.venv; lock=requirements.lock; version=3.10 ;;
  current) venv=.venv-current; lock=requirements-current.lock; version=3.12 ;;
  *) echo "setup: STACK=$stack names no stack: legacy (Python 3.10, TFX 1.16) or current (Python 3.12, TFX 1.21)." >&2; exit 2 ;;
esac
# The root first (a no-op when it was built from the same recipe), then this script again inside it.
if [ "$stack" = current ] && [ "$(bash scripts/stack.sh)" != current ]; then
  bash scripts/rootfs.sh build
  exec bash scripts/rootfs.sh run env STACK=current bash scripts/setup.sh
fi
stamp=$venv/.glassbox-setup
want=$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/glassbox" ]; then
  echo "setup: $venv matches $lock (nothing to do)"
  exit 0
fi

# The installed stack takes about 3.7 GB: stop before pip runs out of disk half-way through.
need_mb=4096
free_mb=$(( $(df -Pk . | awk 'NR == 2 {print $4}') / 1024 ))
[ -d "$venv" ] && free_mb=$(( free_mb + $(du -sk "$venv" | cut -f1) / 1024 ))
if [ "$free_mb" -lt "$need_mb" ]; then
  echo "setup: $venv needs about $need_mb MB of disk and only $free_mb MB is free here ($(pwd)); free some space and run it again." >&2
  exit 1
fi


python=$(scripts/find_python.sh "$version")
if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$version')"; then
  echo "setup: $venv is not Python $version; recreating it"
  rm -rf "$venv"
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
start=$(date +%s)
echo "setup: installing $lock into $venv with $("$venv/bin/python" --version) (about $([ "$stack" = current ] && echo 7 || echo 3) minutes the first time)"
pip_quiet=(--quiet --disable-pip-version-check)
# wheel first, so that the few source-only packages build as wheels.
"$venv/bin/pip" install "${pip_quiet[@]}" $(grep -E '^(wheel|setuptools)==' "$lock")
"$venv/bin/pip" install "${pip_quiet[@]}" -r "$lock" 2> >(grep -v -E "^WARNING: Location '.*' is ignored" >&2)
"$venv/bin/pip" install "${pip_quiet[@]}" --no-deps --no-build-isolation -e .
"$venv/bin/pip" check
"$venv/bin/python" - <<'PY'
import importlib
for name in ("tfx", "tfx_bsl", "tensorflow_data_validation", "tensorflow_model_analysis",
             "tensorflow_transform", "ml_metadata", "kfp", "apache_beam"):
    importlib.import_module(name)
print("setup: the TFX stack imports")
PY
echo "$want" > "$stamp"
echo "setup: done in $(( $(date +%s) - start )) s"
