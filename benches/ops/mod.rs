//! The benchmarked operations, written once: the criterion table
//! (`benches/stack.rs`) and the instruction-count gate (`benches/gate.rs`)
//! must measure the same code, or the gate would guard something other than
//! what the table reports. Each operation exists for the implementation, for
//! the model (the executable spec, `flytectx_model::Model`) and, where one
//! makes sense, for a naive thread-local baseline, so that both benchmarks
//! can state ratios that do not depend on the machine. (A folder, not
//! `benches/ops.rs`, so that Cargo does not take it for a bench target.)

#![allow(dead_code)] // each bench target uses a part of it

use flytectx_model::model::CtxId;
use flytectx_model::Model;
use std::cell::{Cell, RefCell};
use std::hint::black_box;

/// Push the current context itself, then pop it: the pair flytekit does
/// around code that runs "in" an existing context. The popped strong handle
/// is released at once, as a caller would.
#[inline(always)]
pub(crate) fn push_pop() {
    flytectx::push_context(black_box(flytectx::current_context())).expect("the top is alive");
    drop(black_box(flytectx::pop_context()));
}

/// The closure form of `with_context`, the natural user call (flytekit's
/// `with FlyteContextManager.with_context(builder) as ctx:`): derive a
/// builder from the current context, build the scope's context, push it,
/// run the body, pop and free it. Returns the scope's (now freed) context.
#[inline(always)]
pub(crate) fn with_context() -> flytectx::ContextRef {
    let builder = flytectx::current_context()
        .new_builder()
        .expect("the top is alive");
    flytectx::with_context(builder, |ctx| Ok::<_, ()>(black_box(ctx)))
        .expect("the scope pops its own context")
}

/// The long-hand of a scope: derive, build, push, pop. The built context is
/// freed when both its handle and the popped handle are gone.
#[inline(always)]
pub(crate) fn build_push_pop() {
    let ctx = flytectx::current_context()
        .new_builder()
        .expect("the top is alive")
        .build()
        .expect("the thread is alive");
    flytectx::push_context(&ctx).expect("a built context is alive");
    drop(black_box(flytectx::pop_context()));
    drop(black_box(ctx));
}

/// Read the current context.
#[inline(always)]
pub(crate) fn current() -> flytectx::ContextRef {
    black_box(flytectx::current_context())
}

// ----- the model: the same operations on the executable spec -----

/// [`push_pop`] on the model.
#[inline(always)]
pub(crate) fn model_push_pop(m: &mut Model) {
    let top = m.current_context();
    m.push_context(black_box(top), None);
    black_box(m.pop_context()).expect("the root stays");
}

/// [`with_context`] on the model.
#[inline(always)]
pub(crate) fn model_with_context(m: &mut Model) -> CtxId {
    let top = m.current_context();
    let builder = m.new_builder(top);
    black_box(m.with_context(&builder, |_, ctx| Ok(black_box(ctx))))
        .expect("the scope pops its own context")
}

/// [`build_push_pop`] on the model.
#[inline(always)]
pub(crate) fn model_build_push_pop(m: &mut Model) {
    let top = m.current_context();
    let built = m.build(&m.new_builder(top));
    m.push_context(black_box(built), None);
    black_box(m.pop_context()).expect("the root stays");
}

/// [`current`] on the model.
#[inline(always)]
pub(crate) fn model_current(m: &mut Model) -> CtxId {
    black_box(m.current_context())
}

// ----- the naive baselines -----

thread_local! {
    // Holds the root, like the impl's stack outside any scope.
    static VEC_STACK: RefCell<Vec<u32>> = RefCell::new(vec![1]);
    // Lazy on purpose, not `const`: the impl's thread local is lazy, and the
    // floor is meant for the same kind of access.
    #[allow(clippy::missing_const_for_thread_local)]
    static CELL_TOP: Cell<u32> = Cell::new(1);
}

/// The naive stack's read of the top, shared by `current` and `push_pop`.
#[inline(always)]
fn vec_top() -> Option<u32> {
    VEC_STACK
        .try_with(|s| s.borrow().last().copied())
        .ok()
        .flatten()
}

/// [`push_pop`] on a `thread_local!` `RefCell<Vec<u32>>`: read the top,
/// push it, pop it. What the impl can hardly beat: it keeps its stack in the
/// same kind of place, and also keeps reference counts and origins.
#[inline(always)]
pub(crate) fn vec_push_pop() {
    let top = vec_top().expect("the root is there");
    let _ = VEC_STACK.try_with(|s| s.borrow_mut().push(black_box(top)));
    black_box(VEC_STACK.try_with(|s| s.borrow_mut().pop()).ok());
}

/// [`current`] on the naive stack. Hands a plain u32 to black_box: an
/// Option<u32> would be stored as two halves and reloaded as one word, a
/// store-forwarding stall that costs more than the read itself.
#[inline(always)]
pub(crate) fn vec_current() -> u32 {
    black_box(vec_top().unwrap_or(0))
}

/// The physical floor of [`push_pop`]: a one-slot "stack" in a
/// `thread_local!` `Cell<u32>`; replace the top, then restore it.
#[inline(always)]
pub(crate) fn cell_push_pop() {
    let old = CELL_TOP.try_with(|t| t.replace(black_box(2))).ok();
    let _ = CELL_TOP.try_with(|t| t.set(black_box(old).unwrap_or(1)));
}

/// The physical floor of [`current`]: one thread-local access and one load.
#[inline(always)]
pub(crate) fn cell_current() -> u32 {
    black_box(CELL_TOP.try_with(Cell::get).unwrap_or(0))
}
