#!/usr/bin/env bash
# Creates .venv with Python 3.10 (Rasa 3.6 needs it) and installs the pinned dependencies.
# Re-running is cheap: nothing is reinstalled while requirements.txt and constraints.txt are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
  local candidates=()
  [ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
  command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
  if command -v pyenv >/dev/null 2>&1; then
    for p in "$(pyenv root)"/versions/3.10.*/bin/python; do candidates+=("$p"); done
  fi
  for p in "$HOME"/.pyenv/versions/3.10.*/bin/python /usr/bin/python3.10 /usr/local/bin/python3.10; do
    candidates+=("$p")
  done
  for p in "${candidates[@]}"; do
    if [ -x "$p" ] && "$p" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)'; then
  if ! PY=$(find_python310); then
    echo "ERROR: Python 3.10 not found. Rasa 3.6 needs exactly Python 3.10." >&2
    echo "       Install it (for example: pyenv install 3.10.13) or set PYTHON310=/path/to/python3.10." >&2
    exit 1
  fi
  echo "Creating .venv with $PY"
  rm -rf .venv
  "$PY" -m venv .venv
fi

stamp=$(cat requirements.txt constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat .venv/.installed 2>/dev/null)" != "$stamp" ]; then
  echo "Installing pinned dependencies (first time: about 3 minutes)"
  .venv/bin/python -m pip install --quiet --upgrade "pip==23.2.1"
  .venv/bin/python -m pip install --quiet -r requirements.txt -c constraints.txt
  .venv/bin/python -m pip check
  echo "$stamp" > .venv/.installed
fi
