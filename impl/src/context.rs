//! Contexts ([CTX-1]..[CTX-4]) and their builder ([BLD-1]..[BLD-5],
//! [COND-1]..[COND-7]).
//!
//! Two handle types name a context: [`ContextRef`], a copyable weak handle
//! that reads the current context without touching any count, and
//! [`Context`], a strong handle that keeps it alive. A context lives while it
//! is on a stack or a strong handle holds it; after that, its `ContextRef`s
//! are stale and every use of them says so ([`Error::Stale`]).

use crate::arena::Handle;
use crate::error::Error;
use crate::heap::{release_with, thread_heap, with_thread, HeapRef};
use crate::state::{
    BranchEvalMode, CompilationState, CsData, EsData, ExecutionState, LocalFileAccess, Nodes,
    Strong,
};
use crate::Opaque;
use std::marker::PhantomData;
use std::panic::Location;
use std::rc::Rc;

/// The five fields flytekit only carries along ([CTX-1]); shared between
/// contexts and builders until one of them is changed.
#[derive(Clone, Default)]
pub struct Slots {
    pub file_access: Option<Opaque>,
    pub flyte_client: Option<Opaque>,
    pub serialization_settings: Option<Opaque>,
    pub output_metadata_tracker: Option<Opaque>,
    pub worker_queue: Option<Opaque>,
}

pub(crate) struct CtxData {
    pub(crate) level: i64,
    pub(crate) in_a_condition: bool,
    pub(crate) execution_state: Option<Handle>,
    pub(crate) compilation_state: Option<Handle>,
    pub(crate) slots: Rc<Slots>,
    /// [ORIG-1]: set by each push; the only field that changes.
    pub(crate) origin: Option<&'static Location<'static>>,
}

/// A weak, copyable handle to a context of this thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContextRef {
    pub(crate) h: Handle,
    pub(crate) _not_send: PhantomData<*const ()>,
}

/// A strong handle to a context: it stays alive while this exists.
pub struct Context {
    pub(crate) heap: HeapRef,
    pub(crate) h: Handle,
    pub(crate) _not_send: PhantomData<*const ()>,
}

/// A snapshot of a context's fields, holding its states and values.
#[derive(Clone, Debug)]
pub struct ContextFields {
    pub level: i64,
    pub in_a_condition: bool,
    pub execution_state: Option<ExecutionState>,
    pub compilation_state: Option<CompilationState>,
    pub slots: Slots,
    pub origin: Option<&'static Location<'static>>,
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<Opaque>| o.is_some();
        f.debug_struct("Slots")
            .field("file_access", &set(&self.file_access))
            .field("flyte_client", &set(&self.flyte_client))
            .field("serialization_settings", &set(&self.serialization_settings))
            .field(
                "output_metadata_tracker",
                &set(&self.output_metadata_tracker),
            )
            .field("worker_queue", &set(&self.worker_queue))
            .finish()
    }
}

pub(crate) fn fields_of(heap: &HeapRef, h: Handle) -> Option<ContextFields> {
    let (level, in_a_condition, es, cs, slots, origin) = {
        let b = heap.borrow();
        let d = b.arenas.contexts.get(h)?;
        (
            d.level,
            d.in_a_condition,
            d.execution_state,
            d.compilation_state,
            (*d.slots).clone(),
            d.origin,
        )
    };
    Some(ContextFields {
        level,
        in_a_condition,
        execution_state: es.map(|e| ExecutionState(Strong::retained(heap, e))),
        compilation_state: cs.map(|s| CompilationState(Strong::retained(heap, s))),
        slots,
        origin,
    })
}

/// [BLD-1]: a builder with the context's level, flag, states and values.
pub(crate) fn builder_of(heap: &HeapRef, h: Handle) -> Option<Builder> {
    let mut b = heap.borrow_mut();
    let d = b.arenas.contexts.get(h)?;
    let (level, in_a_condition, es, cs, slots) = (
        d.level,
        d.in_a_condition,
        d.execution_state,
        d.compilation_state,
        Rc::clone(&d.slots),
    );
    b.arenas.retain_states(es, cs);
    Some(Builder {
        heap: Rc::clone(heap),
        level,
        in_a_condition,
        execution_state: es,
        compilation_state: cs,
        slots,
    })
}

fn read<R>(heap: &HeapRef, h: Handle, f: impl FnOnce(&CtxData) -> R) -> Option<R> {
    heap.borrow().arenas.contexts.get(h).map(f)
}

