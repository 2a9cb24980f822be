//! The per-thread heap: the arena of contexts, the thread's own stack, and
//! the thread locals that reach them.
//!
//! Why per thread: contexts are not thread-safe in flytekit and need not be
//! here; keeping everything of a thread in one place makes every operation a
//! few plain loads and stores, with no atomics and no locks ([THR-3], [THR-4]).
//! Every handle type is `!Send`, so the compiler keeps objects in their thread.
//!
//! Why `Rc<RefCell<Heap>>`: strong handles keep the heap itself alive, so a
//! strong handle is usable even while the thread's locals are being torn down;
//! weak [`crate::ContextRef`]s reach the heap through the thread local.
//!
//! Dropping a context may run user code (an opaque value's `Drop`, through
//! the parts it shares). It must never run while the heap is borrowed, or that
//! code could not use the stack: whoever takes a freed context out of the
//! arena drops it after the borrow ends ([`release_at`]).

use crate::arena::{Arena, CtxHandle};
use crate::data::{DefaultTaskResolver, LocalFileAccess, Opaque};
use std::cell::{Cell, RefCell};
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

pub(crate) type HeapRef = Rc<RefCell<Heap>>;

impl Heap {
    fn new() -> Heap {
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

/// Remove the owner of the context in slot `index` (a strong handle, a
/// stack entry); if it was the last, drop what the context shared after the
/// heap borrow has ended.
#[inline]
pub(crate) fn release_at(heap: &HeapRef, index: u32) {
    let freed = heap.borrow_mut().contexts.release_at(index);
    drop(freed);
}

/// Everything of one thread.
pub(crate) struct ThreadState {
    pub(crate) heap: HeapRef,
    /// [OBS-5]: this thread's default file access and task resolver. Objects
    /// are per thread, so the defaults are too.
    pub(crate) default_file_access: Opaque,
    pub(crate) default_task_resolver: Opaque,
}

thread_local! {
    /// The top of the thread stack (`heap.thread_stack`), mirrored in a
    /// thread local of its own: constant-initialized and without a
    /// destructor, reading it is one load, with no lazy-initialization check
    /// and no borrow ([CUR-1]). `None` also while the stack is empty. It
    /// outlives the stack at thread exit; a handle read from it then names
    /// nothing reachable, and using it fails with `Error::ThreadExiting`.
    pub(crate) static CURRENT: Cell<Option<CtxHandle>> = const { Cell::new(None) };

    static THREAD: ThreadState = ThreadState {
        heap: Rc::new(RefCell::new(Heap::new())),
        default_file_access: Rc::new(LocalFileAccess::default_sandbox()),
        default_task_resolver: Rc::new(DefaultTaskResolver),
    };
}

/// Run `f` with this thread's state, or None while the thread is torn down.
#[inline]
pub(crate) fn with_thread<R>(f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    THREAD.try_with(f).ok()
}

/// This thread's heap, or None while the thread is torn down.
#[inline]
pub(crate) fn thread_heap() -> Option<HeapRef> {
    with_thread(|t| Rc::clone(&t.heap))
}

/// This thread's default file-access provider ([OBS-5]), a [`LocalFileAccess`].
pub fn default_file_access() -> Option<Opaque> {
    with_thread(|t| Rc::clone(&t.default_file_access))
}

/// This thread's default task resolver ([OBS-5], [CS-6]).
pub fn default_task_resolver() -> Option<Opaque> {
    with_thread(|t| Rc::clone(&t.default_task_resolver))
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
    with_thread(|t| {
        let h = t.heap.borrow();
        ArenaStats {
            live_contexts: h.contexts.live(),
            context_slots: h.contexts.capacity(),
        }
    })
    .unwrap_or_default()
}
