//! Answers: what a port says an operation did ([OBS-1]..[OBS-6]), how an
//! answer line is checked ([PROTO-4]), and the naming of objects in
//! first-observation order, shared by every port written in Rust.

use crate::names::{CsName, CtxName, EsName, OpaqueName};
use crate::trace::{Branch, Mode, Slot};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

/// One answer line ([OBS-1]). Answers are equal when their JSON values are,
/// whatever the order of an object's fields ([PORT-5]).
///
/// A summary ([OBS-2], [OBS-3]) answered by a port written in Rust stays
/// typed ([`Answer::Summary`]): two such answers compare field by field with
/// no JSON built, which is most of the work of comparing an in-process port
/// with the model. It reads as JSON wherever JSON is wanted.
#[derive(Clone, Debug)]
pub enum Answer {
    /// `{"ok": value}`: the operation returned.
    Ok(Value),
    /// `{"ok": summary}`: the operation returned an object's summary.
    Summary(Summary),
    /// `{"err": kind}`: it failed.
    Err(String),
}

/// The summary of one object ([OBS-2], [OBS-3]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Summary {
    /// A context's.
    Context(Box<ContextSummary>),
    /// An execution state's.
    Es(Box<EsSummary>),
    /// A compilation state's.
    Cs(Box<CsSummary>),
}

impl Summary {
    fn to_value(&self) -> Value {
        let v = match self {
            Summary::Context(c) => serde_json::to_value(c),
            Summary::Es(e) => serde_json::to_value(e),
            Summary::Cs(c) => serde_json::to_value(c),
        };
        v.expect("summaries always serialize")
    }
}

impl PartialEq for Answer {
    fn eq(&self, other: &Answer) -> bool {
        match (self, other) {
            (Answer::Summary(a), Answer::Summary(b)) => a == b,
            (Answer::Ok(a), Answer::Ok(b)) => a == b,
            (Answer::Err(a), Answer::Err(b)) => a == b,
            (Answer::Err(_), _) | (_, Answer::Err(_)) => false,
            // A typed summary and JSON: compare as JSON.
            (a, b) => a.ok_value() == b.ok_value(),
        }
    }
}

impl Eq for Answer {}

impl From<ContextSummary> for Answer {
    fn from(s: ContextSummary) -> Answer {
        Answer::Summary(Summary::Context(Box::new(s)))
    }
}

impl From<EsSummary> for Answer {
    fn from(s: EsSummary) -> Answer {
        Answer::Summary(Summary::Es(Box::new(s)))
    }
}

impl From<CsSummary> for Answer {
    fn from(s: CsSummary) -> Answer {
        Answer::Summary(Summary::Cs(Box::new(s)))
    }
}

impl Answer {
    /// An `ok` answer with `v` as its value.
    pub fn ok(v: impl Serialize) -> Answer {
        Answer::Ok(serde_json::to_value(v).expect("answers always serialize"))
    }

    /// The value of an `ok` answer, as JSON; None for an error.
    pub fn ok_value(&self) -> Option<Value> {
        match self {
            Answer::Ok(v) => Some(v.clone()),
            Answer::Summary(s) => Some(s.to_value()),
            Answer::Err(_) => None,
        }
    }

