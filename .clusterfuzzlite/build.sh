#!/bin/bash -eu
# Build every target of fuzz/ with the sanitizer flags ClusterFuzzLite set,
# as scripts/fuzz-smoke.sh builds them, and hand each to ClusterFuzzLite
# with its seed corpus.
cd "$SRC/flytectx/fuzz"
cargo fuzz build -O --debug-assertions
for target in $(cargo fuzz list); do
    cp "target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
    if [ -d "corpus/$target" ]; then
        (cd "corpus/$target" && zip -q "$OUT/${target}_seed_corpus.zip" seed-*)
    fi
done
