//! Contexts ([CTX-1]..[CTX-4]) and their builder ([BLD-1]..[BLD-5],
//! [COND-1]..[COND-7]).
//!
//! Two handle types name a context: [`ContextRef`], a copyable weak handle
//! that reads the current context without touching any count, and
//! [`Context`], a strong handle that keeps it alive (and derefs to its
//! `ContextRef`, where every method of a context is). A context lives while
//! it is on a stack or a strong handle holds it; after that, its
//! `ContextRef`s are stale and every use of them says so ([`Error::Stale`]).
//!
//! A [`Builder`] is plain data: the level and flag of the context it came
//! from and a counted reference to the parts that context shares
//! ([`crate::data`]); it touches no arena until it is built or entered.

use crate::arena::{CtxHandle, CtxSlot, Handle, NewContext};
use crate::data::{BranchEvalMode, EsData, Flag, LocalFileAccess, Opaque, Shared, Slots};
use crate::error::Error;
use crate::heap;
use crate::state::{CompilationState, ExecutionState};
use std::cell::Cell;
use std::marker::PhantomData;
use std::panic::Location;
use std::rc::Rc;

/// A weak, copyable handle to a context of this thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContextRef {
    pub(crate) h: CtxHandle,
    _not_send: PhantomData<*const ()>,
}

/// A snapshot of a context's fields, holding its states and values.
#[derive(Clone, Debug)]
pub struct ContextFields {
    /// How deep the context was built ([BLD-2]).
    pub level: i64,
    /// Whether it was built in a conditional section ([COND-7]).
    pub in_a_condition: bool,
    /// Its execution state.
    pub execution_state: Option<ExecutionState>,
    /// Its compilation state.
    pub compilation_state: Option<CompilationState>,
    /// Its five opaque values ([CTX-1]).
    pub slots: Slots,
    /// Where it was last pushed from ([ORIG-1]).
    pub origin: Option<&'static Location<'static>>,
}

/// The parts a live context shares (only a vacant slot has none, and no
/// handle reaches a vacant slot).
fn shared_of(d: &CtxSlot) -> Option<&Shared> {
    d.shared.as_deref()
}

fn fields_of(d: &CtxSlot) -> ContextFields {
    let shared = shared_of(d);
    ContextFields {
        level: d.level,
        in_a_condition: d.in_a_condition.get(),
        execution_state: shared
            .and_then(|s| s.execution_state.clone())
            .map(ExecutionState),
        compilation_state: shared
            .and_then(|s| s.compilation_state.clone())
            .map(CompilationState),
        slots: shared.map(|s| s.slots.clone()).unwrap_or_default(),
        origin: d.origin,
    }
}

/// [ES-8], [BLD-6]: the local sandbox directory of a file access, which
/// only a [`LocalFileAccess`] has.
fn sandbox_of(file_access: Option<&Opaque>) -> Result<String, Error> {
    file_access
        .and_then(|fa| fa.downcast_ref::<LocalFileAccess>())
        .map(|local| local.local_sandbox_dir.to_string_lossy().into_owned())
        .ok_or(Error::NoSandboxDir)
}

/// [BLD-6]: a directory name no earlier call of this process gave: a
/// randomly keyed hash (std's per-process random keys) of a counter, and the
/// counter itself, which makes it unique.
fn random_dir_name() -> String {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let hash = KEYS.get_or_init(Default::default).hash_one(n);
    format!("tmp{hash:016x}{n:x}")
}

/// [BLD-1]: a builder with the context's level, flag, states and values.
/// None only for a vacant slot, which no handle reaches.
#[inline]
fn builder_of(d: &CtxSlot) -> Option<Builder> {
    Some(Builder {
        shared: Rc::clone(d.shared.as_ref()?),
        level: d.level,
        in_a_condition: d.in_a_condition,
    })
}

impl ContextRef {
    #[inline]
    pub(crate) fn new(h: CtxHandle) -> ContextRef {
        ContextRef {
            h,
            _not_send: PhantomData,
        }
    }