    /// The answer as JSON.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        match self {
            Answer::Err(k) => m.insert("err".to_string(), Value::String(k.clone())),
            ok => m.insert("ok".to_string(), ok.ok_value().unwrap_or_default()),
        };
        Value::Object(m)
    }

    /// The answer as a line of the protocol.
    pub fn to_line(&self) -> String {
        self.to_value().to_string()
    }

    /// The error kind, when it is an error.
    pub fn err_kind(&self) -> Option<&str> {
        match self {
            Answer::Err(k) => Some(k),
            Answer::Ok(_) | Answer::Summary(_) => None,
        }
    }

    /// [PROTO-4]: an answer is exactly `{"ok": any}` or `{"err": "kind"}`.
    pub fn from_value(v: &Value) -> Result<Answer, String> {
        let Value::Object(m) = v else {
            return Err(format!("an answer is a JSON object, not {}", kind_of(v)));
        };
        if m.len() != 1 {
            return Err(format!(
                "an answer has exactly one field, `ok` or `err`; this one has {}",
                if m.is_empty() {
                    "none".to_string()
                } else {
                    m.keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        match m.iter().next() {
            Some((k, v)) if k == "ok" => Ok(Answer::Ok(v.clone())),
            Some((k, Value::String(s))) if k == "err" && !s.is_empty() => {
                Ok(Answer::Err(s.clone()))
            }
            Some((k, v)) if k == "err" => Err(format!(
                "`err` holds a non-empty string, not {}",
                kind_of(v)
            )),
            Some((k, _)) => Err(format!("an answer's field is `ok` or `err`, not `{k}`")),
            None => unreachable!("length checked"),
        }
    }

    /// [PROTO-4]: parse an answer line.
    pub fn parse_line(line: &str) -> Result<Answer, String> {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        Answer::from_value(&v)
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_line())
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The local sandbox directory of the default file-access provider, as
/// answers write it ([OBS-6]).
pub const SANDBOX_DIR: &str = "<sandbox>";

/// The name of a directory [BLD-6] makes with a random name, as answers
/// write it ([OBS-6]).
pub const RANDOM_DIR: &str = "<random>";

/// [OBS-6]: how a port reports directory `dir`, given the real path of the
/// default provider's sandbox: the sandbox reads `<sandbox>`, its
/// `engine_dir` stays as it is, and any other directory in it was made with
/// a random name ([BLD-6]) and reads `<sandbox>/<random>`, with what follows
/// it. Directories outside the sandbox read as given.
pub fn report_dir(dir: &str, sandbox: &str) -> String {
    let Some(rest) = dir.strip_prefix(sandbox) else {
        return dir.to_string();
    };
    let Some(inside) = rest.strip_prefix('/') else {
        return if rest.is_empty() {
            SANDBOX_DIR.to_string()
        } else {
            dir.to_string()
        };
    };
    let (first, after) = match inside.split_once('/') {
        Some((first, after)) => (first, format!("/{after}")),
        None => (inside, String::new()),
    };
    if first == "engine_dir" {
        format!("{SANDBOX_DIR}/{inside}")
    } else {
        format!("{SANDBOX_DIR}/{RANDOM_DIR}{after}")
    }
}

/// [OBS-2]: a context summary. Field order is the spec's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContextSummary {
    /// Its name ([OBS-4]).
    pub id: CtxName,
    /// Its level ([BLD-2]).
    pub level: i64,
    /// Whether it is in a conditional section ([COND-7]).
    pub in_a_condition: bool,
    /// Its compilation state, or none.
    pub compilation_state: Option<CsSummary>,
    /// Its execution state, or none.
    pub execution_state: Option<EsSummary>,
    /// The `file_access` opaque field ([CTX-1]).
    pub file_access: Option<OpaqueName>,
    /// The `flyte_client` opaque field.
    pub flyte_client: Option<OpaqueName>,
    /// The `serialization_settings` opaque field.
    pub serialization_settings: Option<OpaqueName>,
    /// The `output_metadata_tracker` opaque field.
    pub output_metadata_tracker: Option<OpaqueName>,
    /// The `worker_queue` opaque field.
    pub worker_queue: Option<OpaqueName>,
}

/// [OBS-3]: an execution state summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EsSummary {
    /// Its name ([OBS-4]).
    pub id: EsName,
    /// Its mode ([ES-3] for an execution state, an integer for a compilation state).
    pub mode: Option<Mode>,
    /// Its branch mode ([ES-3]).
    pub branch_eval_mode: Option<Branch>,
    /// Its working directory.
    pub working_dir: String,
    /// Its engine directory ([ES-2]).
    pub engine_dir: String,
    /// Its user-space parameters.
    pub user_space_params: Option<OpaqueName>,
}

/// [OBS-3]: a compilation state summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CsSummary {
    /// Its name ([OBS-4]).
    pub id: CsName,
    /// Its prefix.
    pub prefix: String,
    /// Its mode ([ES-3] for an execution state, an integer for a compilation state).
    pub mode: i64,
    /// Its task resolver.
    pub task_resolver: Option<OpaqueName>,
    /// Its node list ([CS-4]); in summaries, how many nodes it holds.
    pub nodes: usize,
}

/// [SIG-2]: the answer to `sigint` ([TRACE-2]): the handlers that ran, and
/// `exit` when the process exits, `raised` when a handler failed, neither
/// when the program's own handler returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SigintAnswer {
    /// The handlers that ran, in order.
    pub ran: Vec<HandlerRun>,
    /// The exit status, when the process exits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// The kind a handler failed with, when one did and the dispatch stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raised: Option<String>,
}