impl ContextRef {
    fn heap(self) -> Result<HeapRef, Error> {
        thread_heap().ok_or(Error::ThreadExiting)
    }

    fn with<R>(self, f: impl FnOnce(&CtxData) -> R) -> Result<R, Error> {
        with_thread(|t| read(&t.heap, self.h, f).ok_or(Error::Stale))
            .unwrap_or(Err(Error::ThreadExiting))
    }

    /// Whether the context is still alive.
    pub fn is_alive(self) -> bool {
        self.with(|_| ()).is_ok()
    }
    pub fn level(self) -> Result<i64, Error> {
        self.with(|d| d.level)
    }
    pub fn in_a_condition(self) -> Result<bool, Error> {
        self.with(|d| d.in_a_condition)
    }
    /// [ORIG-1]: where the context was last pushed from.
    pub fn origin(self) -> Result<Option<&'static Location<'static>>, Error> {
        self.with(|d| d.origin)
    }
    pub fn fields(self) -> Result<ContextFields, Error> {
        fields_of(&self.heap()?, self.h).ok_or(Error::Stale)
    }
    /// A strong handle to the same context.
    pub fn upgrade(self) -> Result<Context, Error> {
        let heap = self.heap()?;
        if !heap.borrow_mut().arenas.contexts.retain(self.h) {
            return Err(Error::Stale);
        }
        Ok(Context {
            heap,
            h: self.h,
            _not_send: PhantomData,
        })
    }
    /// [BLD-1]
    pub fn new_builder(self) -> Result<Builder, Error> {
        builder_of(&self.heap()?, self.h).ok_or(Error::Stale)
    }
    /// A number that identifies this context among the live objects of its thread.
    pub fn id(self) -> u64 {
        self.h.raw()
    }
}

impl Context {
    /// [CTX-2]: `FlyteContext(file_access=f)`: level 0, nothing else set.
    pub fn new(file_access: Option<Opaque>) -> Result<Context, Error> {
        let heap = thread_heap().ok_or(Error::ThreadExiting)?;
        let data = CtxData {
            level: 0,
            in_a_condition: false,
            execution_state: None,
            compilation_state: None,
            slots: Rc::new(Slots {
                file_access,
                ..Slots::default()
            }),
            origin: None,
        };
        let h = heap.borrow_mut().arenas.contexts.insert(data);
        Ok(Context {
            heap,
            h,
            _not_send: PhantomData,
        })
    }

    /// The weak handle of this context.
    pub fn as_ref(&self) -> ContextRef {
        ContextRef {
            h: self.h,
            _not_send: PhantomData,
        }
    }

    fn read<R>(&self, f: impl FnOnce(&CtxData) -> R) -> R {
        read(&self.heap, self.h, f).expect("a strong handle keeps its context alive")
    }

