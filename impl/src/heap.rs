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
//! values are moved into a [`Garbage`] and dropped after the borrow ends.

use crate::arena::{Arena, Handle};
use crate::context::CtxData;
use crate::state::{CsData, EsData};
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

/// Values freed under a borrow of the heap, dropped after it.
#[derive(Default)]
#[must_use = "drop the garbage after the heap borrow ends"]
pub(crate) struct Garbage {
    _ctx: Option<CtxData>,
    _es: Option<EsData>,
    _cs: Option<CsData>,
}

impl Arenas {
    /// Release one owner of a context; if it was the last, free it and
    /// release the states it held.
    pub(crate) fn release_context(&mut self, h: Handle) -> Garbage {
        let mut g = Garbage::default();
        if let Some(ctx) = self.contexts.release(h) {
            if let Some(es) = ctx.execution_state {
                g._es = self.exec_states.release(es);
            }
            if let Some(cs) = ctx.compilation_state {
                g._cs = self.comp_states.release(cs);
            }
            g._ctx = Some(ctx);
        }
        g
    }

    pub(crate) fn release_es(&mut self, h: Handle) -> Garbage {
        Garbage {
            _es: self.exec_states.release(h),
            ..Garbage::default()
        }
    }

    pub(crate) fn release_cs(&mut self, h: Handle) -> Garbage {
        Garbage {
            _cs: self.comp_states.release(h),
            ..Garbage::default()
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
    /// The top of `heap.thread_stack`, mirrored here so that reading the
    /// current context takes no borrow ([CUR-1]).
    pub(crate) current: Cell<Option<Handle>>,
    /// [OBS-5]: this thread's default file access and task resolver. Objects
    /// are per thread, so the defaults are too.
    pub(crate) default_file_access: Opaque,
    pub(crate) default_task_resolver: Opaque,
}

thread_local! {
    pub(crate) static THREAD: ThreadState = ThreadState {
        heap: HeapRef::default(),
        current: Cell::new(None),
        default_file_access: Rc::new(crate::state::LocalFileAccess::default_sandbox()),
        default_task_resolver: Rc::new(crate::state::DefaultTaskResolver),
    };
}

/// Run `f` with this thread's state, or None while the thread is torn down.
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
