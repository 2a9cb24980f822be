//! The operations of the trace language and their arguments ([TRACE-2],
//! [TRACE-3]), with the clauses each exercises.

use crate::feature::{Feature, FeatureSet};
use crate::names::{AnyName, CsName, CtxName, EsName, OpaqueName};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Execution modes ([ES-3]), spelled as flytekit's enum members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// A task running on a cluster.
    TaskExecution,
    /// A workflow running locally.
    LocalWorkflowExecution,
    /// A task running locally.
    LocalTaskExecution,
    /// A dynamic task (from 1.10).
    DynamicTaskExecution,
    /// An eager workflow (from 1.15).
    EagerExecution,
    /// An eager workflow running locally (from 1.15).
    EagerLocalExecution,
    /// A dynamic task running locally (from 1.16).
    LocalDynamicTaskExecution,
}

impl Mode {
    /// Every mode, in the order of [ES-3].
    pub const ALL: [Mode; 7] = [
        Mode::TaskExecution,
        Mode::LocalWorkflowExecution,
        Mode::LocalTaskExecution,
        Mode::DynamicTaskExecution,
        Mode::EagerExecution,
        Mode::EagerLocalExecution,
        Mode::LocalDynamicTaskExecution,
    ];

    /// [COND-2]: the modes in which a conditional section replaces the state.
    pub fn is_local(self) -> bool {
        matches!(
            self,
            Mode::LocalWorkflowExecution
                | Mode::LocalTaskExecution
                | Mode::EagerLocalExecution
                | Mode::LocalDynamicTaskExecution
        )
    }
}

/// Branch evaluation modes ([ES-3]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Branch {
    /// `BRANCH_ACTIVE`.
    #[serde(rename = "BRANCH_ACTIVE")]
    Active,
    /// `BRANCH_SKIPPED`.
    #[serde(rename = "BRANCH_SKIPPED")]
    Skipped,
}

/// A directory name given by a trace ([TRACE-4]): empty, or 1 to 64 characters
/// from `A-Z a-z 0-9 _ . -`, not `.` or `..`, so that a port may create it
/// under a scratch directory without escaping it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DirName(String);

impl DirName {
    /// The name `s`, if it is one a trace may give ([TRACE-4]).
    pub fn new(s: &str) -> Option<DirName> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        let ok = s.is_empty() || (s.len() <= 64 && s.chars().all(allowed) && s != "." && s != "..");
        ok.then(|| DirName(s.to_string()))
    }
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DirName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DirName::new(&s).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Str(&s),
                &"a directory name of 1 to 64 characters from A-Z a-z 0-9 _ . - (not . or ..), or \"\"",
            )
        })
    }
}

/// The five opaque fields of a context ([CTX-1]), in summary order ([OBS-2]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// `file_access`.
    FileAccess,
    /// `flyte_client`.
    FlyteClient,
    /// `serialization_settings`.
    SerializationSettings,
    /// `output_metadata_tracker`.
    OutputMetadataTracker,
    /// `worker_queue`.
    WorkerQueue,
}

impl Slot {
    /// Every slot, in summary order.
    pub const ALL: [Slot; 5] = [
        Slot::FileAccess,
        Slot::FlyteClient,
        Slot::SerializationSettings,
        Slot::OutputMetadataTracker,
        Slot::WorkerQueue,
    ];

    /// The builder method that sets this slot ([BLD-3]); also its step name.
    pub fn builder_method(self) -> &'static str {
        match self {
            Slot::FileAccess => "with_file_access",
            Slot::FlyteClient => "with_client",
            Slot::SerializationSettings => "with_serialization_settings",
            Slot::OutputMetadataTracker => "with_output_metadata_tracker",
            Slot::WorkerQueue => "with_worker_queue",
        }
    }
}

/// What a handler does after it records that it ran ([SIG-2]; the `then`
/// of `add_signal_handler` in traces).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Then {
    /// Fail with an error of this kind.
    Raise(String),
    /// Add a handler with this tag, which only records.
    Add(String),
}

