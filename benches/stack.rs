//! Wall-clock cost of the context stack's hot operations, set against what
//! bounds them from below and against a widely used peer.
//!
//! Every group measures one operation in several implementations, so the
//! ids of a group can be read as one row of a table (`scripts/bench-table.sh`
//! does exactly that):
//!
//! - `impl`: the thread-local facade of `flytectx`, called as a user would.
//! - `model`: the executable spec (`flytectx_model::Model`), to show what the
//!   straightforward Vec-of-structs encoding of the same rules costs.
//! - `vec_baseline` / `tls_baseline`: a naive stack, a `thread_local!`
//!   `RefCell<Vec<u32>>`. The impl can hardly beat it: it keeps its stack in
//!   the same kind of place, and it also keeps reference counts and origins.
//! - `cell_limit`: a `thread_local!` `Cell<u32>`, the physical floor: one
//!   thread-local access and one load or store, no borrow flag, no bounds.
//! - `otel`: opentelemetry's `Context`, whose attach/guard pair is the
//!   closest Rust equivalent of push/pop.
//!
//! The baselines declare their thread locals with a lazy initializer, as the
//! impl does (`impl/src/heap.rs`), and touch them on every iteration, so a
//! difference between `impl` and a baseline is the impl's own work, not a
//! cheaper kind of thread-local access.
//!
//! Measurement times default to a short run (1 s warm-up, 3 s measurement)
//! so the whole table takes a few minutes; criterion's `--warm-up-time` and
//! `--measurement-time` flags override them.

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use flytectx_model::{Model, Profile};
use std::hint::black_box;
use std::time::{Duration, Instant};

mod ops;

/// A value to put in an opentelemetry context; what it holds does not matter.
#[derive(Debug)]
struct Marker(#[allow(dead_code)] u64);

/// The model keeps every context it ever built (contexts are values of an
/// append-only heap there), so an operation that builds grows it without
/// bound. To keep a long run's memory flat, the model is replaced by a fresh
/// one every `MODEL_CHUNK` iterations, outside the timed region.
const MODEL_CHUNK: u64 = 1 << 16;

fn time_model_in_chunks(iters: u64, mut op: impl FnMut(&mut Model)) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(MODEL_CHUNK);
        let mut m = Model::new(Profile::Isolated);
        let start = Instant::now();
        for _ in 0..n {
            op(&mut m);
        }
        total += start.elapsed();
        // Dropping the grown model is not part of the operation.
        drop(m);
        left -= n;
    }
    total
}

/// The facade's stack is back to its root: a benchmark that leaked a push
/// would make every later figure meaningless. (A filtered run may have run
/// nothing yet, so the thread's stack is made first.)
fn assert_root_only() {
    flytectx::current_context();
    assert_eq!(flytectx::size(), 1, "a benchmark left the stack unbalanced");
}

fn push_pop(c: &mut Criterion) {
    let mut g = c.benchmark_group("push_pop");

    g.bench_function("impl", |b| b.iter(ops::push_pop));
    assert_root_only();

    g.bench_function("model", |b| {
        let mut m = Model::new(Profile::Isolated);
        b.iter(|| ops::model_push_pop(&mut m))
    });

    // Same steps as the impl: read the top, push it, pop it.
    g.bench_function("vec_baseline", |b| b.iter(ops::vec_push_pop));

    // A one-slot "stack": replace the top, then restore it.
    g.bench_function("cell_limit", |b| b.iter(ops::cell_push_pop));

    // Attaching a context that already exists, as the impl pushes one that
    // already exists: the clone is the counterpart of the impl's retain, the
    // guard's drop the counterpart of the pop and its release.
    g.bench_function("otel", |b| {
        let cx = opentelemetry::Context::current_with_value(Marker(1));
        b.iter(|| drop(black_box(cx.clone().attach())))
    });
    g.finish();
}

fn current(c: &mut Criterion) {
    let mut g = c.benchmark_group("current");
    g.bench_function("impl", |b| b.iter(ops::current));
    g.bench_function("model", |b| {
        let mut m = Model::new(Profile::Isolated);
        b.iter(|| ops::model_current(&mut m))
    });
    g.bench_function("tls_baseline", |b| b.iter(ops::vec_current));
    g.bench_function("cell_limit", |b| b.iter(ops::cell_current));
    // The address of the current context: borrows it, as the impl's handle
    // names it, without the clone that `Context::current()` would add.
    g.bench_function("otel", |b| {
        b.iter(|| {
            black_box(opentelemetry::Context::map_current(|cx| {
                std::ptr::from_ref(cx) as usize
            }))
        })
    });
    g.finish();
}

fn with_context(c: &mut Criterion) {
    let mut g = c.benchmark_group("with_context");

    g.bench_function("impl", |b| b.iter(ops::with_context));
    assert_root_only();

    g.bench_function("model", |b| {
        b.iter_custom(|iters| {
            time_model_in_chunks(iters, |m| {
                ops::model_with_context(m);
            })
        })
    });

    // A new context derived from the current one (current + a value), made
    // current for one scope and then left: what a scope is in opentelemetry.
    g.bench_function("otel", |b| {
        b.iter(|| {
            let guard = opentelemetry::Context::current_with_value(Marker(black_box(2))).attach();
            drop(black_box(guard));
        })
    });
    g.finish();
}

fn build_push_pop(c: &mut Criterion) {
    let mut g = c.benchmark_group("build_push_pop");

    g.bench_function("impl", |b| b.iter(ops::build_push_pop));
    assert_root_only();

    g.bench_function("model", |b| {
        b.iter_custom(|iters| time_model_in_chunks(iters, ops::model_build_push_pop))
    });
    g.finish();
}

/// Push+pop on a deep stack: the cost must not depend on the depth.
fn depth(c: &mut Criterion) {
    let mut g = c.benchmark_group("depth");
    for depth in [1usize, 1_000, 1_000_000] {
        // The stack holds `depth` contexts in all: the root, pushed again
        // `depth - 1` times. It is built once, outside criterion's routine,
        // because criterion calls the routine once per sample.
        let root = flytectx::current_context();
        for _ in 1..depth {
            flytectx::push_context(root).expect("the root is alive");
        }
        assert_eq!(flytectx::size(), depth);
        g.bench_with_input(BenchmarkId::from_parameter(depth), &depth, |b, _| {
            b.iter(ops::push_pop)
        });
        for _ in 1..depth {
            flytectx::pop_context().expect("above the root");
        }
        assert_root_only();
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = stack;
    config = config();
    targets = push_pop, current, with_context, build_push_pop, depth
}
criterion_main!(stack);
