//! The thread-local facade: flytekit's static methods
//! (`FlyteContextManager.current_context()`, ...) over this thread's own
//! stack ([CUR-*], [SIZE-1], [THR-3]), whose entries live in the heap beside
//! the arena and whose top is mirrored in a thread local of its own.

use crate::arena::{Arena, CtxHandle};
use crate::context::{Builder, Context, ContextRef};
use crate::error::Error;
use crate::heap::{self, StackId, CURRENT};
use crate::manager::{fork_of, ContextManager};
use crate::stack::{
    enter_on, exit_on, finish, initialize_on, leave_on, library_origin, pop_on, push_on, PopError,
    ScopeError, ScopeToken, StackHost,
};
use std::panic::Location;

/// The thread-local facade's stack, as a [`StackHost`].
struct ThreadStack;

impl StackHost for ThreadStack {
    #[inline]
    fn id(&self) -> StackId {
        StackId::THREAD
    }
    #[inline]
    fn with_stack<R>(&mut self, f: impl FnOnce(&mut Arena, &mut Vec<u32>) -> R) -> R {
        heap::with_heap(|h| f(&mut h.contexts, &mut h.thread_stack))
    }
    fn make_room(&mut self) {
        heap::make_room_in_thread_stack();
    }
    /// Keep the access-free mirror of the top in step ([CUR-1]).
    #[inline]
    fn top_is(&self, top: Option<CtxHandle>) {
        // `with`, not `LocalKey::set`: the latter goes through a lazy
        // initialization path the compiler does not always inline.
        CURRENT.with(|c| c.set(top));
    }
    #[inline]
    fn mirrored_top(&self) -> Option<CtxHandle> {
        CURRENT.get()
    }
}

/// The current context of this thread's stack ([CUR-1]); an empty stack is
/// initialized first ([CUR-2], [THR-3]: a new thread starts empty), by the
/// library's own code, whose location the root records ([ORIG-3]).
#[inline]
pub fn current_context() -> ContextRef {
    match CURRENT.get() {
        Some(h) => ContextRef::new(h),
        None => initialize_then_current(),
    }
}

#[cold]
#[inline(never)]
fn initialize_then_current() -> ContextRef {
    initialize_on(&mut ThreadStack, library_origin());
    CURRENT
        .get()
        .map_or_else(ContextRef::dangling, ContextRef::new)
}

/// [PUSH-1]: push `ctx` itself on this thread's stack.
#[track_caller]
#[inline]
pub fn push_context(ctx: impl Into<ContextRef>) -> Result<ContextRef, Error> {
    push_context_from(ctx, Location::caller())
}

/// [PUSH-1] with a given origin ([ORIG-1]).
#[inline]
pub fn push_context_from(
    ctx: impl Into<ContextRef>,
    origin: &'static Location<'static>,
) -> Result<ContextRef, Error> {
    push_on(&mut ThreadStack, ctx.into(), origin)
}

/// [POP-1]..[POP-3]
#[inline]
pub fn pop_context() -> Result<Context, PopError> {
    pop_on(&mut ThreadStack)
}

/// [SIZE-1]
pub fn size() -> usize {
    heap::read_heap(|h| h.thread_stack.len())
}

/// [INIT-2]; the root records the caller as its origin ([ORIG-3]).
#[track_caller]
pub fn initialize() {
    initialize_on(&mut ThreadStack, Location::caller());
}

/// [WITH-1]: enter a scope on this thread's stack; leave it with [`exit_scope`].
#[track_caller]
pub fn enter_scope(builder: Builder) -> Result<ScopeToken, Error> {
    enter_on(&mut ThreadStack, builder, Location::caller()).ok_or(Error::ThreadExiting)
}

/// [WITH-2]..[WITH-5]. A token of another stack (a [`ContextManager`]'s) is
/// refused with [`PopError::ForeignScope`], and nothing changes.
#[inline]
pub fn exit_scope(token: ScopeToken) -> Result<(), PopError> {
    exit_on(&mut ThreadStack, token)
}

/// Leave a scope of this thread's stack whose body ended with `body` ([WITH-4]).
pub fn exit_scope_with<T, E>(token: ScopeToken, body: Result<T, E>) -> Result<T, ScopeError<E>> {
    finish(exit_scope(token), body)
}

