#!/usr/bin/env sh
# Create .venv with Python >= 3.12 and install the project into it.
#   ./bootstrap.sh          the package and the `abm` command
#   ./bootstrap.sh viz      plus the dashboard (`abm dashboard`: solara)
#   ./bootstrap.sh test     plus the test tools (pytest, hypothesis, scipy, ruff, playwright), the
#                           dashboard, PyPSA (the [grid] extra, for the export test) and
#                           Chromium for the browser tests (apt-get, when root)
# Versions: those of constraints.txt (the set CI tests); ABM_UNPINNED=1 installs the newest that
# pyproject.toml's ranges allow instead (tools/freeze_constraints.sh)
set -eu
cd "$(dirname "$0")"
extras=""
[ "${1:-}" = "test" ] && extras="[test,viz,grid]"
[ "${1:-}" = "viz" ] && extras="[viz]"

find_python() {
    for c in python3.14 python3.13 python3.12 python3 python; do
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        for v in $(pyenv versions --bare 2>/dev/null | sort -r); do
            p=$(PYENV_VERSION="$v" pyenv which python 2>/dev/null) || continue
            if "$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
                echo "$p"; return 0
            fi
        done
    fi
    return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    py=$(find_python) || { echo "bootstrap: Python >= 3.12 not found (install it, or pyenv install 3.12)" >&2; exit 1; }
    echo "bootstrap: creating .venv with $py"
    rm -rf .venv
    "$py" -m venv .venv
fi
echo "bootstrap: installing geoinference-abm$extras into .venv"
.venv/bin/python -m pip install --quiet --upgrade pip
if [ -n "${ABM_UNPINNED:-}" ]; then
    .venv/bin/python -m pip install --quiet -e ".$extras"
else
    .venv/bin/python -m pip install --quiet --constraint constraints.txt -e ".$extras"
fi
if [ "${1:-}" = "test" ] && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing chromium and chromium-driver with apt-get (browser tests)"
        apt-get update -qq && apt-get install -y -qq chromium chromium-driver \
            || echo "bootstrap: apt-get could not install chromium (browser tests will fail)" >&2
    else
        echo "bootstrap: /usr/bin/chromium is missing and this user cannot apt-get it; the" \
             "browser tests need it: sudo apt-get install chromium chromium-driver" >&2
    fi
fi
echo "bootstrap: ready (.venv/bin/abm --help)"
