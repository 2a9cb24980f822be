//! What a divergence is made of, in terms a port author can act on: the
//! fields that differ, by path, and where each object the diverging
//! operation touches was made.

use flytectx_model::names::AnyName;
use flytectx_model::{Answer, Op};
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// One field that differs between the expected and the actual answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDiff {
    /// Where: `ok.execution_state.mode`, `ok.ran.1.tag`, or `` for the whole.
    pub path: String,
    /// The expected value; absent when the field was not expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// The actual value; absent when the port left the field out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
}

impl fmt::Display for FieldDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| v.as_ref().map_or("nothing".to_string(), Value::to_string);
        let path = if self.path.is_empty() {
            "the answer"
        } else {
            &self.path
        };
        write!(
            f,
            "{path}: expected {}, got {}",
            show(&self.expected),
            show(&self.actual)
        )
    }
}

/// The fields where `actual` differs from `expected`, depth first, in the
/// expected answer's field order.
pub fn field_diffs(expected: &Value, actual: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    walk("", Some(expected), Some(actual), &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, expected: Option<&Value>, actual: Option<&Value>, out: &mut Vec<FieldDiff>) {
    match (expected, actual) {
        (Some(Value::Object(e)), Some(Value::Object(a))) => {
            for (k, ev) in e {
                walk(&join(path, k), Some(ev), a.get(k), out);
            }
            for (k, av) in a.iter().filter(|(k, _)| !e.contains_key(*k)) {
                walk(&join(path, k), None, Some(av), out);
            }
        }
        (Some(Value::Array(e)), Some(Value::Array(a))) => {
            for i in 0..e.len().max(a.len()) {
                walk(&join(path, &i.to_string()), e.get(i), a.get(i), out);
            }
        }
        (e, a) if e != a => out.push(FieldDiff {
            path: path.to_string(),
            expected: e.cloned(),
            actual: a.cloned(),
        }),
        _ => {}
    }
}

/// Where an object was made: the operation whose answer named it first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Made {
    /// The object's name ([OBS-4]).
    pub name: String,
    /// The operation that made it, by its number ([OBS-7]) and `op`.
    pub op_number: usize,
    pub op: String,
}

impl fmt::Display for Made {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {} at operation {}",
            self.name, self.op, self.op_number
        )
    }
}

/// The fields of answers that hold object names ([OBS-2], [OBS-3]).
const NAME_FIELDS: [&str; 8] = [
    "id",
    "file_access",
    "flyte_client",
    "serialization_settings",
    "output_metadata_tracker",
    "worker_queue",
    "user_space_params",
    "task_resolver",
];

/// The fields of operations that hold object names ([TRACE-2], [TRACE-3]).
const OP_NAME_FIELDS: [&str; 10] = [
    "ctx",
    "from",
    "es",
    "cs",
    "ref",
    "nodes_of",
    "file_access",
    "task_resolver",
    "user_space_params",
    "steps",
];

/// The object names an answer shows, in order.
fn names_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::String(s) if NAME_FIELDS.contains(&k.as_str()) => out.push(s.clone()),
                    _ => names_in(x, out),
                }
            }
        }
        Value::Array(xs) => xs.iter().for_each(|x| names_in(x, out)),
        _ => {}
    }
}

/// The object names an operation and its answer refer to.
pub fn names_touched(op: &Value, answer: &Value) -> Vec<String> {
    let mut names = Vec::new();
    if let Value::Object(fields) = op {
        for (_, v) in fields
            .iter()
            .filter(|(k, _)| OP_NAME_FIELDS.contains(&k.as_str()))
        {
            let mut strings = Vec::new();
            collect_strings(v, &mut strings);
            names.extend(strings.into_iter().filter(|s| AnyName::parse(s).is_some()));
        }
    }
    match answer.get("ok") {
        // `new_opaque` and `user_space_params` answer a bare name.
        Some(Value::String(s)) if AnyName::parse(s).is_some() => names.push(s.clone()),
        Some(v) => names_in(v, &mut names),
        None => {}
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(xs) => xs.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// Where each of `names` was made in the trace `wire` whose expected
/// answers are `expected`: the first answer that shows it. Fixed names
/// ([OBS-5]) are made by no operation and left out.
pub fn where_made(wire: &[Op], expected: &[Answer], names: &[String]) -> Vec<Made> {
    let mut made = Vec::new();
    for name in names {
        let first = expected.iter().enumerate().find(|(_, a)| {
            let v = a.to_value();
            names_touched(&Value::Null, &v).contains(name)
        });
        if let Some((i, _)) = first {
            made.push(Made {
                name: name.clone(),
                op_number: i,
                op: wire.get(i).map_or("?", Op::name).to_string(),
            });
        }
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differing_fields_are_listed_by_path() {
        let e = json!({"ok": {"id": "c1", "execution_state": {"id": "es0", "mode": "TASK_EXECUTION"}, "ran": [1, 2]}});
        let a = json!({"ok": {"id": "c1", "execution_state": {"id": "es0", "mode": null}, "ran": [1], "x": 0}});
        let d: Vec<String> = field_diffs(&e, &a).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            d,
            [
                r#"ok.execution_state.mode: expected "TASK_EXECUTION", got null"#,
                "ok.ran.1: expected 2, got nothing",
                "ok.x: expected nothing, got 0",
            ]
        );
        let d = field_diffs(&json!({"ok": null}), &json!({"err": "unsupported"}));
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            d[1].to_string(),
            r#"err: expected nothing, got "unsupported""#
        );
        assert!(field_diffs(&e, &e).is_empty());
    }

    #[test]
    fn names_are_traced_to_the_operation_that_made_them() {
        let wire = vec![Op::Reset, Op::Current, Op::NewOpaque];
        let root = json!({"id": "c0", "execution_state": {"id": "es0", "user_space_params": "o0"},
                          "file_access": "default_file_access", "working_dir": "c9"});
        let expected = vec![
            Answer::Ok(Value::Null),
            Answer::Ok(root.clone()),
            Answer::Ok(json!("o1")),
        ];
        let touched = names_touched(
            &json!({"op": "push", "ctx": "c0"}),
            &Answer::Ok(root).to_value(),
        );
        assert_eq!(
            touched,
            ["c0", "es0", "o0", "default_file_access"],
            "not working_dir"
        );
        let made: Vec<String> = where_made(&wire, &expected, &["es0".into(), "o1".into()])
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(
            made,
            [
                "es0 = current at operation 1",
                "o1 = new_opaque at operation 2"
            ]
        );
    }
}
