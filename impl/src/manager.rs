//! The stack operations of `FlyteContextManager` ([INIT-*], [CUR-*], [PUSH-*],
//! [POP-*], [SIZE-1], [WITH-*]), written once over a [`StackHost`] and
//! offered two ways: as an explicit [`ContextManager`] value, and as the
//! thread-local facade (`flytectx::push_context`, ...) whose stack lives in
//! the thread's heap.
//!
//! Scopes and out-of-order exits: a scope records the stack size right after
//! its push (the mark) and, on exit, pops while the size is at least the mark
//! ([WITH-2]). So if scopes are left out of order (guards of the facade may be
//! dropped in any order, as opentelemetry's context guards may), leaving an
//! outer scope first pops the inner one's context too, and the inner scope's
//! later exit finds the stack below its mark and pops nothing ([WITH-3]):
//! exactly what flytekit does when a body pops below its scope.

use crate::arena::Handle;
use crate::context::{Builder, Context, ContextRef, CtxData, Slots};
use crate::error::{Error, PopError, ScopeError};
use crate::heap::{
    release_with, thread_heap, with_thread, Arenas, HeapRef, ThreadState, Trash, CURRENT,
};
use crate::state::{EsData, LocalFileAccess, LocalUserSpaceParams};
use crate::Opaque;
use std::cell::Cell;
use std::marker::PhantomData;
use std::panic::Location;
use std::rc::Rc;

impl ContextRef {
    /// A handle that names nothing: what the facade returns while the
    /// thread is being torn down. Every use of it fails with an error.
    pub(crate) fn dangling() -> ContextRef {
        ContextRef {
            h: Handle::new(u32::MAX, std::num::NonZeroU32::MAX),
            _not_send: PhantomData,
        }
    }
}

impl From<&Context> for ContextRef {
    fn from(c: &Context) -> ContextRef {
        c.weak()
    }
}

impl Context {
    /// The weak handle of this context.
    pub fn weak(&self) -> ContextRef {
        ContextRef {
            h: self.h,
            _not_send: PhantomData,
        }
    }
}

/// Where a stack lives: lets each algorithm below be written once.
pub(crate) trait StackHost {
    fn heap(&self) -> &HeapRef;
    /// Run `f` on the arenas and the stack, under one borrow of the heap.
    /// It must free nothing: releasing goes through [`release_with`].
    fn with_stack<R>(&mut self, f: impl FnOnce(&mut Arenas, &mut Vec<Handle>) -> R) -> R;
}

/// The thread-local facade's stack.
struct ThreadStack<'t>(&'t ThreadState);

impl StackHost for ThreadStack<'_> {
    #[inline]
    fn heap(&self) -> &HeapRef {
        &self.0.heap
    }
    #[inline]
    fn with_stack<R>(&mut self, f: impl FnOnce(&mut Arenas, &mut Vec<Handle>) -> R) -> R {
        let mut heap = self.0.heap.borrow_mut();
        let heap = &mut *heap;
        let r = f(&mut heap.arenas, &mut heap.thread_stack);
        // Keep the borrow-free mirror of the top in step ([CUR-1]).
        CURRENT.with(|c| c.set(heap.thread_stack.last().copied()));
        r
    }
}

/// [INIT-3], [INIT-4]: a new root and its new execution state.
fn new_root(
    arenas: &mut Arenas,
    file_access: &Opaque,
    origin: &'static Location<'static>,
) -> Handle {
    let sandbox = file_access
        .downcast_ref::<LocalFileAccess>()
        .map(|l| l.local_sandbox_dir.to_string_lossy().into_owned())
        .unwrap_or_default();
    let es = arenas.exec_states.insert(EsData {
        mode: None,
        engine_dir: Rc::from(format!("{sandbox}/engine_dir")),
        working_dir: Rc::from(sandbox),
        branch_eval_mode: None,
        user_space_params: Some(Rc::new(LocalUserSpaceParams)),
    });
    arenas.contexts.insert(CtxData {
        level: 1,
        in_a_condition: false,
        execution_state: Some(es),
        compilation_state: None,
        slots: Rc::new(Slots {
            file_access: Some(Rc::clone(file_access)),
            ..Slots::default()
        }),
        // [ORIG-3]
        origin: Some(origin),
    })
}

fn default_file_access() -> Option<Opaque> {
    with_thread(|t| Rc::clone(&t.default_file_access))
}

