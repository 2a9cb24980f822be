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
//!
//! Beside the implementation (`push_pop`, `current`, `with_context`,
//! `build_push_pop`), the same operations are counted on the model
//! (`model_*`, the executable spec) and on the naive thread-local baselines
//! (`vec_push_pop`, `cell_current`), so the gate can print ratios that hold
//! on any machine: impl/model and impl/baseline.

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

use flytectx_model::{Model, Profile};
use gungraun::{library_benchmark, library_benchmark_group, main};

mod ops;

// gungraun generates an undocumented module per benchmark and takes no doc
// attribute on them: the one place where the lint wall is lowered.
#[allow(missing_docs)]
mod benchmarks {
    use super::*;

    /// Operations per benchmark call.
    const OPS: u32 = 1000;

    /// Initializes the thread's stack and warms every path the benchmarks take.
    fn warm(count: u32) -> u32 {
        ops::push_pop();
        ops::with_context();
        ops::build_push_pop();
        ops::vec_push_pop();
        ops::cell_current();
        count
    }

    /// A model with its root, each operation done once (its vectors grow in
    /// the setup, not in the count, as far as one operation can say).
    fn warm_model(count: u32) -> (Model, u32) {
        let mut m = Model::new(Profile::Isolated);
        ops::model_push_pop(&mut m);
        ops::model_with_context(&mut m);
        ops::model_build_push_pop(&mut m);
        (m, count)
    }

    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm)]
    fn push_pop(count: u32) -> usize {
        for _ in 0..count {
            ops::push_pop();
        }
        flytectx::size()
    }

    /// [`warm`], then a stack of `DEEP` entries: the root, pushed again.
    fn warm_deep(count: u32) -> u32 {
        let root = flytectx::current_context();
        for _ in 1..DEEP {
            flytectx::push_context(root).expect("the root is alive");
        }
        warm(count)
    }

    /// The depth of `push_pop_deep`'s stack, as in `benches/stack.rs`'s
    /// `depth/1000000`.
    const DEEP: u32 = 1_000_000;

    // `push_pop` on a stack `DEEP` entries deep: the same instructions as on
    // the root alone, which is what makes the time not depend on the depth
    // (the timings of `depth/*` are noisier than their difference).
    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm_deep)]
    fn push_pop_deep(count: u32) -> usize {
        for _ in 0..count {
            ops::push_pop();
        }
        flytectx::size()
    }

    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm)]
    fn current(count: u32) -> usize {
        for _ in 0..count {
            ops::current();
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

    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm)]
    fn vec_push_pop(count: u32) -> u32 {
        for _ in 0..count {
            ops::vec_push_pop();
        }
        count
    }

    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm)]
    fn cell_current(count: u32) -> u32 {
        for _ in 0..count {
            ops::cell_current();
        }
        count
    }

    // The model is returned, so that dropping it (outside the benchmark
    // function) is not counted.

    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm_model)]
    fn model_push_pop((mut m, count): (Model, u32)) -> Model {
        for _ in 0..count {
            ops::model_push_pop(&mut m);
        }
        m
    }

    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm_model)]
    fn model_current((mut m, count): (Model, u32)) -> Model {
        for _ in 0..count {
            ops::model_current(&mut m);
        }
        m
    }

    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm_model)]
    fn model_with_context((mut m, count): (Model, u32)) -> Model {
        for _ in 0..count {
            ops::model_with_context(&mut m);
        }
        m
    }

    #[library_benchmark]
    #[bench::ops(args = (OPS), setup = warm_model)]
    fn model_build_push_pop((mut m, count): (Model, u32)) -> Model {
        for _ in 0..count {
            ops::model_build_push_pop(&mut m);
        }
        m
    }

    library_benchmark_group!(
        name = stack;
        benchmarks = push_pop, push_pop_deep, current, with_context, build_push_pop,
            vec_push_pop, cell_current,
            model_push_pop, model_current, model_with_context, model_build_push_pop
    );
}

use benchmarks::stack;

main!(library_benchmark_groups = stack);