/// One builder step ([TRACE-3]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Only as the first step: start from `from.with_new_compilation_state()`,
    /// the context method of [BLD-5], instead of `from.new_builder()`.
    ContextWithNewCompilationState,
    /// `enter_conditional_section` ([COND-1]..[COND-8]).
    EnterConditionalSection,
    /// `with_new_compilation_state` ([BLD-4]).
    WithNewCompilationState,
    /// `with_execution_state` ([BLD-3]).
    WithExecutionState(Option<EsName>),
    /// `with_compilation_state` ([BLD-3]).
    WithCompilationState(Option<CsName>),
    /// A setter of one of the five opaque fields ([BLD-3]).
    WithSlot(Slot, Option<OpaqueName>),
}

impl Step {
    /// [FEAT-2]: the feature this step belongs to.
    pub fn feature(&self) -> Feature {
        match self {
            Step::EnterConditionalSection => Feature::Conditionals,
            Step::ContextWithNewCompilationState
            | Step::WithNewCompilationState
            | Step::WithCompilationState(_) => Feature::CompilationStates,
            Step::WithExecutionState(_) => Feature::ExecutionStates,
            Step::WithSlot(..) => Feature::Builders,
        }
    }

    /// The name of the builder method this step calls ([TRACE-3]).
    pub fn method(&self) -> &'static str {
        match self {
            Step::ContextWithNewCompilationState => "context_with_new_compilation_state",
            Step::EnterConditionalSection => "enter_conditional_section",
            Step::WithNewCompilationState => "with_new_compilation_state",
            Step::WithExecutionState(_) => "with_execution_state",
            Step::WithCompilationState(_) => "with_compilation_state",
            Step::WithSlot(slot, _) => slot.builder_method(),
        }
    }
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Step::ContextWithNewCompilationState
            | Step::EnterConditionalSection
            | Step::WithNewCompilationState => s.serialize_str(self.method()),
            Step::WithExecutionState(es) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("with_execution_state", es)?;
                m.end()
            }
            Step::WithCompilationState(cs) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("with_compilation_state", cs)?;
                m.end()
            }
            Step::WithSlot(slot, o) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(slot.builder_method(), o)?;
                m.end()
            }
        }
    }
}

const STEP_EXPECTING: &str = "a builder step: \"enter_conditional_section\", \"with_new_compilation_state\", \"context_with_new_compilation_state\" (first only), or a one-field object such as {\"with_execution_state\": \"es0\"}";

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(STEP_EXPECTING)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Step, E> {
                match s {
                    "enter_conditional_section" => Ok(Step::EnterConditionalSection),
                    "with_new_compilation_state" => Ok(Step::WithNewCompilationState),
                    "context_with_new_compilation_state" => {
                        Ok(Step::ContextWithNewCompilationState)
                    }
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::invalid_length(0, &self));
                };
                let step = match key.as_str() {
                    "with_execution_state" => Step::WithExecutionState(map.next_value()?),
                    "with_compilation_state" => Step::WithCompilationState(map.next_value()?),
                    other => match Slot::ALL.iter().find(|s| s.builder_method() == other) {
                        Some(&slot) => Step::WithSlot(slot, map.next_value()?),
                        None => return Err(de::Error::unknown_field(other, STEP_FIELDS)),
                    },
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "a builder step object has exactly one field",
                    ));
                }
                Ok(step)
            }
        }
        d.deserialize_any(V)
    }
}

const STEP_FIELDS: &[&str] = &[
    "with_execution_state",
    "with_compilation_state",
    "with_file_access",
    "with_client",
    "with_serialization_settings",
    "with_output_metadata_tracker",
    "with_worker_queue",
];

