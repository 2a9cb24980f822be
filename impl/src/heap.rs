//! The per-thread heap: the arena of contexts, the thread's own stack, and
//! the thread locals that reach them.
//!
//! Why per thread: contexts are not thread-safe in flytekit and need not be
//! here; keeping everything of a thread in one place makes every operation a
//! few plain loads and stores, with no atomics and no locks ([THR-3], [THR-4]).
//! Every handle type is `!Send`, so the compiler keeps objects in their thread.
//!
//! Why one constant-initialized thread local with no destructor of its own,
//! reached by every handle: its fields sit at fixed offsets from the thread
//! pointer, so an operation reaches the arena and the stack with no pointer
//! to follow, no reference count to keep (strong handles are one word) and
//! no check that the local is still alive (a local with a destructor is
//! checked at every access). The heap is freed by a second local,
//! [`Teardown`], registered when the arena first grows: when the thread
//! ends it takes the heap out, leaves a *torn-down* one in its place that
//! takes no new context, and drops the old one. From then on every handle's
//! operations fail with `Error::ThreadExiting` (or do nothing, when
//! dropped): the contexts went with the heap. The check for that is on the
//! paths that fail or grow, never on the others.
//!
//! Dropping a context may run user code (an opaque value's `Drop`, through
//! the parts it shares). It must never run while the heap is borrowed, or that
//! code could not use the stack: whoever takes a freed context out of the
//! arena drops it after the borrow ends ([`release_at`]).

use crate::arena::{Arena, CtxHandle, NewContext};
use crate::data::{DefaultTaskResolver, LocalFileAccess, Opaque};
use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::rc::Rc;

/// Everything of one thread that operations change.
pub(crate) struct Heap {
    pub(crate) contexts: Arena,
    /// The stack of the thread-local facade (`flytectx::push_context`, ...),
    /// as the arena indices of its entries, bottom first. Each entry owns
    /// its context, so an index is enough (half a handle's size).
    pub(crate) thread_stack: Vec<u32>,
    /// The last stack id given out ([`StackId`]).
    last_stack_id: u64,
}

impl Heap {
    const fn new() -> Heap {
        Heap {
            contexts: Arena::new(),
            thread_stack: Vec::new(),
            last_stack_id: StackId::THREAD.0,
        }
    }

    /// An id no other stack of this thread has had.
    pub(crate) fn new_stack_id(&mut self) -> StackId {
        self.last_stack_id += 1;
        StackId(self.last_stack_id)
    }
}

/// Tells the stacks of a thread apart, so that a scope is left only on the
/// stack that entered it. Ids are never reused within a thread, and scopes
/// cannot leave their thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StackId(u64);

impl StackId {
    /// The thread-local facade's stack.
    pub(crate) const THREAD: StackId = StackId(0);
}

/// [OBS-5]: this thread's default file access and task resolver. Objects
/// are per thread, so the defaults are too.
struct Defaults {
    file_access: Opaque,
    task_resolver: Opaque,
}

thread_local! {
    /// The top of the thread stack (`heap.thread_stack`), mirrored in a
    /// thread local of its own: constant-initialized and without a
    /// destructor, reading it is one load, with no lazy-initialization check
    /// and no borrow ([CUR-1]). `None` also while the stack is empty. It
    /// outlives the stack at thread exit; a handle read from it then names
    /// nothing reachable, and using it fails with `Error::ThreadExiting`.
    pub(crate) static CURRENT: Cell<Option<CtxHandle>> = const { Cell::new(None) };

    /// `ManuallyDrop`: no destructor, so no liveness check at each access;
    /// [`Teardown`] frees what it holds.
    static HEAP: RefCell<ManuallyDrop<Heap>> = const { RefCell::new(ManuallyDrop::new(Heap::new())) };

    static TEARDOWN: Teardown = const { Teardown };

    static DEFAULTS: Defaults = Defaults {
        file_access: Rc::new(LocalFileAccess::default_sandbox()),
        task_resolver: Rc::new(DefaultTaskResolver),
    };
}

