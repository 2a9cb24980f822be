//! Instruction counts of the hot operations, under callgrind (gungraun).
//!
//! Unlike wall-clock figures, instruction counts are the same from run to run
//! and from machine to machine (for one build of one toolchain), so
//! `scripts/bench-gate.sh` compares them with `benches/gate-baseline.json`
//! and fails when one grows by more than 5 %.
//!
//! Each benchmark does `OPS` operations in one call, so that the fixed cost of
//! calling the benchmark function is negligible: divide a count by `OPS` for
//! the instructions of one operation. The thread's root is made, and each
//! operation done once, in the setup, which callgrind does not count: the
//! counts are those of the steady state, not of the lazy initialization or of
//! an arena's first growth.

use gungraun::{library_benchmark, library_benchmark_group, main};
use std::hint::black_box;

mod ops;

/// Operations per benchmark call.
const OPS: u32 = 1000;

/// Initializes the thread's stack and warms every path the benchmarks take.
fn warm(count: u32) -> u32 {
    ops::push_pop();
    ops::with_context();
    ops::build_push_pop();
    count
}

#[library_benchmark]
#[bench::ops(args = (OPS), setup = warm)]
fn push_pop(count: u32) -> usize {
    for _ in 0..count {
        ops::push_pop();
    }
    flytectx::size()
}

#[library_benchmark]
#[bench::ops(args = (OPS), setup = warm)]
fn current(count: u32) -> usize {
    for _ in 0..count {
        black_box(flytectx::current_context());
    }
    flytectx::size()
}

#[library_benchmark]
#[bench::ops(args = (OPS), setup = warm)]
fn with_context(count: u32) -> usize {
    for _ in 0..count {
        ops::with_context();
    }
    flytectx::size()
}

#[library_benchmark]
#[bench::ops(args = (OPS), setup = warm)]
fn build_push_pop(count: u32) -> usize {
    for _ in 0..count {
        ops::build_push_pop();
    }
    flytectx::size()
}

library_benchmark_group!(
    name = stack;
    benchmarks = push_pop, current, with_context, build_push_pop
);

main!(library_benchmark_groups = stack);
