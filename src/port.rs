//! The one seam every port is driven through: the model, the implementation
//! and external processes alike.

use flytectx_model::protocol::{PortHello, NEWEST_VERSION};
use flytectx_model::{Answer, Claim, FeatureSet, ModelPort, Op, Profile, Release, Target};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// A port: something that runs traces of wire operations ([RUN-4]) and
/// answers each operation ([OBS-1]).
pub trait Port {
    /// What the port calls itself ([PROTO-2]).
    fn name(&self) -> String;

    /// What the port implements ([FEAT-3], [REL-1]). An in-process port
    /// implements every feature of the reference release unless it says otherwise.
    fn declaration(&self) -> Declaration {
        Declaration::default()
    }

    /// Run one trace. `ops` is in wire form and starts with `reset`; the
    /// result has one answer per operation, in order.
    fn run(&mut self, ops: &[Op]) -> Result<Vec<Answer>, PortFailure>;

    /// Wait up to `grace` for output nobody asked for; an in-process port has none.
    fn check_quiet(&mut self, _grace: Duration) -> Result<(), PortFailure> {
        Ok(())
    }

    /// Start afresh after a failure, as a new process would: an external
    /// port is started again and says hello; an in-process one drops its state.
    fn restart(&mut self) -> Result<(), PortFailure> {
        Ok(())
    }

    /// End the session ([PROTO-3]): the port should exit cleanly.
    fn finish(&mut self) -> Result<(), PortFailure> {
        Ok(())
    }
}

/// What a port declared in its hello ([PROTO-2], [FEAT-3], [REL-1]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Declaration {
    /// The protocol version it answered in.
    pub protocol_version: u64,
    /// The features it implements.
    pub features: FeatureSet,
    /// The flytekit release whose behaviour it follows.
    pub release: Release,
    /// Feature names it declared that this runner does not know.
    pub unknown_features: Vec<String>,
}

impl Default for Declaration {
    /// Everything, as the reference release.
    fn default() -> Declaration {
        Declaration {
            protocol_version: NEWEST_VERSION,
            features: FeatureSet::ALL,
            release: Release::REFERENCE,
            unknown_features: Vec::new(),
        }
    }
}

impl Declaration {
    /// What this declaration claims for `profile` ([FEAT-3], [REL-1]): the
    /// declared features of the declared release.
    pub fn claim(&self, profile: Profile) -> Claim {
        let target = Target {
            profile,
            release: self.release,
        };
        Claim::new(target, self.features)
    }
}

impl From<&PortHello> for Declaration {
    fn from(h: &PortHello) -> Declaration {
        Declaration {
            protocol_version: h.version,
            features: h.features,
            release: h.release,
            unknown_features: h.unknown_features.clone(),
        }
    }
}

/// How a port failed the protocol ([PROTO-4]). Each has its own verdict text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The command could not be started.
    Spawn,
    /// It exited, or closed its output, before answering everything.
    Exited,
    /// No answer within the per-operation time limit.
    Timeout,
    /// A line that is not an answer.
    Garbage,
    /// A wrong or missing hello, or another protocol version.
    BadHello,
    /// It does not implement the requested profile.
    UnsupportedProfile,
    /// More answer lines than requests.
    TooManyLines,
    /// It exited with a failure status after its input closed.
    BadExit,
}

/// A port's protocol failure, with what had been answered before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortFailure {
    pub kind: FailureKind,
    pub message: String,
    /// The answers of the current trace received before the failure.
    pub answered: Vec<serde_json::Value>,
    /// The last lines the port wrote to its standard error ([PROTO-1]).
    pub stderr_tail: Vec<String>,
}

impl PortFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> PortFailure {
        PortFailure {
            kind,
            message: message.into(),
            answered: Vec::new(),
            stderr_tail: Vec::new(),
        }
    }
}

impl fmt::Display for PortFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FailureKind::Spawn => "the port could not be started",
            FailureKind::Exited => "the port exited before answering",
            FailureKind::Timeout => "the port did not answer in time (hang)",
            FailureKind::Garbage => "the port wrote a line that is not an answer (garbage)",
            FailureKind::BadHello => "the port's hello is wrong (protocol version)",
            FailureKind::UnsupportedProfile => "the port does not implement the profile",
            FailureKind::TooManyLines => "the port answered more lines than it was sent",
            FailureKind::BadExit => "the port exited with a failure status",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for PortFailure {}

/// The model, driven as a port in-process.
pub struct ModelAsPort {
    port: ModelPort,
}

impl ModelAsPort {
    pub fn new(profile: Profile) -> ModelAsPort {
        ModelAsPort {
            port: ModelPort::new(profile),
        }
    }
}

impl Port for ModelAsPort {
    fn name(&self) -> String {
        format!(
            "flytectx-model {} ({})",
            env!("CARGO_PKG_VERSION"),
            self.port.profile()
        )
    }

    fn run(&mut self, ops: &[Op]) -> Result<Vec<Answer>, PortFailure> {
        let mut answers = Vec::with_capacity(ops.len());
        for op in ops {
            match self.port.apply(op) {
                Ok(a) => answers.push(a),
                Err(e) => {
                    let mut f = PortFailure::new(
                        FailureKind::Garbage,
                        format!("the model refused `{}`: {e}", op.to_line()),
                    );
                    f.answered = answers.iter().map(Answer::to_value).collect();
                    return Err(f);
                }
            }
        }
        Ok(answers)
    }
}
