#!/usr/bin/env sh
# Write constraints.txt, the versions ./bootstrap.sh installs: a fresh .venv with the newest
# versions pyproject.toml's ranges allow (`./bootstrap.sh test`, unpinned), frozen. Run it to
# move the project to newer dependencies, then run the checks CI runs and regenerate the docs'
# figures (docs/reproduce.md, "Dependency versions").
set -eu
cd "$(dirname "$0")/.."
rm -rf .venv
ABM_UNPINNED=1 ./bootstrap.sh test
py=$(.venv/bin/python -c 'import platform, sys; print(f"Python {sys.version_info[0]}.{sys.version_info[1]}, {platform.system()} {platform.machine()}")')
{
    echo "# The exact versions ./bootstrap.sh installs (pip's --constraint): the set CI tests, so that"
    echo "# a fresh machine gets the same bytes of output and the same figures as docs/"
    echo "# (docs/reproduce.md, \"Dependency versions\"). pyproject.toml keeps the ranges the package"
    echo "# supports; \`pip install\` of the package alone follows those."
    echo "# Written by tools/freeze_constraints.sh ($py, $(date -u +%Y-%m-%d))."
    .venv/bin/python -m pip freeze --exclude-editable
} > constraints.txt
echo "freeze_constraints: wrote constraints.txt"