    /// A handle that names nothing: what the facade returns while the
    /// thread is being torn down. Every use of it fails with an error.
    pub(crate) fn dangling() -> ContextRef {
        ContextRef::new(Handle::new(u32::MAX, u32::MAX))
    }

    /// Run `f` on the context's slot, reading the heap.
    /// `f` must not drop user values (cloning them is fine).
    #[inline]
    fn with<R>(self, f: impl FnOnce(&CtxSlot) -> R) -> Result<R, Error> {
        heap::read_heap(|h| {
            let arena = &h.contexts;
            arena.get(self.h).map(f).ok_or_else(|| arena.missing())
        })
    }

    /// Whether the context is still alive.
    pub fn is_alive(self) -> bool {
        self.with(|_| ()).is_ok()
    }
    /// How deep the context was built ([BLD-2]).
    pub fn level(self) -> Result<i64, Error> {
        self.with(|d| d.level)
    }
    /// Whether it was built in a conditional section ([COND-7]).
    pub fn in_a_condition(self) -> Result<bool, Error> {
        self.with(|d| d.in_a_condition.get())
    }
    /// [ORIG-1]: where the context was last pushed from.
    pub fn origin(self) -> Result<Option<&'static Location<'static>>, Error> {
        self.with(|d| d.origin)
    }
    /// A snapshot of the context's fields.
    pub fn fields(self) -> Result<ContextFields, Error> {
        self.with(fields_of)
    }
    /// The context's execution state.
    pub fn execution_state(self) -> Result<Option<ExecutionState>, Error> {
        self.with(|d| shared_of(d).and_then(|s| s.execution_state.clone()))
            .map(|es| es.map(ExecutionState))
    }
    /// The context's compilation state.
    pub fn compilation_state(self) -> Result<Option<CompilationState>, Error> {
        self.with(|d| shared_of(d).and_then(|s| s.compilation_state.clone()))
            .map(|cs| cs.map(CompilationState))
    }
    /// [CTX-3]: the user-space parameters of the context's execution state.
    pub fn user_space_params(self) -> Result<Option<Opaque>, Error> {
        Ok(self
            .execution_state()?
            .and_then(|es| es.user_space_params()))
    }
    /// A strong handle to the same context.
    pub fn upgrade(self) -> Result<Context, Error> {
        heap::with_heap(|h| match h.contexts.retain(self.h) {
            Some(_) => Ok(Context::owning(self.h)),
            None => Err(h.contexts.missing()),
        })
    }
    /// [BLD-1]
    #[inline]
    pub fn new_builder(self) -> Result<Builder, Error> {
        self.with(builder_of)?.ok_or(Error::Stale)
    }
    /// [COND-1]..[COND-7]: `ctx.enter_conditional_section()`.
    pub fn enter_conditional_section(self) -> Result<Builder, Error> {
        Ok(self.new_builder()?.enter_conditional_section())
    }
    /// [ES-8]: a new execution state in `working_dir`, or when that is empty
    /// the sandbox of this context's file access; with this context's
    /// user-space parameters.
    pub fn new_execution_state(self, working_dir: Option<&str>) -> Result<ExecutionState, Error> {
        let f = self.fields()?;
        let user_space_params = f.execution_state.and_then(|es| es.user_space_params());
        let dir: String = match working_dir {
            Some(w) if !w.is_empty() => w.to_string(),
            _ => sandbox_of(f.slots.file_access.as_ref())?,
        };
        Ok(ExecutionState::from_data(EsData {
            mode: None,
            engine_dir: Rc::from(format!("{dir}/engine_dir")),
            working_dir: Rc::from(dir),
            branch_eval_mode: Cell::new(None),
            user_space_params,
        }))
    }
    /// [CS-6]: a new compilation state with the default task resolver. (It
    /// reads nothing of the context, as in flytekit.)
    pub fn new_compilation_state(self, prefix: &str) -> CompilationState {
        CompilationState::new(prefix, 1, heap::default_task_resolver())
    }
    /// [BLD-5] (quirk): unlike the builder's method of the same name, this one
    /// goes through [`ContextRef::new_compilation_state`] and so has a resolver.
    pub fn with_new_compilation_state(self) -> Result<Builder, Error> {
        let cs = self.new_compilation_state("");
        Ok(self.new_builder()?.with_compilation_state(Some(&cs)))
    }
    /// A number that identifies this context among the live objects of its thread.
    pub fn id(self) -> u64 {
        self.h.raw()
    }
}

