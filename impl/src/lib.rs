//! `flytectx`: flytekit's context stack (`FlyteContextManager`, flytekit
//! 1.16.10) for Rust, in the *isolated* profile of `spec.md` ([PROF-1]): every
//! thread has its own stack and its own objects, a task works on a copy
//! ([TASK-2]), and everything else is flytekit's behaviour, quirks included.
//!
//! ```
//! use flytectx::{current_context, with_context, size};
//! let root = current_context();                 // a new thread initializes lazily
//! assert_eq!(root.level().unwrap(), 1);
//! let builder = root.new_builder().unwrap().enter_conditional_section();
//! let level = with_context(builder, |ctx| ctx.level()).unwrap();
//! assert_eq!((level, size()), (2, 1));          // the scope popped its context
//! ```
//!
//! Contexts and states live in a per-thread arena with generational handles
//! ([`arena`]): [`ContextRef`] is a copyable weak handle (reading the current
//! context costs a thread-local load), [`Context`], [`ExecutionState`] and
//! [`CompilationState`] are strong handles. A freed object's weak handles are
//! stale, and say so with [`Error::Stale`]; nothing a caller can do panics.
//!
//! Two ways to use a stack: the thread-local facade ([`current_context`],
//! [`push_context`], [`pop_context`], [`size`], [`initialize`],
//! [`with_context`], [`enter_context`], [`add_signal_handler`],
//! [`get_origin_stackframe`]), like flytekit's static methods, and explicit
//! [`ContextManager`] values, as many as wanted.

pub mod arena;
mod context;
mod error;
mod heap;
mod manager;
pub mod signals;
mod state;

pub use context::{Builder, Context, ContextFields, ContextRef, Slots};
pub use error::{Error, PopError, ScopeError};
pub use heap::{arena_stats, ArenaStats};
pub use manager::{
    current_context, enter_context, enter_scope, exit_scope, exit_scope_with, fork,
    get_origin_stackframe, initialize, pop_context, push_context, push_context_from, size,
    with_context, ContextGuard, ContextManager, Scope, ScopeToken,
};
pub use signals::add_signal_handler;
pub use state::{
    BranchEvalMode, CompilationState, DefaultTaskResolver, ExecutionState, LocalFileAccess,
    LocalUserSpaceParams, Mode, Nodes,
};

/// A value flytekit only carries along (file access, client, serialization
/// settings, ...): kept and compared by identity ([CTX-1]).
pub type Opaque = std::rc::Rc<dyn std::any::Any>;

/// This thread's default file-access provider ([OBS-5]), a [`LocalFileAccess`].
pub fn default_file_access() -> Option<Opaque> {
    heap::with_thread(|t| std::rc::Rc::clone(&t.default_file_access))
}

/// This thread's default task resolver ([OBS-5], [CS-6]).
pub fn default_task_resolver() -> Option<Opaque> {
    heap::with_thread(|t| std::rc::Rc::clone(&t.default_task_resolver))
}
