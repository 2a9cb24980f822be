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

/// Operations per benchmark call.
const OPS: u32 = 1000;

/// Initializes the thread's stack and warms every path the benchmarks take.
fn warm(ops: u32) -> u32 {
    let root = flytectx::current_context();
    flytectx::push_context(root).expect("the root is alive");
    drop(flytectx::pop_context());
    let builder = root.new_builder().expect("the root is alive");
    flytectx::with_context(builder, |_| Ok::<_, ()>(())).expect("the scope is balanced");
    ops
}

#[library_benchmark]
#[bench::ops(args = (OPS), setup = warm)]
fn push_pop(ops: u32) -> usize {
    for _ in 0..ops {
        flytectx::push_context(black_box(flytectx::current_context())).expect("the root is alive");
        drop(black_box(flytectx::pop_context()));
    }
    flytectx::size()
}

#[library_benchmark]
#[bench::ops(args = (OPS), setup = warm)]
fn current(ops: u32) -> usize {
    for _ in 0..ops {
        black_box(flytectx::current_context());
    }
    flytectx::size()
}

// The closure form, as in `benches/stack.rs`: derive a builder from the
// current context, enter its scope, leave it. (A plain comment: gungraun's
// attribute takes no doc attribute.)
#[library_benchmark]
#[bench::ops(args = (OPS), setup = warm)]
fn with_context(ops: u32) -> usize {
    for _ in 0..ops {
        let builder = flytectx::current_context()
            .new_builder()
            .expect("the root is alive");
        flytectx::with_context(builder, |ctx| Ok::<_, ()>(black_box(ctx)))
            .expect("the scope pops its own context");
    }
    flytectx::size()
}

#[library_benchmark]
#[bench::ops(args = (OPS), setup = warm)]
fn build_push_pop(ops: u32) -> usize {
    for _ in 0..ops {
        let ctx = flytectx::current_context()
            .new_builder()
            .expect("the root is alive")
            .build();
        flytectx::push_context(&ctx).expect("a built context is alive");
        drop(black_box(flytectx::pop_context()));
        drop(black_box(ctx));
    }
    flytectx::size()
}

library_benchmark_group!(
    name = stack;
    benchmarks = push_pop, current, with_context, build_push_pop
);

main!(library_benchmark_groups = stack);