/// [INIT-2]: a new stack holding only a new root. The entries of the old
/// stack are released one by one, outside the heap borrow.
fn initialize_on(host: &mut impl StackHost, origin: &'static Location<'static>) {
    let Some(file_access) = default_file_access() else {
        return;
    };
    let old = host.with_stack(|arenas, stack| {
        let root = new_root(arenas, &file_access, origin);
        std::mem::replace(stack, vec![root])
    });
    for h in old {
        release_with(host.heap(), |a, trash| a.release_context(h, trash));
    }
    // [SIG-4] (isolated): the first initialize in the process installs the hook.
    crate::signals::install_hook();
}

/// [PUSH-1]..[PUSH-3]
#[inline]
fn push_on(
    host: &mut impl StackHost,
    ctx: ContextRef,
    origin: &'static Location<'static>,
) -> Result<ContextRef, Error> {
    host.with_stack(|arenas, stack| {
        // [ORIG-1]: the origin belongs to the object; the last push wins.
        arenas
            .contexts
            .retain_mut(ctx.h)
            .ok_or(Error::Stale)?
            .origin = Some(origin);
        stack.push(ctx.h);
        Ok(ctx)
    })
}

/// [POP-1]..[POP-3]: the stack's ownership of the entry moves to the result.
#[inline]
fn pop_on(host: &mut impl StackHost) -> Result<Context, PopError> {
    let popped = host.with_stack(|_, stack| {
        let h = stack.pop()?;
        Some((h, stack.is_empty()))
    });
    let heap = Rc::clone(host.heap());
    match popped {
        None => Err(PopError::Empty),
        // [POP-2] (quirk): removed, then reported as a failure.
        Some((h, true)) => Err(PopError::PoppedRoot(Context {
            heap,
            h,
            _not_send: PhantomData,
        })),
        Some((h, false)) => Ok(Context {
            heap,
            h,
            _not_send: PhantomData,
        }),
    }
}

/// [WITH-1]: build, push, mark.
#[inline]
fn enter_on(
    host: &mut impl StackHost,
    builder: Builder,
    origin: &'static Location<'static>,
) -> ScopeToken {
    let (_, mut data) = builder.into_data();
    // [WITH-6], [ORIG-2]
    data.origin = Some(origin);
    host.with_stack(|arenas, stack| {
        // The new context's one owner is its stack entry.
        let h = arenas.contexts.insert(data);
        stack.push(h);
        ScopeToken {
            mark: stack.len(),
            ctx: ContextRef {
                h,
                _not_send: PhantomData,
            },
        }
    })
}

/// How a scope's cleanup stopped.
enum Cleanup {
    /// The stack is below the mark: done.
    Done,
    /// What was freed must be dropped outside the borrow; then go on.
    EmptyTheTrash,
    /// Popped the last entry ([POP-2]): the cleanup fails with it.
    PoppedRoot(Handle),
}

/// [WITH-2]..[WITH-5]: pop while the size is at least the mark. Usually one
/// borrow of the heap does it all; it is left early only to drop freed
/// values that might run user code.
#[inline]
fn exit_on(host: &mut impl StackHost, token: ScopeToken) -> Result<(), PopError> {
    loop {
        let mut trash = Trash::default();
        let step = host.with_stack(|arenas, stack| {
            // [WITH-3], [WITH-5]: whatever the stack is now, below the mark
            // nothing is popped.
            while stack.len() >= token.mark {
                let h = stack.pop().expect("the mark is at least 1");
                if stack.is_empty() {
                    return Cleanup::PoppedRoot(h);
                }
                arenas.release_context(h, &mut trash);
                if !trash.is_empty() {
                    return Cleanup::EmptyTheTrash;
                }
            }
            Cleanup::Done
        });
        drop(trash);
        match step {
            Cleanup::Done => return Ok(()),
            Cleanup::EmptyTheTrash => {}
            // [WITH-4]: a failing pop ends the cleanup.
            Cleanup::PoppedRoot(h) => {
                let heap = Rc::clone(host.heap());
                return Err(PopError::PoppedRoot(Context {
                    heap,
                    h,
                    _not_send: PhantomData,
                }));
            }
        }
    }
}

