# Sourced by scripts/run and scripts/test: find Python 3.11+, make .venv, and
# (re)install slowpub into it whenever pyproject.toml has changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "slowpub needs Python 3.11 or newer (set PYTHON=/path/to/python3.x)" >&2
  return 1
}

ensure_venv() {  # $1: pip extras, e.g. "[test]" or ""
  local extras="$1" stamp=".venv/.slowpub-installed" want
  want="$(cat pyproject.toml)${extras}"
  if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing slowpub and its dependencies into .venv (log: .venv/install.log) ..." >&2
    if ! .venv/bin/python -m pip install -e ".${extras}" > .venv/install.log 2>&1; then
      tail -n 30 .venv/install.log >&2
      echo "installing slowpub failed; the whole log is in .venv/install.log" >&2
      return 1
    fi
    printf '%s' "$want" > "$stamp"
  fi
}
