#!/usr/bin/env bash
# Make .venv: a Python virtualenv with the pinned requirements of the
# flytekit adapter (conformance/requirements.txt). Re-created when the
# requirements change. Prints the path of its python.
set -euo pipefail
cd "$(dirname "$0")/.."
req=conformance/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "python-env: installing $req into .venv" >&2
    rm -rf .venv
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r "$req" >&2
    echo "$want" > "$stamp"
fi
echo "$PWD/.venv/bin/python"