/// [WITH-4]: the cleanup's error, else the body's.
#[inline]
fn finish<T, E>(cleanup: Result<(), PopError>, body: Result<T, E>) -> Result<T, ScopeError<E>> {
    match (cleanup, body) {
        (Err(e), _) => Err(ScopeError::Cleanup(e)),
        (Ok(()), Err(e)) => Err(ScopeError::Body(e)),
        (Ok(()), Ok(v)) => Ok(v),
    }
}

/// A scope entered but not yet left: its mark and its context. Give it back
/// to the stack it came from to leave the scope.
#[must_use = "a scope is left by giving its token back to exit_scope"]
#[derive(Debug)]
pub struct ScopeToken {
    mark: usize,
    ctx: ContextRef,
}

impl ScopeToken {
    /// The context the scope pushed.
    pub fn context(&self) -> ContextRef {
        self.ctx
    }
    /// The stack size recorded right after the push ([WITH-1]).
    pub fn mark(&self) -> usize {
        self.mark
    }
}

/// An explicit context stack of this thread: many can exist side by side
/// (tests, tasks). Objects are shared with the thread's other stacks.
pub struct ContextManager {
    heap: HeapRef,
    stack: Vec<Handle>,
    _not_send: PhantomData<*const ()>,
}

impl StackHost for ContextManager {
    fn heap(&self) -> &HeapRef {
        &self.heap
    }
    fn with_stack<R>(&mut self, f: impl FnOnce(&mut Arenas, &mut Vec<Handle>) -> R) -> R {
        f(&mut self.heap.borrow_mut().arenas, &mut self.stack)
    }
}

impl ContextManager {
    /// A new stack, initialized ([INIT-1]): one root.
    #[track_caller]
    pub fn new() -> Result<ContextManager, Error> {
        let origin = Location::caller();
        let heap = thread_heap().ok_or(Error::ThreadExiting)?;
        let mut m = ContextManager {
            heap,
            stack: Vec::new(),
            _not_send: PhantomData,
        };
        initialize_on(&mut m, origin);
        Ok(m)
    }

    /// [INIT-2]
    #[track_caller]
    pub fn initialize(&mut self) {
        initialize_on(self, Location::caller())
    }

    /// [SIZE-1]
    pub fn size(&self) -> usize {
        self.stack.len()
    }

    /// [CUR-1], [CUR-2]
    #[track_caller]
    pub fn current_context(&mut self) -> ContextRef {
        if self.stack.is_empty() {
            initialize_on(self, Location::caller());
        }
        self.stack
            .last()
            .map(|&h| ContextRef {
                h,
                _not_send: PhantomData,
            })
            .unwrap_or_else(ContextRef::dangling)
    }

    /// [PUSH-1]: push `ctx` itself, recording the caller as its origin.
    #[track_caller]
    pub fn push_context(&mut self, ctx: impl Into<ContextRef>) -> Result<ContextRef, Error> {
        push_on(self, ctx.into(), Location::caller())
    }

    /// [PUSH-1], with a given origin ([ORIG-1]).
    pub fn push_context_from(
        &mut self,
        ctx: impl Into<ContextRef>,
        origin: &'static Location<'static>,
    ) -> Result<ContextRef, Error> {
        push_on(self, ctx.into(), origin)
    }

    /// [POP-1]..[POP-3]
    pub fn pop_context(&mut self) -> Result<Context, PopError> {
        pop_on(self)
    }

    /// [WITH-1]: enter a scope; leave it with [`ContextManager::exit_scope`].
    #[track_caller]
    pub fn enter_scope(&mut self, builder: Builder) -> ScopeToken {
        enter_on(self, builder, Location::caller())
    }

    /// [WITH-2]..[WITH-5]
    pub fn exit_scope(&mut self, token: ScopeToken) -> Result<(), PopError> {
        exit_on(self, token)
    }

    /// Leave a scope whose body ended with `body` ([WITH-4]).
    pub fn exit_scope_with<T, E>(
        &mut self,
        token: ScopeToken,
        body: Result<T, E>,
    ) -> Result<T, ScopeError<E>> {
        finish(exit_on(self, token), body)
    }

    /// `with_context` as a closure. The body gets this manager and the
    /// scope's context; its error is returned after the cleanup, unless the
    /// cleanup fails ([WITH-4]). A panic in the body leaves the stack to
    /// whoever catches it, as [`Scope`] does not run for closures; use
    /// [`ContextManager::enter_context`] for cleanup on unwinding.
    #[track_caller]
    pub fn with_context<T, E>(
        &mut self,
        builder: Builder,
        body: impl FnOnce(&mut ContextManager, ContextRef) -> Result<T, E>,
    ) -> Result<T, ScopeError<E>> {
        let mut scope = self.enter_context_at(builder, Location::caller());
        let ctx = scope.context();
        let result = body(&mut scope, ctx);
        scope.exit_with(result)
    }

