//! Typed errors: every misuse the spec defines is a value, never a panic.

use crate::context::Context;
use std::fmt;

/// A failure of an operation on a context or state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The object a [`crate::ContextRef`] named has been freed: it left
    /// every stack and no strong handle kept it.
    Stale,
    /// The thread is being torn down and its context heap is gone.
    ThreadExiting,
    /// [ES-1]: an execution state needs a non-empty working directory.
    InvalidWorkingDir,
    /// [ES-8]: the context's file access is not a [`crate::LocalFileAccess`],
    /// so it has no sandbox directory to default to.
    NoSandboxDir,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Stale => {
                "the context was freed: it is on no stack and no strong handle holds it"
            }
            Error::ThreadExiting => "the thread's context heap has been torn down",
            Error::InvalidWorkingDir => "an execution state needs a non-empty working directory",
            Error::NoSandboxDir => "the context's file access has no local sandbox directory",
        })
    }
}

impl std::error::Error for Error {}

/// Why `pop_context` failed ([POP-2], [POP-3]).
#[derive(Debug)]
pub enum PopError {
    /// [POP-2]: the last entry was removed (the stack is now empty), and here
    /// it is.
    PoppedRoot(Context),
    /// [POP-3]: the stack was already empty; nothing changed.
    Empty,
    /// The thread's context heap has been torn down.
    ThreadExiting,
}

impl PartialEq for PopError {
    fn eq(&self, other: &PopError) -> bool {
        match (self, other) {
            (PopError::PoppedRoot(a), PopError::PoppedRoot(b)) => a == b,
            (PopError::Empty, PopError::Empty)
            | (PopError::ThreadExiting, PopError::ThreadExiting) => true,
            _ => false,
        }
    }
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PopError::PoppedRoot(_) => "popped the last context: the stack is now empty",
            PopError::Empty => "pop from an empty context stack",
            PopError::ThreadExiting => "the thread's context heap has been torn down",
        })
    }
}

impl std::error::Error for PopError {}

/// How a `with_context` scope ended badly ([WITH-4]).
#[derive(Debug, PartialEq)]
pub enum ScopeError<E> {
    /// The body failed and the cleanup went well: the body's error.
    Body(E),
    /// The cleanup failed (it popped the last entry); this replaces any
    /// error of the body, as in flytekit.
    Cleanup(PopError),
}

impl<E: fmt::Display> fmt::Display for ScopeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::Body(e) => write!(f, "{e}"),
            ScopeError::Cleanup(e) => write!(f, "leaving the scope: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ScopeError<E> {}