    pub fn level(&self) -> i64 {
        self.read(|d| d.level)
    }
    pub fn in_a_condition(&self) -> bool {
        self.read(|d| d.in_a_condition)
    }
    pub fn origin(&self) -> Option<&'static Location<'static>> {
        self.read(|d| d.origin)
    }
    pub fn fields(&self) -> ContextFields {
        fields_of(&self.heap, self.h).expect("a strong handle keeps its context alive")
    }
    /// [BLD-1]
    pub fn new_builder(&self) -> Builder {
        builder_of(&self.heap, self.h).expect("a strong handle keeps its context alive")
    }
    pub fn execution_state(&self) -> Option<ExecutionState> {
        self.fields().execution_state
    }
    pub fn compilation_state(&self) -> Option<CompilationState> {
        self.fields().compilation_state
    }
    /// [CTX-3]
    pub fn user_space_params(&self) -> Option<Opaque> {
        self.execution_state().and_then(|es| es.user_space_params())
    }
    /// [COND-1]..[COND-7]: `ctx.enter_conditional_section()`.
    pub fn enter_conditional_section(&self) -> Builder {
        self.new_builder().enter_conditional_section()
    }
    /// [ES-8]: a new execution state in `working_dir`, or when that is empty
    /// the sandbox of this context's file access; with this context's
    /// user-space parameters.
    pub fn new_execution_state(&self, working_dir: Option<&str>) -> Result<ExecutionState, Error> {
        let f = self.fields();
        let user_space_params = f.execution_state.and_then(|es| es.user_space_params());
        let dir: String = match working_dir {
            Some(w) if !w.is_empty() => w.to_string(),
            _ => match f
                .slots
                .file_access
                .as_ref()
                .and_then(|fa| fa.downcast_ref::<LocalFileAccess>())
            {
                Some(local) => local.local_sandbox_dir.to_string_lossy().into_owned(),
                None => return Err(Error::NoSandboxDir),
            },
        };
        let data = EsData {
            mode: None,
            engine_dir: Rc::from(format!("{dir}/engine_dir")),
            working_dir: Rc::from(dir),
            branch_eval_mode: None,
            user_space_params,
        };
        Ok(ExecutionState(Strong::insert(Rc::clone(&self.heap), data)))
    }
    /// [CS-6]: a new compilation state with the default task resolver.
    pub fn new_compilation_state(&self, prefix: &str) -> CompilationState {
        let resolver = with_thread(|t| Rc::clone(&t.default_task_resolver));
        let data = CsData {
            prefix: Rc::from(prefix),
            mode: 1,
            task_resolver: resolver,
            nodes: Nodes::default(),
        };
        CompilationState(Strong::insert(Rc::clone(&self.heap), data))
    }
    /// [BLD-5] (quirk): unlike the builder's method of the same name, this one
    /// goes through [`Context::new_compilation_state`] and so has a resolver.
    pub fn with_new_compilation_state(&self) -> Builder {
        let cs = self.new_compilation_state("");
        self.new_builder().with_compilation_state(Some(&cs))
    }
    pub fn id(&self) -> u64 {
        self.h.raw()
    }
}

