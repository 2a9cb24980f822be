//! The per-thread heap: one arena each for contexts, execution states and
//! compilation states, plus the thread's own stack.
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
//! Dropping values may run user code (an opaque value's `Drop`). It must never
//! run while the heap is borrowed, or that code could not use the heap: freed
//! values are moved into a [`Trash`] and dropped after the borrow ends.

use crate::arena::{Arena, Handle};
use crate::context::{CtxData, Slots};
use crate::state::{CsData, EsData, Nodes};
use crate::Opaque;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

#[derive(Default)]
pub(crate) struct Arenas {
    pub(crate) contexts: Arena<CtxData>,
    pub(crate) exec_states: Arena<EsData>,
    pub(crate) comp_states: Arena<CsData>,
}

#[derive(Default)]
pub(crate) struct Heap {
    pub(crate) arenas: Arenas,
    /// The stack of the thread-local facade (`flytectx::push_context`, ...).
    pub(crate) thread_stack: Vec<Handle>,
}

pub(crate) type HeapRef = Rc<RefCell<Heap>>;

/// The parts of freed values whose drop may run user code (opaque values,
/// and the slot sets and node lists holding them), kept to be dropped after
/// the heap borrow. It lives on the caller's stack, outside the borrow;
/// everything else of a freed value (numbers, strings) is dropped at once.
/// One borrow frees at most one context, one execution state and one
/// compilation state, so this is room enough.
#[derive(Default)]
pub(crate) struct Trash(Option<Freed>);

/// Kept apart from `Trash` so that an empty trash (the common case) costs
/// one check to drop.
#[derive(Default)]
struct Freed {
    slots: Option<Rc<Slots>>,
    user_space_params: Option<Opaque>,
    task_resolver: Option<Opaque>,
    nodes: Option<Nodes>,
}

/// Run `f` under one borrow of the heap; drop what it freed after the borrow.
#[inline]
pub(crate) fn release_with<R>(heap: &HeapRef, f: impl FnOnce(&mut Arenas, &mut Trash) -> R) -> R {
    let mut trash = Trash::default();
    // The borrow ends with this statement; `trash` is dropped after it.
    f(&mut heap.borrow_mut().arenas, &mut trash)
}

/// Whether dropping this reference would drop the value itself (and so
/// might run user code), rather than only a count.
fn last<T: ?Sized>(rc: &Rc<T>) -> bool {
    Rc::strong_count(rc) == 1
}

impl Trash {
    /// Nothing kept: dropping it runs nothing.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }
    fn freed(&mut self) -> &mut Freed {
        self.0.get_or_insert_with(Freed::default)
    }
    // Each `keep_*` drops at once what is shared (a count goes down, nothing
    // else can happen) and keeps only last references for later.
    fn keep_es(&mut self, es: EsData) {
        if let Some(usp) = es.user_space_params.filter(last) {
            let f = self.freed();
            debug_assert!(f.user_space_params.is_none());
            f.user_space_params = Some(usp);
        }
    }
    fn keep_cs(&mut self, cs: CsData) {
        if let Some(r) = cs.task_resolver.filter(last) {
            let f = self.freed();
            debug_assert!(f.task_resolver.is_none());
            f.task_resolver = Some(r);
        }
        if cs.nodes.is_last() {
            let f = self.freed();
            debug_assert!(f.nodes.is_none());
            f.nodes = Some(cs.nodes);
        }
    }
    fn keep_slots(&mut self, slots: Rc<Slots>) {
        if last(&slots) {
            let f = self.freed();
            debug_assert!(f.slots.is_none());
            f.slots = Some(slots);
        }
    }
}

impl Arenas {
    /// Release one owner of a context; if it was the last, free it and
    /// release the states it held.
    #[inline]
    pub(crate) fn release_context(&mut self, h: Handle, trash: &mut Trash) {
        if let Some(ctx) = self.contexts.release(h) {
            self.free_context(ctx, trash);
        }
    }

    /// Free a context whose last owner is gone: release the states it held.
    #[cold]
    pub(crate) fn free_context(&mut self, ctx: CtxData, trash: &mut Trash) {
        if let Some(es) = ctx.execution_state {
            self.release_es(es, trash);
        }
        if let Some(cs) = ctx.compilation_state {
            self.release_cs(cs, trash);
        }
        trash.keep_slots(ctx.slots);
    }

    pub(crate) fn release_es(&mut self, h: Handle, trash: &mut Trash) {
        if let Some(es) = self.exec_states.release(h) {
            trash.keep_es(es);
        }
    }

    pub(crate) fn release_cs(&mut self, h: Handle, trash: &mut Trash) {
        if let Some(cs) = self.comp_states.release(h) {
            trash.keep_cs(cs);
        }
    }

    /// Add an owner to each state a context or builder holds.
    pub(crate) fn retain_states(&mut self, es: Option<Handle>, cs: Option<Handle>) {
        if let Some(es) = es {
            let alive = self.exec_states.retain(es);
            debug_assert!(alive, "a held state is alive");
        }
        if let Some(cs) = cs {
            let alive = self.comp_states.retain(cs);
            debug_assert!(alive, "a held state is alive");
        }
    }
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
    /// and no borrow ([CUR-1]). `None` also while the stack is empty.
    pub(crate) static CURRENT: Cell<Option<Handle>> = const { Cell::new(None) };

    pub(crate) static THREAD: ThreadState = ThreadState {
        heap: HeapRef::default(),
        default_file_access: Rc::new(crate::state::LocalFileAccess::default_sandbox()),
        default_task_resolver: Rc::new(crate::state::DefaultTaskResolver),
    };
}

/// Run `f` with this thread's state, or None while the thread is torn down.
#[inline]
pub(crate) fn with_thread<R>(f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    THREAD.try_with(f).ok()
}

/// This thread's heap, or None while the thread is torn down.
pub(crate) fn thread_heap() -> Option<HeapRef> {
    with_thread(|t| Rc::clone(&t.heap))
}

/// How much of the arenas is in use; for tests and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaStats {
    pub live_contexts: usize,
    pub context_slots: usize,
    pub live_execution_states: usize,
    pub execution_state_slots: usize,
    pub live_compilation_states: usize,
    pub compilation_state_slots: usize,
}

/// The arena sizes of this thread's heap ([`ArenaStats`]).
pub fn arena_stats() -> ArenaStats {
    with_thread(|t| {
        let h = t.heap.borrow();
        let a = &h.arenas;
        ArenaStats {
            live_contexts: a.contexts.live(),
            context_slots: a.contexts.capacity(),
            live_execution_states: a.exec_states.live(),
            execution_state_slots: a.exec_states.capacity(),
            live_compilation_states: a.comp_states.live(),
            compilation_state_slots: a.comp_states.capacity(),
        }
    })
    .unwrap_or_default()
}
