//! The error of operations on contexts and states: every misuse the spec
//! defines is a value, never a panic. (The stack's own errors, which carry
//! contexts, are in `stack.rs`, above the contexts.)

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
