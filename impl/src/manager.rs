//! Explicit context stacks: [`ContextManager`] values, as many as wanted
//! per thread (tests, tasks), and their scope guard [`Scope`].

use crate::arena::Arena;
use crate::context::{Builder, Context, ContextRef};
use crate::error::Error;
use crate::heap::{self, StackId};
use crate::stack::{
    enter_on, exit_on, finish, initialize_on, library_origin, pop_on, push_on, PopError,
    ScopeError, ScopeToken, StackHost,
};
use std::panic::Location;

/// An explicit context stack of this thread. Objects are shared with the
/// thread's other stacks.
pub struct ContextManager {
    /// Arena indices of the entries, bottom first; each owns its context.
    stack: Vec<u32>,
    id: StackId,
}

impl StackHost for ContextManager {
    fn id(&self) -> StackId {
        self.id
    }
    fn with_stack<R>(&mut self, f: impl FnOnce(&mut Arena, &mut Vec<u32>) -> R) -> R {
        heap::with_heap(|h| f(&mut h.contexts, &mut self.stack))
    }
    /// The stack is the manager's own, not in the heap: it grows here,
    /// outside any heap access.
    fn make_room(&mut self) {
        self.stack.reserve(self.stack.len().max(4));
    }
}

impl ContextManager {
    /// An empty stack of this thread.
    fn empty() -> ContextManager {
        ContextManager {
            stack: Vec::new(),
            id: heap::with_heap(|h| h.new_stack_id()),
        }
    }

    /// A new stack, initialized as at load ([INIT-1]): one root, made by
    /// the library's own code, whose location it records ([ORIG-3]).
    pub fn new() -> Result<ContextManager, Error> {
        let mut m = ContextManager::empty();
        initialize_on(&mut m, library_origin());
        if m.stack.is_empty() {
            return Err(Error::ThreadExiting);
        }
        Ok(m)
    }

    /// [INIT-2]; the root records the caller as its origin ([ORIG-3]).
    #[track_caller]
    pub fn initialize(&mut self) {
        initialize_on(self, Location::caller())
    }

    /// [SIZE-1]
    pub fn size(&self) -> usize {
        self.stack.len()
    }

    /// [CUR-1], [CUR-2]; a root made here records a location inside the
    /// library ([ORIG-3]).
    pub fn current_context(&mut self) -> ContextRef {
        if self.stack.is_empty() {
            initialize_on(self, library_origin());
        }
        let top = self.stack.last().copied();
        top.and_then(|i| heap::read_heap(|h| h.contexts.handle_at(i)))
            .map_or_else(ContextRef::dangling, ContextRef::new)
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
    pub fn enter_scope(&mut self, builder: Builder) -> Result<ScopeToken, Error> {
        enter_on(self, builder, Location::caller()).ok_or(Error::ThreadExiting)
    }

    /// [WITH-2]..[WITH-5]. A token of another stack is refused with
    /// [`PopError::ForeignScope`], and nothing changes.
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
    /// cleanup fails ([WITH-4]). If the body panics, the scope is still left
    /// while unwinding (a [`Scope`] guard holds it), as on the facade.
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
            token,
        }
    }

    /// [TASK-2]: a new stack holding the same entries (the contexts are shared).
    pub fn fork(&self) -> Result<ContextManager, Error> {
        fork_of(self.stack.clone())
    }

    /// The entries, bottom first.
    pub fn entries(&self) -> Vec<ContextRef> {
        // Allocated here, filled within its capacity in the heap access.
        let mut entries = Vec::with_capacity(self.stack.len());
        heap::read_heap(|h| {
            let handles = self.stack.iter().filter_map(|&i| h.contexts.handle_at(i));
            entries.extend(handles.map(ContextRef::new));
        });
        entries
    }
}

/// [TASK-2]: a new explicit stack holding `entries` (a copy of another
/// stack's), each retained.
pub(crate) fn fork_of(entries: Vec<u32>) -> Result<ContextManager, Error> {
    let id = heap::with_heap(|h| {
        if h.contexts.is_torn_down() {
            return Err(Error::ThreadExiting);
        }
        for &i in &entries {
            if let Some(c) = h.contexts.handle_at(i) {
                h.contexts.retain(c);
            }
        }
        Ok(h.new_stack_id())
    })?;
    Ok(ContextManager { stack: entries, id })
}

impl Drop for ContextManager {
    fn drop(&mut self) {
        for index in std::mem::take(&mut self.stack) {
            heap::release_at(index);
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
#[derive(Debug)]
pub struct Scope<'m> {
    manager: &'m mut ContextManager,
    token: Option<ScopeToken>,
}

impl Scope<'_> {
    /// The context the scope pushed.
    pub fn context(&self) -> ContextRef {
        self.token
            .as_ref()
            .map_or_else(ContextRef::dangling, ScopeToken::context)
    }
    /// Leave the scope now, with the cleanup's result.
    pub fn exit(mut self) -> Result<(), PopError> {
        match self.token.take() {
            Some(t) => exit_on(self.manager, t),
            // Never entered: the thread was being torn down.
            None => Err(PopError::ThreadExiting),
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
    #[inline]
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            // A drop cannot report the cleanup's failure; the popped root is freed.
            let _ = exit_on(self.manager, t);
        }
    }
}