/// One operation of a trace ([TRACE-2]). Serializes to its line form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `reset`: the port is as a new process ([INIT-1]).
    Reset,
    /// `initialize` ([INIT-2]).
    Initialize,
    /// `current`: the current context ([CUR-1]).
    Current,
    /// `size`: how many entries the stack has ([SIZE-1]).
    Size,
    /// `push` ([PUSH-1]).
    Push {
        /// The context.
        ctx: CtxName,
    },
    /// `pop` ([POP-1]).
    Pop,
    /// `new_context`: `FlyteContext(file_access=...)` ([CTX-2]).
    NewContext {
        /// The file access: an opaque value or null.
        file_access: Option<OpaqueName>,
    },
    /// `build`: a builder of a context, its steps, built ([BLD-2]).
    Build {
        /// The context whose builder it starts from ([BLD-1]).
        from: CtxName,
        /// The builder steps, in order ([TRACE-3]).
        steps: Vec<Step>,
    },
    /// `with_enter`: enter a `with_context` scope ([WITH-1]).
    WithEnter {
        /// The context whose builder it starts from ([BLD-1]).
        from: CtxName,
        /// The builder steps, in order ([TRACE-3]).
        steps: Vec<Step>,
    },
    /// `with_exit`: leave the innermost scope ([WITH-2], [RUN-2]).
    WithExit {
        /// The kind of error the body raises, or null for none ([RUN-2]).
        raise: Option<String>,
    },
    /// `observe`: an object's summary ([OBS-2], [OBS-3]).
    Observe {
        /// The object.
        #[serde(rename = "ref")]
        target: AnyName,
    },
    /// `user_space_params` of a context ([CTX-3]).
    UserSpaceParams {
        /// The context.
        ctx: CtxName,
    },
    /// `new_opaque`: a new opaque value ([OBS-4]).
    NewOpaque,
    /// `new_es`: `ExecutionState(...)` ([ES-1]).
    NewEs {
        /// The working directory.
        working_dir: DirName,
        /// The execution mode, or null.
        mode: Option<Mode>,
        /// The engine directory, or null.
        engine_dir: Option<DirName>,
        /// The branch mode, or null.
        branch_eval_mode: Option<Branch>,
        /// The user-space parameters: an opaque value or null.
        user_space_params: Option<OpaqueName>,
    },
    /// `es_with_params` ([ES-4]).
    EsWithParams {
        /// The execution state.
        es: EsName,
        /// The working directory, or null.
        working_dir: Option<DirName>,
        /// The execution mode, or null.
        mode: Option<Mode>,
        /// The engine directory, or null.
        engine_dir: Option<DirName>,
        /// The branch mode, or null.
        branch_eval_mode: Option<Branch>,
        /// The user-space parameters: an opaque value or null.
        user_space_params: Option<OpaqueName>,
    },
    /// `ctx_new_es`: a context's `new_execution_state` ([ES-8]).
    CtxNewEs {
        /// The context.
        ctx: CtxName,
        /// The working directory, or null.
        working_dir: Option<DirName>,
    },
    /// `take_branch` ([ES-5]).
    TakeBranch {
        /// The execution state.
        es: EsName,
    },
    /// `branch_complete` ([ES-6]).
    BranchComplete {
        /// The execution state.
        es: EsName,
    },
    /// `new_cs`: `CompilationState(...)` ([CS-1]).
    NewCs {
        /// The prefix.
        prefix: String,
        /// The mode.
        mode: i64,
        /// The task resolver: an opaque value or null.
        task_resolver: Option<OpaqueName>,
        /// Optional in a trace line: left out, it is null ([CS-1]).
        #[serde(skip_serializing_if = "Option::is_none")]
        nodes_of: Option<CsName>,
    },
    /// `cs_with_params` ([CS-3]).
    CsWithParams {
        /// The compilation state.
        cs: CsName,
        /// The prefix, or null.
        prefix: Option<String>,
        /// The mode, or null.
        mode: Option<i64>,
        /// The task resolver: an opaque value or null.
        task_resolver: Option<OpaqueName>,
        /// The state whose node list is passed, or null ([CS-4]).
        nodes_of: Option<CsName>,
    },
    /// `ctx_new_cs`: a context's `new_compilation_state` ([CS-6]).
    CtxNewCs {
        /// The context.
        ctx: CtxName,
        /// The prefix.
        prefix: String,
    },
    /// `add_node` ([CS-2]).
    AddNode {
        /// The compilation state.
        cs: CsName,
    },
    /// `add_signal_handler` ([SIG-1]).
    AddSignalHandler {
        /// The handler's tag.
        tag: String,
        /// Optional in a trace line: left out, it is null ([SIG-2]).
        #[serde(skip_serializing_if = "Option::is_none")]
        then: Option<Then>,
    },
    /// `set_program_handler`: the program's own SIGINT handler ([SIG-4]).
    SetProgramHandler {
        /// The handler's tag.
        tag: String,
    },
    /// `sigint_handler`: which SIGINT handler is installed ([SIG-4]).
    SigintHandler,
    /// `sigint`: SIGINT arrives ([SIG-2]).
    Sigint,
    /// `origin`: a context's origin ([ORIG-1], [OBS-7]).
    #[serde(rename = "origin")]
    OriginOf {
        /// The context.
        ctx: CtxName,
    },
    /// `origin_frame`: `get_origin_stackframe(limit)` ([ORIG-4]).
    OriginFrame {
        /// How many frames out ([ORIG-4]).
        limit: u8,
    },
    /// `push_with_origin`: a push with a given origin ([ORIG-1]).
    PushWithOrigin {
        /// The context.
        ctx: CtxName,
        /// The operation whose location is the origin ([OBS-7]).
        origin: u32,
    },
    /// `with_drop`: drop the innermost scope without leaving it ([WITH-8]).
    WithDrop,
    /// `make_file`: a file in the scratch directory ([ES-2]).
    MakeFile {
        /// The file's name.
        path: DirName,
    },
    /// `is_local_execution` ([COND-2]).
    IsLocalExecution {
        /// The execution state.
        es: EsName,
    },
    /// `builder_new_es`: a builder's `new_execution_state` ([BLD-6]).
    BuilderNewEs {
        /// The context whose builder it starts from ([BLD-1]).
        from: CtxName,
        /// The builder steps, in order ([TRACE-3]).
        steps: Vec<Step>,
        /// The working directory, or null.
        working_dir: Option<DirName>,
    },
    /// `builder_new_cs`: a builder's `new_compilation_state` ([BLD-7]).
    BuilderNewCs {
        /// The context whose builder it starts from ([BLD-1]).
        from: CtxName,
        /// The builder steps, in order ([TRACE-3]).
        steps: Vec<Step>,
        /// The prefix.
        prefix: String,
    },
    /// `thread_begin`: the operations up to `thread_end` run on a new thread ([TRACE-5]).
    ThreadBegin,
    /// `thread_end`: join the thread.
    ThreadEnd,
    /// `task_begin`: the operations up to `task_end` run in a new task ([TRACE-5]).
    TaskBegin,
    /// `task_end`: await the task.
    TaskEnd,
}

