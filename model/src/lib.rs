//! `flytectx-model`: the executable specification of flytekit 1.16.10's
//! `FlyteContextManager`.
//!
//! Written to be obviously right rather than fast: objects live in vectors and
//! are never freed, each rule is a few lines, and each cites the clause of
//! `spec.md` it implements. It holds both profiles ([PROF-1], [PROF-2]) and the
//! trace language with its driving rules, so everything the spec defines is
//! executable here, in one place:
//!
//! - [`model`]: the stack, contexts, builders and states (spec sections 1–11);
//! - [`feature`], [`release`], [`claim`]: what a port implements and which
//!   flytekit release it follows (spec section 1);
//! - [`answer`]: answers, summaries and naming (section 12);
//! - [`trace`]: the trace language and its decoding (section 13);
//! - [`unwind`]: how a runner drives a trace (section 13, [RUN-1]..[RUN-4]);
//! - [`port`]: the model answering trace operations;
//! - [`protocol`]: the hello of the port protocol (section 14);
//! - [`serve`]: the model as an external port over stdio (section 14).

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod answer;
pub mod claim;
pub mod feature;
pub mod model;
pub mod names;
pub mod port;
pub mod protocol;
pub mod release;
pub mod serve;
pub mod trace;
pub mod unwind;

use serde::{Deserialize, Serialize};

/// [PROF-1]: the two behaviours the spec defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// flytekit 1.16.10 exactly.
    Compat,
    /// Per-thread stacks and objects; tasks work on a copy.
    Isolated,
}

impl Profile {
    /// The profile's name in traces and hellos.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Compat => "compat",
            Profile::Isolated => "isolated",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use answer::Answer;
pub use claim::{Claim, Target, Unavailable};
pub use feature::{Feature, FeatureSet};
pub use model::Model;
pub use port::{ModelPort, TraceError};
pub use release::Release;
pub use trace::Op;

#[cfg(test)]
mod tests {
    use super::Profile;

    #[test]
    fn profiles_are_named_as_traces_write_them() {
        assert_eq!(
            (Profile::Compat.as_str(), Profile::Isolated.as_str()),
            ("compat", "isolated")
        );
        assert_eq!(Profile::Isolated.to_string(), "isolated");
        assert_eq!(
            serde_json::to_string(&Profile::Compat).unwrap(),
            r#""compat""#
        );
    }
}