/// One handler that ran ([TRACE-2]): a handler of the list, by its `tag`, or
/// the program's own, by its `program` tag; with the signal number it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HandlerRun {
    /// A handler of the list, by its tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The program's own handler, by its tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The signal number it was given.
    pub signum: i32,
}

impl HandlerRun {
    /// A handler of the list, tagged `tag`, ran with `signum`.
    pub fn handler(tag: &str, signum: i32) -> HandlerRun {
        HandlerRun {
            tag: Some(tag.to_string()),
            program: None,
            signum,
        }
    }

    /// The program's own handler, tagged `tag`, ran with `signum`.
    pub fn program(tag: &str, signum: i32) -> HandlerRun {
        HandlerRun {
            tag: None,
            program: Some(tag.to_string()),
            signum,
        }
    }
}

/// What a port's objects look like, for summaries. A port implements this
/// over its own objects; [`Namer`] then names and summarizes them the same way
/// for every port.
pub trait ObjectView {
    /// A context, as the port knows it.
    type Ctx: Copy + Eq + Hash;
    /// An execution state.
    type Es: Copy + Eq + Hash;
    /// A compilation state.
    type Cs: Copy + Eq + Hash;
    /// An opaque value the port made; the defaults are told apart by `fixed_name`.
    type Opaque: Copy + Eq + Hash;

    /// What a context holds.
    fn context(&self, c: Self::Ctx) -> ContextView<Self::Es, Self::Cs, Self::Opaque>;
    /// What an execution state holds.
    fn execution_state(&self, e: Self::Es) -> EsView<Self::Opaque>;
    /// What a compilation state holds.
    fn compilation_state(&self, s: Self::Cs) -> CsView<Self::Opaque>;
    /// [OBS-5]: the fixed name of a default opaque value, or None.
    fn fixed_name(&self, o: Self::Opaque) -> Option<OpaqueName>;
}

/// What a context holds, in a port's own terms, for [`Namer`].
#[derive(Debug)]
pub struct ContextView<E, S, O> {
    /// Its level ([BLD-2]).
    pub level: i64,
    /// Whether it is in a conditional section ([COND-7]).
    pub in_a_condition: bool,
    /// Its compilation state, or none.
    pub compilation_state: Option<S>,
    /// Its execution state, or none.
    pub execution_state: Option<E>,
    /// In [`Slot::ALL`] order.
    pub slots: [Option<O>; 5],
}

/// What an execution state holds, for [`Namer`].
#[derive(Debug)]
pub struct EsView<O> {
    /// Its mode ([ES-3] for an execution state, an integer for a compilation state).
    pub mode: Option<Mode>,
    /// Its branch mode ([ES-3]).
    pub branch_eval_mode: Option<Branch>,
    /// Its working directory.
    pub working_dir: String,
    /// Its engine directory ([ES-2]).
    pub engine_dir: String,
    /// Its user-space parameters.
    pub user_space_params: Option<O>,
}

/// What a compilation state holds, for [`Namer`].
#[derive(Debug)]
pub struct CsView<O> {
    /// Its prefix.
    pub prefix: String,
    /// Its mode ([ES-3] for an execution state, an integer for a compilation state).
    pub mode: i64,
    /// Its task resolver.
    pub task_resolver: Option<O>,
    /// Its node list ([CS-4]); in summaries, how many nodes it holds.
    pub nodes: usize,
}

/// First-observation numbering of one kind of object ([OBS-4]).
#[derive(Clone, Debug)]
pub struct Numbering<K> {
    by_key: HashMap<K, u32>,
    keys: Vec<K>,
}

