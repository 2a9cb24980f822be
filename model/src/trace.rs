//! The trace language, version 1 (spec.md section 13): its operations, how a
//! line is decoded, and the structural rules a whole trace obeys.
//!
//! Decoding is done field by field over serde_json's raw values rather than
//! with a derived `Deserialize` on the tagged enum: a derived internally tagged
//! enum buffers the object and loses positions, and [TRACE-9] wants the column
//! of the offending field in every error.

use crate::names::{AnyName, CsName, CtxName, EsName, OpaqueName};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The version of the trace language this crate reads and writes ([TRACE-1]).
pub const TRACE_VERSION: u64 = 1;

/// Execution modes ([ES-3]), spelled as flytekit's enum members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    TaskExecution,
    LocalWorkflowExecution,
    LocalTaskExecution,
    DynamicTaskExecution,
    EagerExecution,
    EagerLocalExecution,
    LocalDynamicTaskExecution,
}

impl Mode {
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
    #[serde(rename = "BRANCH_ACTIVE")]
    Active,
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
    pub fn new(s: &str) -> Option<DirName> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        let ok = s.is_empty() || (s.len() <= 64 && s.chars().all(allowed) && s != "." && s != "..");
        ok.then(|| DirName(s.to_string()))
    }
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
    FileAccess,
    FlyteClient,
    SerializationSettings,
    OutputMetadataTracker,
    WorkerQueue,
}

impl Slot {
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

/// One builder step ([TRACE-3]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    EnterConditionalSection,
    WithNewCompilationState,
    WithExecutionState(Option<EsName>),
    WithCompilationState(Option<CsName>),
    WithSlot(Slot, Option<OpaqueName>),
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Step::EnterConditionalSection => s.serialize_str("enter_conditional_section"),
            Step::WithNewCompilationState => s.serialize_str("with_new_compilation_state"),
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

const STEP_EXPECTING: &str = "a builder step: \"enter_conditional_section\", \"with_new_compilation_state\", or a one-field object such as {\"with_execution_state\": \"es0\"}";

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
    Reset,
    Initialize,
    Current,
    Size,
    Push {
        ctx: CtxName,
    },
    Pop,
    NewContext {
        file_access: Option<OpaqueName>,
    },
    Build {
        from: CtxName,
        steps: Vec<Step>,
    },
    WithEnter {
        from: CtxName,
        steps: Vec<Step>,
    },
    WithExit {
        raise: Option<String>,
    },
    Observe {
        #[serde(rename = "ref")]
        target: AnyName,
    },
    UserSpaceParams {
        ctx: CtxName,
    },
    NewOpaque,
    NewEs {
        working_dir: DirName,
        mode: Option<Mode>,
        engine_dir: Option<DirName>,
        branch_eval_mode: Option<Branch>,
        user_space_params: Option<OpaqueName>,
    },
    EsWithParams {
        es: EsName,
        working_dir: Option<DirName>,
        mode: Option<Mode>,
        engine_dir: Option<DirName>,
        branch_eval_mode: Option<Branch>,
        user_space_params: Option<OpaqueName>,
    },
    CtxNewEs {
        ctx: CtxName,
        working_dir: Option<DirName>,
    },
    TakeBranch {
        es: EsName,
    },
    BranchComplete {
        es: EsName,
    },
    NewCs {
        prefix: String,
        mode: i64,
        task_resolver: Option<OpaqueName>,
    },
    CsWithParams {
        cs: CsName,
        prefix: Option<String>,
        mode: Option<i64>,
        task_resolver: Option<OpaqueName>,
        nodes_of: Option<CsName>,
    },
    CtxNewCs {
        ctx: CtxName,
        prefix: String,
    },
    AddNode {
        cs: CsName,
    },
    AddSignalHandler {
        tag: String,
    },
    Sigint,
    ThreadBegin,
    ThreadEnd,
    TaskBegin,
    TaskEnd,
}

/// What kind of bracket an operation opens or closes ([TRACE-5]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bracket {
    With,
    Thread,
    Task,
}

