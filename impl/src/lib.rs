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
//! Contexts live in a per-thread arena with generational handles:
//! [`ContextRef`] is a copyable weak handle (reading the current context
//! costs a thread-local load), [`Context`] a strong one, which derefs to its
//! `ContextRef`. Both are one word. A freed context's weak handles are
//! stale, and say so with [`Error::Stale`]; once the thread's locals are torn
//! down, every handle says [`Error::ThreadExiting`]; nothing a caller can do
//! panics. A context shares the parts it did not change (states and opaque
//! values) with the one it was derived from; [`ExecutionState`] and
//! [`CompilationState`] are counted objects.
//!
//! Two ways to use a stack: the thread-local facade ([`current_context`],
//! [`push_context`], [`pop_context`], [`size`], [`initialize`],
//! [`with_context`], [`enter_context`], [`add_signal_handler`],
//! [`get_origin_stackframe`]), like flytekit's static methods, and explicit
//! [`ContextManager`] values, as many as wanted.
//!
//! Modules, each importing only those listed before it: `signals` (the
//! process-wide handler list), `data` (plain fields), `error`, `arena` (the
//! slab), `heap` (per-thread state), `state`, `context`, `stack` (the
//! algorithms), `manager`, `facade`.

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(unsafe_code)] // one exception, `heap::heap_mut`, says why it is sound

mod arena;
mod context;
mod data;
mod error;
mod facade;
mod heap;
mod manager;
mod signals;
mod stack;
mod state;

pub use context::{Builder, Context, ContextFields, ContextRef};
pub use data::{
    BranchEvalMode, DefaultTaskResolver, LocalFileAccess, LocalUserSpaceParams, Mode, Nodes,
    Opaque, Slots,
};
pub use error::Error;
pub use facade::{
    current_context, enter_context, enter_scope, exit_scope, exit_scope_with, fork,
    get_origin_stackframe, initialize, pop_context, push_context, push_context_from, size,
    with_context, ContextGuard,
};
pub use heap::{arena_stats, default_file_access, default_task_resolver, ArenaStats};
pub use manager::{ContextManager, Scope};
pub use signals::{add_signal_handler, HandlerError};
pub use stack::{PopError, ScopeError, ScopeToken};
pub use state::{CompilationState, ExecutionState};

/// Hooks for conformance harnesses that simulate processes ([SIG-2]..[SIG-4]):
/// not part of the API, and only built with the `harness` feature.
#[cfg(feature = "harness")]
#[doc(hidden)]
pub mod harness {
    use crate::signals::HandlerError;

    /// The number of SIGINT.
    pub const SIGINT: i32 = crate::signals::SIGINT;

    /// How a SIGINT's dispatch ended ([SIG-2]).
    #[derive(Debug)]
    pub enum Dispatch {
        /// Every handler ran: the hook now ends the process with this status.
        Exit(i32),
        /// A handler failed with this error: the dispatch stopped there, and
        /// the process goes on (the hook reports the error).
        Failed(HandlerError),
    }

    /// [SIG-2]: what the SIGINT hook does, on a thread of its own as the
    /// hook's, but without ending the process: how it ended is returned.
    pub fn dispatch_sigint() -> Dispatch {
        let run = std::thread::Builder::new()
            .name("flytectx-sigint-harness".into())
            .spawn(|| crate::signals::dispatch(SIGINT));
        match run.map(|t| t.join()) {
            Ok(Ok(Ok(()))) => Dispatch::Exit(1),
            Ok(Ok(Err(e))) => Dispatch::Failed(e),
            // The dispatch catches handlers' panics; only a thread that could
            // not start lands here.
            Ok(Err(_)) | Err(_) => Dispatch::Failed("the dispatch thread failed".into()),
        }
    }

    /// [SIG-3]: forget every handler, as a new process starts.
    pub fn reset_signal_handlers() {
        crate::signals::reset_signal_handlers()
    }

    /// [SIG-4]: how many times this process installed the library's SIGINT
    /// hook: 0 before the first `initialize`, 1 ever after (the hook is
    /// never installed again, so a handler the program installs later stays).
    pub fn sigint_hook_installs() -> u32 {
        crate::signals::hook_installs()
    }
}