/// A strong handle to a context: it stays alive while this exists. It is
/// the [`ContextRef`] it derefs to, which also owns the context; every
/// method of a context is there.
pub struct Context {
    r: ContextRef,
}

impl Context {
    /// A strong handle for an owner count the caller hands over.
    #[inline]
    pub(crate) fn owning(h: CtxHandle) -> Context {
        Context {
            r: ContextRef::new(h),
        }
    }

    /// [CTX-2]: `FlyteContext(file_access=f)`: level 0, nothing else set.
    pub fn new(file_access: Option<Opaque>) -> Result<Context, Error> {
        let new = NewContext {
            level: 0,
            ..Builder::new(file_access).into_new(None)
        };
        let h = heap::insert_context(new).ok_or(Error::ThreadExiting)?;
        Ok(Context::owning(h))
    }

    /// The weak handle of this context.
    pub fn weak(&self) -> ContextRef {
        self.r
    }
}

impl std::ops::Deref for Context {
    type Target = ContextRef;
    fn deref(&self) -> &ContextRef {
        &self.r
    }
}

impl Clone for Context {
    fn clone(&self) -> Self {
        // A strong handle keeps its context alive: it can only fail while
        // the thread is torn down, when the context is gone anyway.
        heap::with_heap(|h| h.contexts.retain(self.r.h).is_some());
        Context::owning(self.r.h)
    }
}

impl Drop for Context {
    #[inline(always)]
    fn drop(&mut self) {
        heap::release_at(self.r.h.index());
    }
}

impl PartialEq for Context {
    fn eq(&self, other: &Self) -> bool {
        self.r == other.r
    }
}
impl Eq for Context {}

impl PartialEq<ContextRef> for Context {
    fn eq(&self, other: &ContextRef) -> bool {
        self.r == *other
    }
}

impl From<&Context> for ContextRef {
    fn from(c: &Context) -> ContextRef {
        c.r
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.r.id())
            .field("level", &self.r.level().ok())
            .finish_non_exhaustive()
    }
}

/// `FlyteContext.Builder`: the fields of a context to be, changed by its
/// methods, made into a new context by [`Builder::build`] (or entered as a
/// scope). It holds its states and values, shared with the context it came
/// from until a method changes them.
pub struct Builder {
    shared: Rc<Shared>,
    /// The level of the context it came from; the built one is one above.
    level: i64,
    in_a_condition: Flag,
}

impl Builder {
    /// `FlyteContext.Builder(file_access=f)`: level 0, nothing else set.
    pub fn new(file_access: Option<Opaque>) -> Builder {
        Builder {
            shared: Rc::new(Shared {
                slots: Slots {
                    file_access,
                    ..Slots::default()
                },
                ..Shared::default()
            }),
            level: 0,
            in_a_condition: Flag::new(false),
        }
    }

    /// The level of the context the builder came from ([BLD-1]).
    pub fn level(&self) -> i64 {
        self.level
    }
    /// Whether the built context will be in a conditional section ([COND-7]).
    pub fn in_a_condition(&self) -> bool {
        self.in_a_condition.get()
    }
    /// The execution state the built context will have.
    pub fn execution_state(&self) -> Option<ExecutionState> {
        self.shared.execution_state.clone().map(ExecutionState)
    }
    /// The compilation state the built context will have.
    pub fn compilation_state(&self) -> Option<CompilationState> {
        self.shared.compilation_state.clone().map(CompilationState)
    }