/// `with_context` on this thread's stack, as a closure ([WITH-1]..[WITH-5]).
/// If the body panics, the guard inside still leaves the scope while unwinding.
#[track_caller]
#[inline(always)]
pub fn with_context<T, E>(
    builder: Builder,
    body: impl FnOnce(ContextRef) -> Result<T, E>,
) -> Result<T, ScopeError<E>> {
    let guard = enter_context_at(builder, Location::caller());
    let result = body(guard.context());
    guard.exit_with(result)
}

/// `with_context` on this thread's stack, as a guard: the scope is left when
/// the guard is dropped, in any order ([WITH-3] says what out-of-order exits
/// do), on unwinding too.
#[track_caller]
pub fn enter_context(builder: Builder) -> ContextGuard {
    enter_context_at(builder, Location::caller())
}

#[inline]
fn enter_context_at(builder: Builder, origin: &'static Location<'static>) -> ContextGuard {
    match enter_on(&mut ThreadStack, builder, origin) {
        Some(token) => ContextGuard {
            mark: token.mark(),
            ctx: token.context(),
        },
        None => ContextGuard {
            mark: 0,
            ctx: ContextRef::dangling(),
        },
    }
}

/// A scope of this thread's stack, left when dropped. It keeps only the
/// scope's mark and context: its stack is the thread's.
#[must_use = "the scope is left as soon as the guard is dropped"]
#[derive(Debug)]
pub struct ContextGuard {
    /// The stack size right after the scope's push; 0 once left (or never
    /// entered, while the thread was torn down).
    mark: usize,
    ctx: ContextRef,
}

impl ContextGuard {
    /// The context the scope pushed.
    #[inline]
    pub fn context(&self) -> ContextRef {
        self.ctx
    }
    /// Leave the scope now, with the cleanup's result.
    #[inline]
    pub fn exit(mut self) -> Result<(), PopError> {
        match std::mem::take(&mut self.mark) {
            0 => Err(PopError::ThreadExiting),
            mark => leave_on(&mut ThreadStack, mark),
        }
    }
    /// Leave the scope with the body's result ([WITH-4]).
    #[inline]
    pub fn exit_with<T, E>(self, body: Result<T, E>) -> Result<T, ScopeError<E>> {
        finish(self.exit(), body)
    }
}

impl Drop for ContextGuard {
    #[inline]
    fn drop(&mut self) {
        if self.mark != 0 {
            // A drop cannot report the cleanup's failure; the popped root is freed.
            let _ = leave_on(&mut ThreadStack, self.mark);
        }
    }
}

/// [TASK-2]: a new explicit stack holding this thread's entries.
pub fn fork() -> Result<ContextManager, Error> {
    fork_of(heap::copy_of_thread_stack())
}

/// [ORIG-4]: the location of the caller.
#[track_caller]
pub fn get_origin_stackframe() -> &'static Location<'static> {
    Location::caller()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The handle of the thread stack's top, looked up in the arena.
    fn top_in_the_arena() -> Option<CtxHandle> {
        heap::read_heap(|h| {
            let index = *h.thread_stack.last()?;
            h.contexts.handle_at(index)
        })
    }

    /// `pop_context` takes the popped handle from the mirror, so the mirror
    /// must name the top after every change of the stack.
    #[test]
    fn the_mirrored_top_is_the_stacks_top_after_every_change() {
        std::thread::spawn(|| {
            let mirror_is_exact = || {
                assert_eq!(ThreadStack.mirrored_top(), top_in_the_arena());
            };
            assert_eq!(ThreadStack.mirrored_top(), None, "a new thread: empty");
            let root = current_context();
            mirror_is_exact();
            assert_eq!(ThreadStack.mirrored_top(), Some(root.h));
            let built = root.new_builder().unwrap().build().unwrap();
            push_context(&built).unwrap();
            mirror_is_exact();
            assert_eq!(ThreadStack.mirrored_top(), Some(built.h));
            let guard = enter_context(root.new_builder().unwrap());
            mirror_is_exact();
            assert_eq!(ThreadStack.mirrored_top(), Some(guard.context().h));
            drop(guard);
            mirror_is_exact();
            assert_eq!(pop_context().unwrap(), built);
            mirror_is_exact();
            initialize();
            mirror_is_exact();
            assert!(matches!(pop_context(), Err(PopError::PoppedRoot(_))));
            mirror_is_exact();
            assert_eq!(ThreadStack.mirrored_top(), None);
        })
        .join()
        .unwrap();
    }
}