/// Frees the heap when the thread ends (see the module's documentation).
struct Teardown;

impl Drop for Teardown {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(None));
        let mut torn_down = Heap::new();
        torn_down.contexts.tear_down();
        let old = HEAP.with(|h| std::mem::replace(&mut **h.borrow_mut(), torn_down));
        // After the borrow: what the contexts held may run code that uses
        // the stack, which finds it torn down.
        drop(old);
    }
}

/// Store a new context with one owner (its caller's): in a free slot, or in
/// a new one. None only while the thread is torn down.
#[inline]
pub(crate) fn insert(arena: &mut Arena, new: &mut NewContext) -> Option<CtxHandle> {
    match arena.insert_free(new) {
        Some(h) => Some(h),
        None => insert_growing(arena, new),
    }
}

/// [`insert`] when no slot is free: the arena grows, and with its first
/// growth the thread's teardown is registered.
#[cold]
fn insert_growing(arena: &mut Arena, new: &mut NewContext) -> Option<CtxHandle> {
    if arena.is_torn_down() {
        return None;
    }
    TEARDOWN.with(|_| ());
    Some(arena.push_slot(new))
}

/// Run `f` on this thread's heap. `f` must drop no context (see the
/// module's documentation).
#[inline]
pub(crate) fn with_heap<R>(f: impl FnOnce(&mut Heap) -> R) -> R {
    match HEAP.try_with(|h| f(&mut h.borrow_mut())) {
        Ok(r) => r,
        Err(_) => unreachable!("a thread local without a destructor is always there"),
    }
}

/// Read this thread's heap. Under the same exclusive borrow as
/// [`with_heap`]: checking for it is one compare with zero, where a shared
/// borrow's check is a range test and a count to keep; no reader reaches
/// the heap again while it reads, so sharing would buy nothing.
#[inline]
pub(crate) fn read_heap<R>(f: impl FnOnce(&Heap) -> R) -> R {
    match HEAP.try_with(|h| f(&h.borrow_mut())) {
        Ok(r) => r,
        Err(_) => unreachable!("a thread local without a destructor is always there"),
    }
}

/// Remove the owner of the context in slot `index` (a strong handle, a
/// stack entry); if it was the last, free it and drop what it shared after
/// the heap borrow has ended. (After the teardown, nothing is found: the
/// context went with the heap.)
#[inline(always)]
pub(crate) fn release_at(index: u32) {
    if with_heap(|h| h.contexts.release_keeping(index)) {
        free_at(index);
    }
}

/// [`release_at`] for the last owner: out of line, so that the usual
/// release is a few instructions inlined at each drop.
#[cold]
#[inline(never)]
fn free_at(index: u32) {
    let freed = with_heap(|h| h.contexts.free_ownerless(index));
    drop(freed);
}

/// This thread's default file-access provider ([OBS-5]), a [`LocalFileAccess`].
pub fn default_file_access() -> Option<Opaque> {
    DEFAULTS.try_with(|d| Rc::clone(&d.file_access)).ok()
}

/// This thread's default task resolver ([OBS-5], [CS-6]).
pub fn default_task_resolver() -> Option<Opaque> {
    DEFAULTS.try_with(|d| Rc::clone(&d.task_resolver)).ok()
}

/// How much of this thread's context arena is in use; for tests and
/// monitoring. (States are counted objects, freed with their last holder.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaStats {
    /// Contexts alive: on a stack or held by a strong handle.
    pub live_contexts: usize,
    /// Slots allocated, alive or free: the arena's memory, in contexts.
    pub context_slots: usize,
}

/// The arena sizes of this thread's heap ([`ArenaStats`]).
pub fn arena_stats() -> ArenaStats {
    read_heap(|h| ArenaStats {
        live_contexts: h.contexts.live(),
        context_slots: h.contexts.capacity(),
    })
}