    /// The shared parts, copied first if anything else holds them.
    fn own(&mut self) -> &mut Shared {
        Rc::make_mut(&mut self.shared)
    }

    /// [BLD-3]
    pub fn with_execution_state(mut self, es: Option<&ExecutionState>) -> Builder {
        self.own().execution_state = es.map(|es| Rc::clone(&es.0));
        self
    }

    /// [BLD-3]
    pub fn with_compilation_state(mut self, cs: Option<&CompilationState>) -> Builder {
        self.own().compilation_state = cs.map(|cs| Rc::clone(&cs.0));
        self
    }

    /// [BLD-4]: [`Builder::new_compilation_state`] with prefix `""`, set on
    /// the builder.
    pub fn with_new_compilation_state(self) -> Builder {
        let cs = self.new_compilation_state("");
        self.with_compilation_state(Some(&cs))
    }

    /// [BLD-3]: replaces the file access, by identity.
    pub fn with_file_access(mut self, v: Option<Opaque>) -> Builder {
        self.own().slots.file_access = v;
        self
    }
    /// [BLD-3]: replaces the client, by identity.
    pub fn with_client(mut self, v: Option<Opaque>) -> Builder {
        self.own().slots.flyte_client = v;
        self
    }
    /// [BLD-3]: replaces the serialization settings, by identity.
    pub fn with_serialization_settings(mut self, v: Option<Opaque>) -> Builder {
        self.own().slots.serialization_settings = v;
        self
    }
    /// [BLD-3]: replaces the output metadata tracker, by identity.
    pub fn with_output_metadata_tracker(mut self, v: Option<Opaque>) -> Builder {
        self.own().slots.output_metadata_tracker = v;
        self
    }
    /// [BLD-3]: replaces the worker queue, by identity.
    pub fn with_worker_queue(mut self, v: Option<Opaque>) -> Builder {
        self.own().slots.worker_queue = v;
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
                if !self.in_a_condition.get() {
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
        self.in_a_condition = Flag::new(true);
        self
    }

    /// [BLD-6]: a new execution state, the builder left as it was: in
    /// `working_dir` when that is not empty, otherwise in a new directory
    /// with a random name (a different one each call) in the local sandbox
    /// of the builder's file access; mode, branch mode and user-space
    /// parameters none. (Isolated: the directory is a name; nothing is
    /// created, [ES-2].) Fails with [`Error::NoSandboxDir`] when the random
    /// directory is needed and the file access is not a [`LocalFileAccess`].
    pub fn new_execution_state(&self, working_dir: Option<&str>) -> Result<ExecutionState, Error> {
        let dir = match working_dir {
            Some(w) if !w.is_empty() => w.to_string(),
            _ => {
                let sandbox = sandbox_of(self.shared.slots.file_access.as_ref())?;
                format!("{sandbox}/{}", random_dir_name())
            }
        };
        ExecutionState::new(&dir, None, None, None, None)
    }

    /// [BLD-7]: `CompilationState(prefix)` ([CS-1]): mode 1, no task
    /// resolver, a new empty node list; the builder is left as it was.
    pub fn new_compilation_state(&self, prefix: &str) -> CompilationState {
        CompilationState::new(prefix, 1, None)
    }

    /// The context to be, pushed from `origin` ([BLD-2]: one level up).
    #[inline]
    pub(crate) fn into_new(self, origin: Option<&'static Location<'static>>) -> NewContext {
        NewContext {
            level: self.level + 1,
            shared: Some(self.shared),
            origin,
            in_a_condition: self.in_a_condition,
        }
    }

    /// [BLD-2]: a new context, one level above the builder, in this
    /// thread's arena.
    #[inline]
    pub fn build(self) -> Result<Context, Error> {
        let new = self.into_new(None);
        let h = heap::insert_context(new).ok_or(Error::ThreadExiting)?;
        Ok(Context::owning(h))
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("level", &self.level)
            .field("in_a_condition", &self.in_a_condition.get())
            .finish_non_exhaustive()
    }
}
