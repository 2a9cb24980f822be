//! Problems with a run itself rather than with the port: a bad corpus, an
//! unreadable file, a usage mistake. They end a run with exit status 2.

use flytectx_model::trace::DecodeError;
use std::path::PathBuf;

/// A problem with the run itself rather than with the port.
#[derive(Debug)]
pub enum UsageError {
    /// A corpus file that is not a valid corpus trace, with where and why.
    Corpus(PathBuf, DecodeError),
    /// A file or directory that could not be read or written.
    Io(PathBuf, std::io::Error),
    /// Anything else, said in words.
    Other(String),
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsageError::Corpus(p, e) => write!(f, "{}: {e}", p.display()),
            UsageError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            UsageError::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for UsageError {}