impl Clone for Context {
    fn clone(&self) -> Self {
        let alive = self.heap.borrow_mut().arenas.contexts.retain(self.h);
        debug_assert!(alive, "a strong handle keeps its context alive");
        Context {
            heap: Rc::clone(&self.heap),
            h: self.h,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Context {
    #[inline]
    fn drop(&mut self) {
        // The common case frees nothing: one count goes down. Freeing goes
        // through the trash, so that no user code runs under the borrow.
        let freed = self.heap.borrow_mut().arenas.contexts.release(self.h);
        if let Some(ctx) = freed {
            release_with(&self.heap, |a, trash| a.free_context(ctx, trash));
        }
    }
}

impl PartialEq for Context {
    fn eq(&self, other: &Self) -> bool {
        self.h == other.h && Rc::ptr_eq(&self.heap, &other.heap)
    }
}
impl Eq for Context {}

impl PartialEq<ContextRef> for Context {
    fn eq(&self, other: &ContextRef) -> bool {
        self.h == other.h
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.read(|d| {
            f.debug_struct("Context")
                .field("id", &self.h.raw())
                .field("level", &d.level)
                .field("in_a_condition", &d.in_a_condition)
                .finish_non_exhaustive()
        })
    }
}

/// `FlyteContext.Builder`: the fields of a context to be, changed by its
/// methods, made into a new context by [`Builder::build`]. It owns the states
/// it holds.
pub struct Builder {
    pub(crate) heap: HeapRef,
    pub(crate) level: i64,
    pub(crate) in_a_condition: bool,
    pub(crate) execution_state: Option<Handle>,
    pub(crate) compilation_state: Option<Handle>,
    pub(crate) slots: Rc<Slots>,
}

impl Builder {
    /// `FlyteContext.Builder(file_access=f)`: level 0, nothing else set.
    pub fn new(file_access: Option<Opaque>) -> Result<Builder, Error> {
        let heap = thread_heap().ok_or(Error::ThreadExiting)?;
        Ok(Builder {
            heap,
            level: 0,
            in_a_condition: false,
            execution_state: None,
            compilation_state: None,
            slots: Rc::new(Slots {
                file_access,
                ..Slots::default()
            }),
        })
    }

    pub fn level(&self) -> i64 {
        self.level
    }
    pub fn in_a_condition(&self) -> bool {
        self.in_a_condition
    }
    pub fn execution_state(&self) -> Option<ExecutionState> {
        self.execution_state
            .map(|h| ExecutionState(Strong::retained(&self.heap, h)))
    }
    pub fn compilation_state(&self) -> Option<CompilationState> {
        self.compilation_state
            .map(|h| CompilationState(Strong::retained(&self.heap, h)))
    }

    /// [BLD-3]
    pub fn with_execution_state(mut self, es: Option<&ExecutionState>) -> Builder {
        let new = es.map(|es| es.0.h);
        self.heap.borrow_mut().arenas.retain_states(new, None);
        if let Some(old) = std::mem::replace(&mut self.execution_state, new) {
            release_with(&self.heap, |a, trash| a.release_es(old, trash));
        }
        self
    }

    /// [BLD-3]
    pub fn with_compilation_state(mut self, cs: Option<&CompilationState>) -> Builder {
        let new = cs.map(|cs| cs.0.h);
        self.heap.borrow_mut().arenas.retain_states(None, new);
        if let Some(old) = std::mem::replace(&mut self.compilation_state, new) {
            release_with(&self.heap, |a, trash| a.release_cs(old, trash));
        }
        self
    }

    /// [BLD-4]: prefix `""`, mode 1, no task resolver.
    pub fn with_new_compilation_state(self) -> Builder {
        let cs = CompilationState(Strong::insert(
            Rc::clone(&self.heap),
            CsData {
                prefix: Rc::from(""),
                mode: 1,
                task_resolver: None,
                nodes: Nodes::default(),
            },
        ));
        self.with_compilation_state(Some(&cs))
    }

    /// [BLD-3]: each replaces one opaque field, by identity.
    pub fn with_file_access(mut self, v: Option<Opaque>) -> Builder {
        Rc::make_mut(&mut self.slots).file_access = v;
        self
    }
    pub fn with_client(mut self, v: Option<Opaque>) -> Builder {
        Rc::make_mut(&mut self.slots).flyte_client = v;
        self
    }
    pub fn with_serialization_settings(mut self, v: Option<Opaque>) -> Builder {
        Rc::make_mut(&mut self.slots).serialization_settings = v;
        self
    }
    pub fn with_output_metadata_tracker(mut self, v: Option<Opaque>) -> Builder {
        Rc::make_mut(&mut self.slots).output_metadata_tracker = v;
        self
    }
    pub fn with_worker_queue(mut self, v: Option<Opaque>) -> Builder {
        Rc::make_mut(&mut self.slots).worker_queue = v;
        self
    }

    /// [COND-1]..[COND-7]
    pub fn enter_conditional_section(mut self) -> Builder {
        if let Some(cs) = self.compilation_state() {
            // [COND-1]: same prefix, mode and resolver; a fresh node list.
            let fresh = cs.with_params(Some(&cs.prefix()), None, None, None);
            self = self.with_compilation_state(Some(&fresh));
        }
        if let Some(es) = self.execution_state() {
            // [COND-2]; [COND-6]: non-local states are kept.
            if es.is_local_execution() {
                if !self.in_a_condition {
                    // [COND-3]
                    let skipped =
                        es.with_params(None, None, None, Some(BranchEvalMode::BranchSkipped), None);
                    self = self.with_execution_state(Some(&skipped));
                } else if es.branch_eval_mode() == Some(BranchEvalMode::BranchSkipped) {
                    // [COND-4]
                    let copy = es.with_params(None, None, None, None, None);
                    self = self.with_execution_state(Some(&copy));
                }
                // [COND-5] (quirk): otherwise the same object stays.
            }
        }
        // [COND-7]
        self.in_a_condition = true;
        self
    }

    /// Take the fields out for a new context; the builder is left owning nothing.
    pub(crate) fn into_data(mut self) -> (HeapRef, CtxData) {
        let data = CtxData {
            // [BLD-2]: one level up.
            level: self.level + 1,
            in_a_condition: self.in_a_condition,
            execution_state: self.execution_state.take(),
            compilation_state: self.compilation_state.take(),
            slots: Rc::clone(&self.slots),
            origin: None,
        };
        (Rc::clone(&self.heap), data)
    }

    /// [BLD-2]: a new context, one level above the builder.
    pub fn build(self) -> Context {
        let (heap, data) = self.into_data();
        let h = heap.borrow_mut().arenas.contexts.insert(data);
        Context {
            heap,
            h,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        let (es, cs) = (self.execution_state.take(), self.compilation_state.take());
        if es.is_some() || cs.is_some() {
            release_with(&self.heap, |a, trash| {
                if let Some(h) = es {
                    a.release_es(h, trash);
                }
                if let Some(h) = cs {
                    a.release_cs(h, trash);
                }
            });
        }
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("level", &self.level)
            .field("in_a_condition", &self.in_a_condition)
            .finish_non_exhaustive()
    }
}