/// What kind of bracket an operation opens or closes ([TRACE-5]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bracket {
    /// `with_enter` .. `with_exit` (or `with_drop`).
    With,
    /// `thread_begin` .. `thread_end`.
    Thread,
    /// `task_begin` .. `task_end`.
    Task,
}

impl Bracket {
    /// The operation that opens a bracket of this kind.
    pub fn opener(self) -> &'static str {
        match self {
            Bracket::With => "with_enter",
            Bracket::Thread => "thread_begin",
            Bracket::Task => "task_begin",
        }
    }
}

impl Op {
    /// The `op` string of this operation.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Reset => "reset",
            Op::Initialize => "initialize",
            Op::Current => "current",
            Op::Size => "size",
            Op::Push { .. } => "push",
            Op::Pop => "pop",
            Op::NewContext { .. } => "new_context",
            Op::Build { .. } => "build",
            Op::WithEnter { .. } => "with_enter",
            Op::WithExit { .. } => "with_exit",
            Op::Observe { .. } => "observe",
            Op::UserSpaceParams { .. } => "user_space_params",
            Op::NewOpaque => "new_opaque",
            Op::NewEs { .. } => "new_es",
            Op::EsWithParams { .. } => "es_with_params",
            Op::CtxNewEs { .. } => "ctx_new_es",
            Op::TakeBranch { .. } => "take_branch",
            Op::BranchComplete { .. } => "branch_complete",
            Op::NewCs { .. } => "new_cs",
            Op::CsWithParams { .. } => "cs_with_params",
            Op::CtxNewCs { .. } => "ctx_new_cs",
            Op::AddNode { .. } => "add_node",
            Op::AddSignalHandler { .. } => "add_signal_handler",
            Op::SetProgramHandler { .. } => "set_program_handler",
            Op::SigintHandler => "sigint_handler",
            Op::Sigint => "sigint",
            Op::OriginOf { .. } => "origin",
            Op::OriginFrame { .. } => "origin_frame",
            Op::PushWithOrigin { .. } => "push_with_origin",
            Op::WithDrop => "with_drop",
            Op::MakeFile { .. } => "make_file",
            Op::IsLocalExecution { .. } => "is_local_execution",
            Op::BuilderNewEs { .. } => "builder_new_es",
            Op::BuilderNewCs { .. } => "builder_new_cs",
            Op::ThreadBegin => "thread_begin",
            Op::ThreadEnd => "thread_end",
            Op::TaskBegin => "task_begin",
            Op::TaskEnd => "task_end",
        }
    }

    /// The kind of bracket this operation opens, if any ([TRACE-5]).
    pub fn opens(&self) -> Option<Bracket> {
        match self {
            Op::WithEnter { .. } => Some(Bracket::With),
            Op::ThreadBegin => Some(Bracket::Thread),
            Op::TaskBegin => Some(Bracket::Task),
            _ => None,
        }
    }

    /// The kind of bracket this operation closes, if any ([TRACE-5]).
    pub fn closes(&self) -> Option<Bracket> {
        match self {
            Op::WithExit { .. } | Op::WithDrop => Some(Bracket::With),
            Op::ThreadEnd => Some(Bracket::Thread),
            Op::TaskEnd => Some(Bracket::Task),
            _ => None,
        }
    }

    /// [FEAT-2]: the feature this operation belongs to, apart from its steps.
    pub fn feature(&self) -> Feature {
        match self {
            Op::Reset
            | Op::Initialize
            | Op::Current
            | Op::Size
            | Op::Push { .. }
            | Op::Pop
            | Op::Build { .. }
            | Op::Observe { .. } => Feature::Stack,
            Op::WithEnter { .. } | Op::WithExit { .. } | Op::WithDrop => Feature::With,
            Op::NewContext { .. } | Op::NewOpaque => Feature::Builders,
            Op::UserSpaceParams { .. }
            | Op::NewEs { .. }
            | Op::EsWithParams { .. }
            | Op::CtxNewEs { .. }
            | Op::TakeBranch { .. }
            | Op::BranchComplete { .. }
            | Op::IsLocalExecution { .. }
            | Op::BuilderNewEs { .. }
            | Op::MakeFile { .. } => Feature::ExecutionStates,
            Op::NewCs { .. }
            | Op::CsWithParams { .. }
            | Op::CtxNewCs { .. }
            | Op::AddNode { .. }
            | Op::BuilderNewCs { .. } => Feature::CompilationStates,
            Op::ThreadBegin | Op::ThreadEnd => Feature::Threads,
            Op::TaskBegin | Op::TaskEnd => Feature::Tasks,
            Op::AddSignalHandler { .. }
            | Op::SetProgramHandler { .. }
            | Op::SigintHandler
            | Op::Sigint => Feature::Signals,
            Op::OriginOf { .. } | Op::OriginFrame { .. } | Op::PushWithOrigin { .. } => {
                Feature::Origins
            }
        }
    }

    /// The builder steps of this operation (none but for those that make a
    /// builder: `build`, `with_enter`, `builder_new_es`, `builder_new_cs`).
    pub fn steps(&self) -> &[Step] {
        match self {
            Op::Build { steps, .. }
            | Op::WithEnter { steps, .. }
            | Op::BuilderNewEs { steps, .. }
            | Op::BuilderNewCs { steps, .. } => steps,
            _ => &[],
        }
    }

    /// [FEAT-2]: the features a port needs to run this operation: its own
    /// and those of its steps.
    pub fn features(&self) -> FeatureSet {
        let mut set = FeatureSet::only(self.feature());
        for step in self.steps() {
            set.insert(step.feature());
        }
        set
    }

    /// The execution mode this operation names, if any ([ES-3]).
    pub fn mode(&self) -> Option<Mode> {
        match self {
            Op::NewEs { mode, .. } | Op::EsWithParams { mode, .. } => *mode,
            _ => None,
        }
    }

    /// The clauses of spec.md this operation exercises, for reports of
    /// divergences and for the coverage report.
    pub fn clauses(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = match self {
            Op::Reset => vec!["INIT-1", "SIG-3"],
            Op::Initialize => vec!["INIT-2", "INIT-3", "INIT-4", "INIT-5"],
            Op::Current => vec!["CUR-1", "CUR-2", "INIT-3", "INIT-4"],
            Op::Size => vec!["SIZE-1"],
            Op::Push { .. } => vec!["PUSH-1", "PUSH-2"],
            Op::Pop => vec!["POP-1", "POP-2", "POP-3"],
            Op::NewContext { .. } => vec!["CTX-2"],
            Op::Build { .. } => vec!["BLD-1", "BLD-2"],
            Op::WithEnter { .. } => vec!["WITH-1", "BLD-1", "BLD-2"],
            Op::WithExit { .. } => vec!["WITH-2", "WITH-3", "WITH-4", "WITH-5", "RUN-2"],
            Op::Observe { .. } => vec!["OBS-2", "OBS-3", "CTX-4", "ALIAS-1"],
            Op::UserSpaceParams { .. } => vec!["CTX-3"],
            Op::NewOpaque => vec!["OBS-4"],
            Op::NewEs { .. } => vec!["ES-1", "ES-2", "ES-3"],
            Op::EsWithParams { .. } => vec!["ES-4", "ES-2", "PORT-3"],
            Op::CtxNewEs { .. } => vec!["ES-8", "ES-2", "PORT-4"],
            Op::TakeBranch { .. } => vec!["ES-5", "ALIAS-1"],
            Op::BranchComplete { .. } => vec!["ES-6", "ALIAS-1"],
            Op::NewCs { .. } => vec!["CS-1"],
            Op::CsWithParams { .. } => vec!["CS-3", "CS-4", "PORT-3"],
            Op::CtxNewCs { .. } => vec!["CS-6", "BLD-5"],
            Op::AddNode { .. } => vec!["CS-2", "ALIAS-1"],
            Op::AddSignalHandler { .. } => vec!["SIG-1"],
            Op::SetProgramHandler { .. } | Op::SigintHandler => vec!["SIG-4"],
            Op::Sigint => vec!["SIG-2", "SIG-3", "SIG-4", "PORT-1"],
            Op::OriginOf { .. } => vec!["ORIG-1", "ORIG-2", "ORIG-3", "OBS-7"],
            Op::OriginFrame { .. } => vec!["ORIG-4", "OBS-7"],
            Op::PushWithOrigin { .. } => vec!["PUSH-1", "PUSH-3", "ORIG-1"],
            Op::WithDrop => vec!["WITH-8", "WITH-2"],
            Op::MakeFile { .. } => vec!["ES-2"],
            Op::IsLocalExecution { .. } => vec!["COND-2"],
            Op::BuilderNewEs { .. } => vec!["BLD-6", "ES-2", "PORT-4"],
            Op::BuilderNewCs { .. } => vec!["BLD-7"],
            Op::ThreadBegin | Op::ThreadEnd => vec!["THR-1", "THR-2", "THR-3", "THR-4"],
            Op::TaskBegin | Op::TaskEnd => vec!["TASK-1", "TASK-2", "TASK-3"],
        };
        if !self.steps().is_empty() {
            for step in self.steps() {
                out.extend(match step {
                    Step::EnterConditionalSection => &[
                        "COND-1", "COND-2", "COND-3", "COND-4", "COND-5", "COND-6", "COND-7",
                        "COND-8",
                    ][..],
                    Step::WithNewCompilationState => &["BLD-4"][..],
                    Step::ContextWithNewCompilationState => &["BLD-5", "CS-6"][..],
                    _ => &["BLD-3"][..],
                });
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| seen.insert(*c));
        out
    }

    /// The line form: one JSON object, no trailing newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an Op always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_of_a_build_include_those_of_its_steps() {
        let build = |steps| Op::Build {
            from: CtxName(0),
            steps,
        };
        let c = build(vec![Step::EnterConditionalSection]).clauses();
        assert!(
            c.contains(&"COND-3") && c.contains(&"BLD-2") && !c.contains(&"BLD-4"),
            "{c:?}"
        );
        let c = build(vec![
            Step::WithNewCompilationState,
            Step::WithNewCompilationState,
        ])
        .clauses();
        assert_eq!(
            c.iter().filter(|&&x| x == "BLD-4").count(),
            1,
            "each clause once: {c:?}"
        );
        let c = build(vec![Step::WithSlot(Slot::FlyteClient, None)]).clauses();
        assert!(c.contains(&"BLD-3") && !c.contains(&"COND-1"), "{c:?}");
        assert_eq!(Op::Pop.clauses(), vec!["POP-1", "POP-2", "POP-3"]);
    }
}
