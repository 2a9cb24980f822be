#!/usr/bin/env bash
# A bounded smoke run of the fuzz targets (fuzz/): each for FUZZ_SECONDS
# (default 30), from a scratch copy of its seed corpus so the repository's
# corpus does not grow. Exits non-zero if a target crashes; the crashing
# input is kept in fuzz/artifacts/<target>/.
#
# cargo-fuzz needs a nightly toolchain; without one the smoke run is skipped
# (exit 0), since the stable toolchain cannot build the targets at all.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
TARGETS=(differential trace_parser)
# The version this script was checked with; any later 0.13 should do.
CARGO_FUZZ_VERSION=0.13.2

if ! command -v rustup >/dev/null 2>&1 || ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz smoke SKIPPED: no nightly toolchain"
    exit 0
fi
echo "nightly: $(rustup run nightly rustc --version)"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
echo "$(cargo fuzz --version)"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Build both first, so that the timed runs measure fuzzing, not compiling.
cargo +nightly fuzz build

summary=()
status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "$scratch/$t"
    cp fuzz/corpus/"$t"/seed-* "$scratch/$t/"
    log="$scratch/$t.log"
    echo
    echo "=== fuzz $t for ${FUZZ_SECONDS}s"
    # A single job: the targets share the machine with everything else.
    if cargo +nightly fuzz run "$t" "$scratch/$t" -- \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 >"$log" 2>&1; then
        # libFuzzer's last word: "Done N runs in S second(s)".
        read -r runs secs < <(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$log" | tail -n 1) || true
        if [ -n "${runs:-}" ]; then
            rate=$(( runs / (secs > 0 ? secs : 1) ))
            line="$t: ok, $runs execs in ${secs}s, $rate exec/s, corpus $(ls "$scratch/$t" | wc -l) inputs"
        else
            line="$t: ok, but no \"Done N runs\" line in the log"
        fi
    else
        status=1
        tail -n 60 "$log"
        line="$t: CRASHED (input in fuzz/artifacts/$t/; reproduce with: cargo +nightly fuzz run $t <file>)"
    fi
    echo "$line"
    summary+=("$line")
    runs='' secs=''
done

echo
echo "=== fuzz smoke summary"
printf '%s\n' "${summary[@]}"
exit "$status"