impl<K: Copy + Eq + Hash> Default for Numbering<K> {
    fn default() -> Self {
        Numbering {
            by_key: HashMap::new(),
            keys: Vec::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> Numbering<K> {
    /// The number of `k`, given now if `k` was never shown before.
    pub fn number(&mut self, k: K) -> u32 {
        if let Some(&n) = self.by_key.get(&k) {
            return n;
        }
        let n = u32::try_from(self.keys.len()).expect("fewer than 2^32 objects in one trace");
        self.keys.push(k);
        self.by_key.insert(k, n);
        n
    }

    /// The object named `n`, if an answer named it.
    pub fn get(&self, n: u32) -> Option<K> {
        self.keys.get(n as usize).copied()
    }

    /// How many objects have a name.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no object has a name yet.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The names given so far in one trace, per kind ([OBS-4]), keyed by a
/// port's own identities: `C`, `E`, `S`, `O` for contexts, execution states,
/// compilation states and opaque values. Summaries read the objects through
/// an [`ObjectView`] with those keys.
#[derive(Debug)]
pub struct Namer<C, E, S, O> {
    /// The names of contexts.
    pub contexts: Numbering<C>,
    /// The names of execution states.
    pub exec_states: Numbering<E>,
    /// The names of compilation states.
    pub comp_states: Numbering<S>,
    /// The names of opaque values.
    pub opaques: Numbering<O>,
}

impl<C: Copy + Eq + Hash, E: Copy + Eq + Hash, S: Copy + Eq + Hash, O: Copy + Eq + Hash> Default
    for Namer<C, E, S, O>
{
    fn default() -> Self {
        Namer {
            contexts: Numbering::default(),
            exec_states: Numbering::default(),
            comp_states: Numbering::default(),
            opaques: Numbering::default(),
        }
    }
}

impl<C: Copy + Eq + Hash, E: Copy + Eq + Hash, S: Copy + Eq + Hash, O: Copy + Eq + Hash>
    Namer<C, E, S, O>
{
    /// [OBS-5], [OBS-4]
    pub fn opaque<V: ObjectView<Opaque = O>>(&mut self, view: &V, o: O) -> OpaqueName {
        view.fixed_name(o)
            .unwrap_or_else(|| OpaqueName::Numbered(self.opaques.number(o)))
    }

    /// [OBS-2], numbering in field order ([OBS-4]): the context's own id, then
    /// its compilation state, its execution state, then the five slots.
    pub fn context<V: ObjectView<Ctx = C, Es = E, Cs = S, Opaque = O>>(
        &mut self,
        view: &V,
        c: C,
    ) -> ContextSummary {
        let id = CtxName(self.contexts.number(c));
        let v = view.context(c);
        let compilation_state = v.compilation_state.map(|s| self.compilation_state(view, s));
        let execution_state = v.execution_state.map(|e| self.execution_state(view, e));
        let [file_access, flyte_client, serialization_settings, output_metadata_tracker, worker_queue] =
            v.slots.map(|o| o.map(|o| self.opaque(view, o)));
        debug_assert_eq!(Slot::ALL[0], Slot::FileAccess);
        ContextSummary {
            id,
            level: v.level,
            in_a_condition: v.in_a_condition,
            compilation_state,
            execution_state,
            file_access,
            flyte_client,
            serialization_settings,
            output_metadata_tracker,
            worker_queue,
        }
    }

    /// [OBS-3]
    pub fn execution_state<V: ObjectView<Es = E, Opaque = O>>(
        &mut self,
        view: &V,
        e: E,
    ) -> EsSummary {
        let id = EsName(self.exec_states.number(e));
        let v = view.execution_state(e);
        EsSummary {
            id,
            mode: v.mode,
            branch_eval_mode: v.branch_eval_mode,
            working_dir: v.working_dir,
            engine_dir: v.engine_dir,
            user_space_params: v.user_space_params.map(|o| self.opaque(view, o)),
        }
    }

    /// [OBS-3]
    pub fn compilation_state<V: ObjectView<Cs = S, Opaque = O>>(
        &mut self,
        view: &V,
        s: S,
    ) -> CsSummary {
        let id = CsName(self.comp_states.number(s));
        let v = view.compilation_state(s);
        CsSummary {
            id,
            prefix: v.prefix,
            mode: v.mode,
            task_resolver: v.task_resolver.map(|o| self.opaque(view, o)),
            nodes: v.nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answer_lines_are_checked_strictly() {
        assert_eq!(
            Answer::parse_line(r#"{"ok":null}"#),
            Ok(Answer::Ok(Value::Null))
        );
        assert_eq!(
            Answer::parse_line(r#"{"err":"popped_root"}"#),
            Ok(Answer::Err("popped_root".into()))
        );
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"ok":1,"err":"x"}"#,
            r#"{"err":3}"#,
            r#"{"err":""}"#,
            r#"{"yes":1}"#,
            "ok",
            r#"{"ok":"#,
        ] {
            assert!(
                Answer::parse_line(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(Answer::Err("x".into()).to_value(), json!({"err": "x"}));
        assert_eq!(Answer::Ok(json!(1)).to_string(), r#"{"ok":1}"#);
    }

    #[test]
    fn a_refused_answer_says_what_is_wrong_with_it() {
        let why = |line: &str| Answer::parse_line(line).unwrap_err();
        assert!(why("[1]").contains("not an array"), "{}", why("[1]"));
        assert!(why("7").contains("not a number"));
        assert!(why("true").contains("not a boolean"));
        assert!(why("null").contains("not null"));
        assert!(why(r#""s""#).contains("not a string"));
        assert!(why(r#"{"err":3}"#).contains("`err` holds a non-empty string, not a number"));
        assert!(why(r#"{"err":{}}"#).contains("not an object"));
        assert!(why(r#"{"yes":1}"#).contains("not `yes`"));
        assert!(why("{}").contains("this one has none"));
        assert!(why(r#"{"ok":1,"err":"x"}"#).contains("`ok`, `err`"));
    }

    /// [OBS-6]
    #[test]
    fn directories_in_the_sandbox_are_reported_by_their_role() {
        let sb = "/tmp/sb";
        assert_eq!(report_dir("/tmp/sb", sb), "<sandbox>");
        assert_eq!(report_dir("/tmp/sb/engine_dir", sb), "<sandbox>/engine_dir");
        assert_eq!(report_dir("/tmp/sb/x1y2", sb), "<sandbox>/<random>");
        assert_eq!(
            report_dir("/tmp/sb/x1y2/engine_dir", sb),
            "<sandbox>/<random>/engine_dir"
        );
        assert_eq!(report_dir("/tmp/sbx", sb), "/tmp/sbx");
        assert_eq!(report_dir("w0/engine_dir", sb), "w0/engine_dir");
    }

    /// [PORT-5]: field order does not matter to a comparison.
    #[test]
    fn answers_compare_as_values_not_as_text() {
        let a = Answer::parse_line(r#"{"ok":{"id":"c0","level":1}}"#).unwrap();
        let b = Answer::parse_line(r#"{"ok":{"level":1,"id":"c0"}}"#).unwrap();
        assert_eq!(a, b);
        let c = Answer::parse_line(r#"{"ok":{"level":2,"id":"c0"}}"#).unwrap();
        assert_ne!(a, c);
    }

    /// A typed summary equals the same summary as JSON, and differs from
    /// another.
    #[test]
    fn typed_summaries_compare_like_their_json() {
        let summary = CsSummary {
            id: CsName(0),
            prefix: "p".into(),
            mode: 1,
            task_resolver: None,
            nodes: 0,
        };
        let typed = Answer::from(summary.clone());
        let json = Answer::parse_line(
            r#"{"ok":{"id":"cs0","prefix":"p","mode":1,"task_resolver":null,"nodes":0}}"#,
        )
        .unwrap();
        assert_eq!(typed, json);
        assert_eq!(json, typed);
        assert_eq!(typed.to_value(), json.to_value());
        let other = Answer::from(CsSummary { mode: 2, ..summary });
        assert_ne!(typed, other);
        assert_ne!(other, json);
        assert_ne!(typed, Answer::Err("cs0".into()));
        assert_eq!(typed.err_kind(), None);
    }

    #[test]
    fn numbering_counts_in_first_seen_order() {
        let mut n = Numbering::default();
        assert!(n.is_empty());
        assert_eq!((n.number('a'), n.number('b'), n.number('a')), (0, 1, 0));
        assert_eq!((n.len(), n.is_empty()), (2, false));
        assert_eq!((n.get(1), n.get(2)), (Some('b'), None));
    }
}
