//! Explicit context stacks: [`ContextManager`] values, as many as wanted
//! per thread (tests, tasks), and their scope guard [`Scope`].

use crate::arena::Arena;
use crate::context::{Builder, Context, ContextRef};
use crate::error::Error;
use crate::heap::{self, thread_heap, HeapRef, StackId};
use crate::stack::{
    enter_on, exit_on, finish, initialize_on, library_origin, pop_on, push_on, PopError,
    ScopeError, ScopeToken, StackHost,
};
use std::panic::Location;
use std::rc::Rc;

/// An explicit context stack of this thread. Objects are shared with the
/// thread's other stacks.
pub struct ContextManager {
    heap: HeapRef,
    /// Arena indices of the entries, bottom first; each owns its context.
    stack: Vec<u32>,
    id: StackId,
}

impl StackHost for ContextManager {
    fn heap(&self) -> &HeapRef {
        &self.heap
    }
    fn id(&self) -> StackId {
        self.id
    }
    fn with_stack<R>(&mut self, f: impl FnOnce(&mut Arena, &mut Vec<u32>) -> R) -> R {
        f(&mut self.heap.borrow_mut().contexts, &mut self.stack)
    }
}

impl ContextManager {
    fn empty(heap: HeapRef, stack: Vec<u32>) -> ContextManager {
        let id = heap.borrow_mut().new_stack_id();
        ContextManager { heap, stack, id }
    }

    /// A new stack, initialized as at load ([INIT-1]): one root, made by
    /// the library's own code, whose location it records ([ORIG-3]).
    pub fn new() -> Result<ContextManager, Error> {
        let heap = thread_heap().ok_or(Error::ThreadExiting)?;
        let mut m = ContextManager::empty(heap, Vec::new());
        initialize_on(&mut m, library_origin());
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
        let heap = self.heap.borrow();
        self.stack
            .last()
            .and_then(|&i| heap.contexts.handle_at(i))
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
    pub fn enter_scope(&mut self, builder: Builder) -> ScopeToken {
        enter_on(self, builder, Location::caller())
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
            token: Some(token),
        }
    }

    /// [TASK-2]: a new stack holding the same entries (the contexts are shared).
    pub fn fork(&self) -> ContextManager {
        fork_of(&self.heap, &self.stack)
    }

    /// The entries, bottom first.
    pub fn entries(&self) -> Vec<ContextRef> {
        let heap = self.heap.borrow();
        self.stack
            .iter()
            .filter_map(|&i| heap.contexts.handle_at(i))
            .map(ContextRef::new)
            .collect()
    }
}

/// [TASK-2]: a new explicit stack holding `stack`'s entries, each retained.
pub(crate) fn fork_of(heap: &HeapRef, stack: &[u32]) -> ContextManager {
    {
        let mut b = heap.borrow_mut();
        for &i in stack {
            if let Some(h) = b.contexts.handle_at(i) {
                b.contexts.retain(h);
            }
        }
    }
    ContextManager::empty(Rc::clone(heap), stack.to_vec())
}

impl Drop for ContextManager {
    fn drop(&mut self) {
        for index in std::mem::take(&mut self.stack) {
            heap::release_at(&self.heap, index);
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
    #[inline]
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            // A drop cannot report the cleanup's failure; the popped root is freed.
            let _ = exit_on(self.manager, t);
        }
    }
}