    /// `with_context` as a guard that borrows this manager and derefs to it;
    /// dropping it (on unwinding too) leaves the scope.
    #[track_caller]
    pub fn enter_context(&mut self, builder: Builder) -> Scope<'_> {
        self.enter_context_at(builder, Location::caller())
    }

    fn enter_context_at(
        &mut self,
        builder: Builder,
        origin: &'static Location<'static>,
    ) -> Scope<'_> {
        let token = enter_on(self, builder, origin);
        Scope {
            manager: self,
            token: Some(token),
        }
    }

    /// [TASK-2]: a new stack holding the same entries (the contexts are shared).
    pub fn fork(&self) -> ContextManager {
        fork_of(&self.heap, &self.stack)
    }

    /// The entries, bottom first.
    pub fn entries(&self) -> Vec<ContextRef> {
        self.stack
            .iter()
            .map(|&h| ContextRef {
                h,
                _not_send: PhantomData,
            })
            .collect()
    }
}

fn fork_of(heap: &HeapRef, stack: &[Handle]) -> ContextManager {
    let mut b = heap.borrow_mut();
    for &h in stack {
        b.arenas.contexts.retain(h);
    }
    ContextManager {
        heap: Rc::clone(heap),
        stack: stack.to_vec(),
        _not_send: PhantomData,
    }
}

impl Drop for ContextManager {
    fn drop(&mut self) {
        for h in std::mem::take(&mut self.stack) {
            release_with(&self.heap, |a, trash| a.release_context(h, trash));
        }
    }
}

impl std::fmt::Debug for ContextManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextManager")
            .field("size", &self.stack.len())
            .finish()
    }
}

/// A scope of a [`ContextManager`], left when dropped. Derefs to the manager,
/// so the body works through it (nested scopes included).
pub struct Scope<'m> {
    manager: &'m mut ContextManager,
    token: Option<ScopeToken>,
}

impl Scope<'_> {
    pub fn context(&self) -> ContextRef {
        self.token
            .as_ref()
            .map(ScopeToken::context)
            .unwrap_or_else(ContextRef::dangling)
    }
    /// Leave the scope now, with the cleanup's result.
    pub fn exit(mut self) -> Result<(), PopError> {
        match self.token.take() {
            Some(t) => exit_on(self.manager, t),
            None => Ok(()),
        }
    }
    /// Leave the scope with the body's result ([WITH-4]).
    pub fn exit_with<T, E>(self, body: Result<T, E>) -> Result<T, ScopeError<E>> {
        finish(self.exit(), body)
    }
}

impl std::ops::Deref for Scope<'_> {
    type Target = ContextManager;
    fn deref(&self) -> &ContextManager {
        self.manager
    }
}
impl std::ops::DerefMut for Scope<'_> {
    fn deref_mut(&mut self) -> &mut ContextManager {
        self.manager
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            // A drop cannot report the cleanup's failure; the popped root is freed.
            let _ = exit_on(self.manager, t);
        }
    }
}

// ----- the thread-local facade -----

/// The current context of this thread's stack ([CUR-1]); an empty stack is
/// initialized first ([CUR-2], [THR-3]: a new thread starts empty).
#[track_caller]
#[inline]
pub fn current_context() -> ContextRef {
    match CURRENT.with(Cell::get) {
        Some(h) => ContextRef {
            h,
            _not_send: PhantomData,
        },
        None => initialize_then_current(Location::caller()),
    }
}

#[cold]
#[inline(never)]
fn initialize_then_current(origin: &'static Location<'static>) -> ContextRef {
    with_thread(|t| initialize_on(&mut ThreadStack(t), origin));
    CURRENT
        .try_with(Cell::get)
        .ok()
        .flatten()
        .map(|h| ContextRef {
            h,
            _not_send: PhantomData,
        })
        .unwrap_or_else(ContextRef::dangling)
}

