#!/usr/bin/env bash
# Creates .venv (Python 3.10) and installs requirements.lock and the project into it.
# Fast path: does nothing when .venv was built from exactly this lock and pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp=$venv/.glassbox-setup
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/glassbox" ]; then
  echo "setup: .venv matches requirements.lock (nothing to do)"
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

python=$(scripts/find_python.sh)
if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  echo "setup: $venv is not Python 3.10; recreating it"
  rm -rf "$venv"
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
start=$(date +%s)
echo "setup: installing requirements.lock into $venv with $("$venv/bin/python" --version) (about 3 minutes the first time)"
pip_quiet=(--quiet --disable-pip-version-check)
# wheel first, so that the few source-only packages build as wheels.
"$venv/bin/pip" install "${pip_quiet[@]}" $(grep -E '^(wheel|setuptools)==' requirements.lock)
"$venv/bin/pip" install "${pip_quiet[@]}" -r requirements.lock 2> >(grep -v -E "^WARNING: Location '.*' is ignored" >&2)
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
