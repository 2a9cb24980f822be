//! The implementation's hot operations, written once: the criterion table
//! (`benches/stack.rs`) and the instruction-count gate (`benches/gate.rs`)
//! must measure the same code, or the gate would guard something other than
//! what the table reports. (A folder, not `benches/ops.rs`, so that Cargo does
//! not take it for a bench target of its own.)

use std::hint::black_box;

/// Push the current context itself, then pop it: the pair flytekit does
/// around code that runs "in" an existing context. The popped strong handle
/// is released at once, as a caller would.
#[inline(always)]
pub fn push_pop() {
    flytectx::push_context(black_box(flytectx::current_context())).expect("the top is alive");
    drop(black_box(flytectx::pop_context()));
}

/// The closure form of `with_context`, the natural user call (flytekit's
/// `with FlyteContextManager.with_context(builder) as ctx:`): derive a
/// builder from the current context, build the scope's context, push it,
/// run the body, pop and free it. Returns the scope's (now freed) context.
#[inline(always)]
pub fn with_context() -> flytectx::ContextRef {
    let builder = flytectx::current_context()
        .new_builder()
        .expect("the top is alive");
    flytectx::with_context(builder, |ctx| Ok::<_, ()>(black_box(ctx)))
        .expect("the scope pops its own context")
}

/// The long-hand of a scope: derive, build, push, pop. The built context is
/// freed when both its handle and the popped handle are gone.
#[inline(always)]
pub fn build_push_pop() {
    let ctx = flytectx::current_context()
        .new_builder()
        .expect("the top is alive")
        .build();
    flytectx::push_context(&ctx).expect("a built context is alive");
    drop(black_box(flytectx::pop_context()));
    drop(black_box(ctx));
}