/// [PUSH-1]: push `ctx` itself on this thread's stack.
#[track_caller]
#[inline]
pub fn push_context(ctx: impl Into<ContextRef>) -> Result<ContextRef, Error> {
    let origin = Location::caller();
    let ctx = ctx.into();
    with_thread(|t| push_on(&mut ThreadStack(t), ctx, origin)).unwrap_or(Err(Error::ThreadExiting))
}

/// [PUSH-1] with a given origin ([ORIG-1]).
pub fn push_context_from(
    ctx: impl Into<ContextRef>,
    origin: &'static Location<'static>,
) -> Result<ContextRef, Error> {
    let ctx = ctx.into();
    with_thread(|t| push_on(&mut ThreadStack(t), ctx, origin)).unwrap_or(Err(Error::ThreadExiting))
}

/// [POP-1]..[POP-3]
#[inline]
pub fn pop_context() -> Result<Context, PopError> {
    with_thread(|t| pop_on(&mut ThreadStack(t))).unwrap_or(Err(PopError::ThreadExiting))
}

/// [SIZE-1]
pub fn size() -> usize {
    with_thread(|t| t.heap.borrow().thread_stack.len()).unwrap_or(0)
}

/// [INIT-2]
#[track_caller]
pub fn initialize() {
    let origin = Location::caller();
    with_thread(|t| initialize_on(&mut ThreadStack(t), origin));
}

/// [WITH-1]: enter a scope on this thread's stack; leave it with [`exit_scope`].
#[track_caller]
pub fn enter_scope(builder: Builder) -> Result<ScopeToken, Error> {
    let origin = Location::caller();
    with_thread(|t| enter_on(&mut ThreadStack(t), builder, origin)).ok_or(Error::ThreadExiting)
}

/// [WITH-2]..[WITH-5]
pub fn exit_scope(token: ScopeToken) -> Result<(), PopError> {
    with_thread(|t| exit_on(&mut ThreadStack(t), token)).unwrap_or(Err(PopError::ThreadExiting))
}

/// Leave a scope of this thread's stack whose body ended with `body` ([WITH-4]).
pub fn exit_scope_with<T, E>(token: ScopeToken, body: Result<T, E>) -> Result<T, ScopeError<E>> {
    finish(exit_scope(token), body)
}

/// `with_context` on this thread's stack, as a closure ([WITH-1]..[WITH-5]).
/// If the body panics, the guard inside still leaves the scope while unwinding.
#[track_caller]
pub fn with_context<T, E>(
    builder: Builder,
    body: impl FnOnce(ContextRef) -> Result<T, E>,
) -> Result<T, ScopeError<E>> {
    let origin = Location::caller();
    let guard = enter_context_at(builder, origin);
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

fn enter_context_at(builder: Builder, origin: &'static Location<'static>) -> ContextGuard {
    let token = with_thread(|t| enter_on(&mut ThreadStack(t), builder, origin));
    ContextGuard {
        token,
        _not_send: PhantomData,
    }
}

/// A scope of this thread's stack, left when dropped.
#[must_use = "the scope is left as soon as the guard is dropped"]
pub struct ContextGuard {
    token: Option<ScopeToken>,
    _not_send: PhantomData<*const ()>,
}

impl ContextGuard {
    pub fn context(&self) -> ContextRef {
        self.token
            .as_ref()
            .map(ScopeToken::context)
            .unwrap_or_else(ContextRef::dangling)
    }
    /// Leave the scope now, with the cleanup's result.
    pub fn exit(mut self) -> Result<(), PopError> {
        match self.token.take() {
            Some(t) => exit_scope(t),
            None => Err(PopError::ThreadExiting),
        }
    }
    /// Leave the scope with the body's result ([WITH-4]).
    pub fn exit_with<T, E>(self, body: Result<T, E>) -> Result<T, ScopeError<E>> {
        finish(self.exit(), body)
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            // A drop cannot report the cleanup's failure; the popped root is freed.
            let _ = exit_scope(t);
        }
    }
}

/// [TASK-2]: a new explicit stack holding this thread's entries.
pub fn fork() -> Result<ContextManager, Error> {
    with_thread(|t| {
        let heap = t.heap.borrow();
        let entries = heap.thread_stack.clone();
        drop(heap);
        fork_of(&t.heap, &entries)
    })
    .ok_or(Error::ThreadExiting)
}

/// [ORIG-4]: the location of the caller.
#[track_caller]
pub fn get_origin_stackframe() -> &'static Location<'static> {
    Location::caller()
}