impl Bracket {
    fn opener(self) -> &'static str {
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
            Op::Sigint => "sigint",
            Op::ThreadBegin => "thread_begin",
            Op::ThreadEnd => "thread_end",
            Op::TaskBegin => "task_begin",
            Op::TaskEnd => "task_end",
        }
    }

    pub fn opens(&self) -> Option<Bracket> {
        match self {
            Op::WithEnter { .. } => Some(Bracket::With),
            Op::ThreadBegin => Some(Bracket::Thread),
            Op::TaskBegin => Some(Bracket::Task),
            _ => None,
        }
    }

    pub fn closes(&self) -> Option<Bracket> {
        match self {
            Op::WithExit { .. } => Some(Bracket::With),
            Op::ThreadEnd => Some(Bracket::Thread),
            Op::TaskEnd => Some(Bracket::Task),
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
            Op::Push { .. } => vec!["PUSH-1", "PUSH-2", "STK-1"],
            Op::Pop => vec!["POP-1", "POP-2", "POP-3", "STK-1"],
            Op::NewContext { .. } => vec!["CTX-2"],
            Op::Build { .. } => vec!["BLD-1", "BLD-2"],
            Op::WithEnter { .. } => vec!["WITH-1", "BLD-1", "BLD-2"],
            Op::WithExit { .. } => vec!["WITH-2", "WITH-3", "WITH-4", "WITH-5", "RUN-2"],
            Op::Observe { .. } => vec!["OBS-2", "OBS-3", "CTX-4", "ALIAS-1"],
            Op::UserSpaceParams { .. } => vec!["CTX-3"],
            Op::NewOpaque => vec!["OBS-4"],
            Op::NewEs { .. } => vec!["ES-1", "ES-2", "ES-3"],
            Op::EsWithParams { .. } => vec!["ES-4"],
            Op::CtxNewEs { .. } => vec!["ES-8"],
            Op::TakeBranch { .. } => vec!["ES-5", "ALIAS-1"],
            Op::BranchComplete { .. } => vec!["ES-6", "ALIAS-1"],
            Op::NewCs { .. } => vec!["CS-1"],
            Op::CsWithParams { .. } => vec!["CS-3", "CS-4"],
            Op::CtxNewCs { .. } => vec!["CS-6", "BLD-5"],
            Op::AddNode { .. } => vec!["CS-2", "ALIAS-1"],
            Op::AddSignalHandler { .. } => vec!["SIG-1"],
            Op::Sigint => vec!["SIG-2", "SIG-3", "SIG-4"],
            Op::ThreadBegin | Op::ThreadEnd => vec!["THR-1", "THR-2", "THR-3", "THR-4"],
            Op::TaskBegin | Op::TaskEnd => vec!["TASK-1", "TASK-2", "TASK-3"],
        };
        if let Op::Build { steps, .. } | Op::WithEnter { steps, .. } = self {
            for step in steps {
                out.extend(match step {
                    Step::EnterConditionalSection => &[
                        "COND-1", "COND-2", "COND-3", "COND-4", "COND-5", "COND-6", "COND-7",
                    ][..],
                    Step::WithNewCompilationState => &["BLD-4"][..],
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

/// The header line of a trace file ([TRACE-1]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub flytectx_trace: u64,
    pub title: String,
    pub profiles: Vec<crate::Profile>,
    pub clauses: Vec<String>,
}

/// Where a decoding problem is: 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for DecodeError {}

/// The 1-based character column of byte offset `byte` in `line`.
pub fn char_column(line: &str, byte: usize) -> usize {
    let mut b = byte.min(line.len());
    while !line.is_char_boundary(b) {
        b -= 1;
    }
    line[..b].chars().count() + 1
}

/// The fields of one JSON object line, kept as raw text so that each field
/// can be decoded on its own and its errors placed in the line.
struct Fields<'a> {
    line: &'a str,
    line_no: usize,
    entries: Vec<(Key<'a>, &'a RawValue, bool)>,
}

/// An object key, with its byte offset in the line when serde_json could
/// borrow it (keys with escapes cannot be, and then the value's offset is used).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

struct Entries<'a>(Vec<(Key<'a>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out: Vec<(Key<'de>, &'de RawValue)> = Vec::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    if out.iter().any(|(k, _)| k.0 == key.0) {
                        return Err(de::Error::custom(format!("duplicate field `{}`", key.0)));
                    }
                    let value: &'de RawValue = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Fields<'a> {
    fn parse(line: &'a str, line_no: usize) -> Result<Fields<'a>, DecodeError> {
        let entries: Entries<'a> = serde_json::from_str(line).map_err(|e| DecodeError {
            line: line_no,
            column: serde_column(line, 0, &e),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_string(),
        })?;
        Ok(Fields {
            line,
            line_no,
            entries: entries.0.into_iter().map(|(k, v)| (k, v, false)).collect(),
        })
    }

    fn offset_of(&self, s: &str) -> usize {
        (s.as_ptr() as usize).saturating_sub(self.line.as_ptr() as usize)
    }

    fn error_at(&self, byte: usize, message: String) -> DecodeError {
        DecodeError {
            line: self.line_no,
            column: char_column(self.line, byte),
            message,
        }
    }

    /// Decode required field `key` as a `T`; `what` names the operation for messages.
    fn req<T: DeserializeOwned>(&mut self, key: &str, what: &str) -> Result<T, DecodeError> {
        let Some(i) = self.entries.iter().position(|(k, _, _)| k.0 == key) else {
            return Err(self.error_at(0, format!("`{what}` needs the field `{key}`")));
        };
        self.entries[i].2 = true;
        let raw = self.entries[i].1.get();
        let start = self.offset_of(raw);
        serde_json::from_str::<T>(raw).map_err(|e| {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or("");
            // serde_json places value errors after the value; for a scalar the
            // start of the value is the better column, inside a list or object
            // serde's own position finds the element.
            let compound = raw.starts_with('[') || raw.starts_with('{');
            DecodeError {
                line: self.line_no,
                column: if compound {
                    serde_column(self.line, start, &e)
                } else {
                    char_column(self.line, start)
                },
                message: format!("field `{key}`: {message}"),
            }
        })
    }

    /// Refuse any field not yet taken.
    fn finish(self, what: &str, allowed_extra: &[&str]) -> Result<(), DecodeError> {
        for (key, raw, used) in &self.entries {
            if !used && !allowed_extra.contains(&key.0.as_ref()) {
                let at = match &key.0 {
                    // The key text starts one byte after its opening quote.
                    Cow::Borrowed(k) => self.offset_of(k).saturating_sub(1),
                    Cow::Owned(_) => self.offset_of(raw.get()),
                };
                return Err(self.error_at(at, format!("`{what}` has no field `{}`", key.0)));
            }
        }
        Ok(())
    }
}

/// The character column of a serde_json error that arose decoding the text at
/// byte `start` of `line`.
fn serde_column(line: &str, start: usize, e: &serde_json::Error) -> usize {
    // serde_json counts columns in bytes from 1; 0 means "no position".
    let within = e.column().saturating_sub(1);
    char_column(line, start + within)
}

/// Decode one operation line. With `allow_expect`, an `expect` field is
/// accepted and returned as raw JSON (corpus files, [TRACE-8]).
pub fn decode_op_line(
    line: &str,
    line_no: usize,
    allow_expect: bool,
) -> Result<(Op, Option<serde_json::Value>), DecodeError> {
    let mut f = Fields::parse(line, line_no)?;
    let name: String = f.req("op", "an operation line")?;
    let what = name.as_str();
    let op = match what {
        "reset" => Op::Reset,
        "initialize" => Op::Initialize,
        "current" => Op::Current,
        "size" => Op::Size,
        "push" => Op::Push {
            ctx: f.req("ctx", what)?,
        },
        "pop" => Op::Pop,
        "new_context" => Op::NewContext {
            file_access: f.req("file_access", what)?,
        },
        "build" => Op::Build {
            from: f.req("from", what)?,
            steps: f.req("steps", what)?,
        },
        "with_enter" => Op::WithEnter {
            from: f.req("from", what)?,
            steps: f.req("steps", what)?,
        },
        "with_exit" => Op::WithExit {
            raise: f.req("raise", what)?,
        },
        "observe" => Op::Observe {
            target: f.req("ref", what)?,
        },
        "user_space_params" => Op::UserSpaceParams {
            ctx: f.req("ctx", what)?,
        },
        "new_opaque" => Op::NewOpaque,
        "new_es" => Op::NewEs {
            working_dir: f.req("working_dir", what)?,
            mode: f.req("mode", what)?,
            engine_dir: f.req("engine_dir", what)?,
            branch_eval_mode: f.req("branch_eval_mode", what)?,
            user_space_params: f.req("user_space_params", what)?,
        },
        "es_with_params" => Op::EsWithParams {
            es: f.req("es", what)?,
            working_dir: f.req("working_dir", what)?,
            mode: f.req("mode", what)?,
            engine_dir: f.req("engine_dir", what)?,
            branch_eval_mode: f.req("branch_eval_mode", what)?,
            user_space_params: f.req("user_space_params", what)?,
        },
        "ctx_new_es" => Op::CtxNewEs {
            ctx: f.req("ctx", what)?,
            working_dir: f.req("working_dir", what)?,
        },
        "take_branch" => Op::TakeBranch {
            es: f.req("es", what)?,
        },
        "branch_complete" => Op::BranchComplete {
            es: f.req("es", what)?,
        },
        "new_cs" => Op::NewCs {
            prefix: f.req("prefix", what)?,
            mode: f.req("mode", what)?,
            task_resolver: f.req("task_resolver", what)?,
        },
        "cs_with_params" => Op::CsWithParams {
            cs: f.req("cs", what)?,
            prefix: f.req("prefix", what)?,
            mode: f.req("mode", what)?,
            task_resolver: f.req("task_resolver", what)?,
            nodes_of: f.req("nodes_of", what)?,
        },
        "ctx_new_cs" => Op::CtxNewCs {
            ctx: f.req("ctx", what)?,
            prefix: f.req("prefix", what)?,
        },
        "add_node" => Op::AddNode {
            cs: f.req("cs", what)?,
        },
        "add_signal_handler" => Op::AddSignalHandler {
            tag: f.req("tag", what)?,
        },
        "sigint" => Op::Sigint,
        "thread_begin" => Op::ThreadBegin,
        "thread_end" => Op::ThreadEnd,
        "task_begin" => Op::TaskBegin,
        "task_end" => Op::TaskEnd,
        other => {
            let at = f
                .entries
                .iter()
                .find(|(k, _, _)| k.0 == "op")
                .map(|(_, v, _)| f.offset_of(v.get()))
                .unwrap_or(0);
            return Err(f.error_at(
                at,
                format!("unknown operation `{other}`; spec.md [TRACE-2] lists the operations"),
            ));
        }
    };
    // Decoded like any field: valid JSON can still be out of a Value's range
    // (a number such as 1e999).
    let has_expect = allow_expect && f.entries.iter().any(|(k, _, _)| k.0 == "expect");
    let expect = if has_expect {
        Some(f.req::<serde_json::Value>("expect", what)?)
    } else {
        None
    };
    f.finish(what, &[])?;
    Ok((op, expect))
}

/// A trace read from a file: header, and each operation with its line number
/// and, in a corpus file, its expected answer.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFile {
    pub header: Header,
    pub ops: Vec<Op>,
    pub lines: Vec<usize>,
    pub expects: Vec<Option<serde_json::Value>>,
}

/// Read a whole trace from bytes ([TRACE-1], [TRACE-9]); structural rules
/// ([TRACE-5], [TRACE-6]) are checked too. Nothing is run.
pub fn parse_trace(bytes: &[u8]) -> Result<TraceFile, DecodeError> {
    let mut header: Option<Header> = None;
    let mut ops = Vec::new();
    let mut lines = Vec::new();
    let mut expects = Vec::new();
    for (i, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let line = std::str::from_utf8(raw_line).map_err(|e| {
            let valid = std::str::from_utf8(&raw_line[..e.valid_up_to()]).unwrap_or("");
            DecodeError {
                line: line_no,
                column: valid.chars().count() + 1,
                message: "invalid UTF-8 (a trace is UTF-8 text)".to_string(),
            }
        })?;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if header.is_none() {
            header = Some(decode_header(line, line_no)?);
            continue;
        }
        let (op, expect) = decode_op_line(line, line_no, true)?;
        ops.push(op);
        lines.push(line_no);
        expects.push(expect);
    }
    let header = header.ok_or(DecodeError {
        line: 1,
        column: 1,
        message:
            "empty trace: the first line must be a header such as {\"flytectx_trace\": 1, ...}"
                .to_string(),
    })?;
    check_structure(&ops, &lines)?;
    Ok(TraceFile {
        header,
        ops,
        lines,
        expects,
    })
}

/// Decode the header line ([TRACE-1]).
pub fn decode_header(line: &str, line_no: usize) -> Result<Header, DecodeError> {
    let header: Header = serde_json::from_str(line).map_err(|e| {
        let message = e.to_string();
        DecodeError {
            line: line_no,
            column: serde_column(line, 0, &e),
            message: format!(
                "header: {} (the first line is {{\"flytectx_trace\": 1, \"title\": ..., \"profiles\": [...], \"clauses\": [...]}})",
                message.split(" at line ").next().unwrap_or("")
            ),
        }
    })?;
    if header.flytectx_trace != TRACE_VERSION {
        return Err(DecodeError {
            line: line_no,
            column: 1,
            message: format!(
                "trace language version {} is not known here; this reader knows version {TRACE_VERSION}",
                header.flytectx_trace
            ),
        });
    }
    Ok(header)
}

/// [TRACE-5], [TRACE-6]: brackets nest, `reset` and `sigint` stand outside
/// every bracket, and `sigint` is last. `lines[i]` is the line of `ops[i]`.
pub fn check_structure(ops: &[Op], lines: &[usize]) -> Result<(), DecodeError> {
    let line_of = |i: usize| lines.get(i).copied().unwrap_or(i + 1);
    let mut open: Vec<(Bracket, usize)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let err = |message: String| DecodeError {
            line: line_of(i),
            column: 1,
            message,
        };
        if let Some(b) = op.opens() {
            open.push((b, line_of(i)));
        } else if let Some(b) = op.closes() {
            match open.pop() {
                None => {
                    return Err(err(format!(
                        "`{}` closes nothing: no `{}` is open",
                        op.name(),
                        b.opener()
                    )))
                }
                Some((o, at)) if o != b => {
                    return Err(err(format!(
                        "`{}` cannot close the `{}` opened on line {at}",
                        op.name(),
                        o.opener()
                    )))
                }
                Some(_) => {}
            }
        } else if matches!(op, Op::Reset | Op::Sigint) {
            if let Some((o, at)) = open.last() {
                return Err(err(format!(
                    "`{}` must stand outside every bracket; the `{}` of line {at} is open",
                    op.name(),
                    o.opener()
                )));
            }
            if matches!(op, Op::Sigint) && i + 1 != ops.len() {
                return Err(err(
                    "`sigint` ends the process, so it must be the last operation".to_string(),
                ));
            }
        }
    }
    if let Some((o, at)) = open.last() {
        return Err(DecodeError {
            line: at.to_owned(),
            column: 1,
            message: format!("this `{}` is never closed", o.opener()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(line: &str) -> Result<Op, DecodeError> {
        decode_op_line(line, 7, false).map(|(op, _)| op)
    }

    /// [TRACE-2], [TRACE-3]: every operation and step has one line form.
    #[test]
    fn every_operation_survives_a_round_trip_through_its_line() {
        let ops = vec![
            Op::Reset,
            Op::Push { ctx: CtxName(3) },
            Op::Build {
                from: CtxName(0),
                steps: vec![
                    Step::EnterConditionalSection,
                    Step::WithNewCompilationState,
                    Step::WithExecutionState(Some(EsName(1))),
                    Step::WithCompilationState(None),
                    Step::WithSlot(Slot::WorkerQueue, Some(OpaqueName::DefaultFileAccess)),
                ],
            },
            Op::WithExit {
                raise: Some("user_error".into()),
            },
            Op::Observe {
                target: AnyName::Cs(CsName(2)),
            },
            Op::NewEs {
                working_dir: DirName::new("w1").unwrap(),
                mode: Some(Mode::LocalTaskExecution),
                engine_dir: None,
                branch_eval_mode: Some(Branch::Skipped),
                user_space_params: Some(OpaqueName::Numbered(4)),
            },
            Op::CsWithParams {
                cs: CsName(0),
                prefix: None,
                mode: Some(0),
                task_resolver: None,
                nodes_of: Some(CsName(0)),
            },
            Op::Sigint,
        ];
        for op in ops {
            let line = op.to_line();
            assert_eq!(decode(&line).unwrap(), op, "{line}");
        }
    }

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
        assert_eq!(Op::Pop.clauses(), vec!["POP-1", "POP-2", "POP-3", "STK-1"]);
    }

    #[test]
    fn errors_name_the_column_of_the_offending_field() {
        let line = r#"{"op":"push","ctx":"es1"}"#;
        let e = decode(line).unwrap_err();
        assert_eq!((e.line, e.column), (7, 20), "{e}");
        assert!(e.message.contains("a context name"), "{e}");

        let e = decode(r#"{"op":"push"}"#).unwrap_err();
        assert!(e.message.contains("needs the field `ctx`"), "{e}");

        let e = decode(r#"{"op":"pop","zzz":1}"#).unwrap_err();
        assert_eq!(e.column, 13, "{e}");
        assert!(e.message.contains("no field `zzz`"), "{e}");

        let e = decode(r#"{"op":"fly"}"#).unwrap_err();
        assert_eq!(e.column, 7, "{e}");
        assert!(e.message.contains("unknown operation `fly`"), "{e}");

        let e = decode(r#"{"op":"new_cs","prefix":"p","mode":1e400,"task_resolver":null}"#)
            .unwrap_err();
        assert!(e.message.contains("field `mode`"), "{e}");

        let e = decode(r#"{"op":"build","from":"c0","steps":["enter", 1]}"#).unwrap_err();
        assert!(e.message.contains("builder step"), "{e}");

        let e = decode(r#"{"op":"pop","op":"pop"}"#).unwrap_err();
        assert!(e.message.contains("duplicate field"), "{e}");

        let e = decode("{\"op\":\"pop\"").unwrap_err();
        assert!(e.column >= 11, "{e}");

        let e = decode(r#"{"op":"new_es","working_dir":"../x","mode":null,"engine_dir":null,"branch_eval_mode":null,"user_space_params":null}"#).unwrap_err();
        assert!(e.message.contains("directory name"), "[TRACE-4]: {e}");
    }

    #[test]
    fn a_column_inside_a_character_is_that_character_s() {
        let line = "aé b";
        assert_eq!(char_column(line, 0), 1);
        assert_eq!(
            (
                char_column(line, 1),
                char_column(line, 2),
                char_column(line, 3)
            ),
            (2, 2, 3)
        );
        assert_eq!(
            char_column(line, 99),
            5,
            "past the end: after the last character"
        );
    }

    #[test]
    fn an_error_inside_a_list_points_into_the_list() {
        let line = r#"{"op":"build","from":"c0","steps":["enter_conditional_section",5]}"#;
        let e = decode(line).unwrap_err();
        let list_starts = line.find('[').unwrap() + 1;
        assert!(e.column > list_starts + 20, "{e}");
        // A scalar's error points at the start of the value.
        let e = decode(r#"{"op":"push","ctx":5}"#).unwrap_err();
        assert_eq!(e.column, 20, "{e}");
    }

    #[test]
    fn structure_errors_count_lines_from_one_when_none_are_given() {
        let e = check_structure(&[Op::Size, Op::ThreadEnd], &[]).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn an_expected_answer_out_of_range_is_refused_not_a_panic() {
        // Found by the trace_parser fuzz target: valid JSON, but no Value holds it.
        let line = r#"{"op":"size","expect":{"ok":1e999}}"#;
        let e = decode_op_line(line, 3, true).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("field `expect`"), "{e}");
        let (_, expect) = decode_op_line(r#"{"op":"size","expect":{"ok":1}}"#, 1, true).unwrap();
        assert_eq!(expect, Some(serde_json::json!({"ok": 1})));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = decode(r#"{"op":"add_signal_handler","tag":"é","x":1}"#).unwrap_err();
        // The key's quote is character 38 (byte 39: `é` is two bytes).
        assert_eq!(e.column, 38, "{e}");
    }

    /// [TRACE-5], [TRACE-6]
    #[test]
    fn structure_rules_are_enforced_with_line_numbers() {
        let enter = Op::WithEnter {
            from: CtxName(0),
            steps: vec![],
        };
        let exit = Op::WithExit { raise: None };
        assert!(check_structure(&[enter.clone(), exit.clone()], &[2, 3]).is_ok());
        let e = check_structure(std::slice::from_ref(&exit), &[4]).unwrap_err();
        assert_eq!(e.line, 4);
        let e = check_structure(&[Op::ThreadBegin, exit.clone()], &[2, 3]).unwrap_err();
        assert!(
            e.message
                .contains("cannot close the `thread_begin` opened on line 2"),
            "{e}"
        );
        let e = check_structure(&[Op::Sigint, Op::Size], &[2, 3]).unwrap_err();
        assert!(e.message.contains("last operation"), "{e}");
        let e = check_structure(&[Op::TaskBegin, Op::Reset, Op::TaskEnd], &[2, 3, 4]).unwrap_err();
        assert_eq!(e.line, 3);
        let e = check_structure(&[enter], &[9]).unwrap_err();
        assert!(e.message.contains("never closed") && e.line == 9, "{e}");
    }

    /// [TRACE-1] (a header first), [TRACE-9]
    #[test]
    fn a_file_with_invalid_utf8_names_the_line_and_column() {
        let mut bytes =
            b"{\"flytectx_trace\":1,\"title\":\"t\",\"profiles\":[],\"clauses\":[]}\n{\"op\":\""
                .to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(b"\"}\n");
        let e = parse_trace(&bytes).unwrap_err();
        assert_eq!((e.line, e.column), (2, 8), "{e}");
    }
}
