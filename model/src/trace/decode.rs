//! Decoding one operation line, with the line and column of every problem
//! ([TRACE-9]).
//!
//! Decoding is done field by field over serde_json's raw values rather than
//! with a derived `Deserialize` on the tagged enum: a derived internally tagged
//! enum buffers the object and loses positions, and [TRACE-9] wants the column
//! of the offending field in every error.

use super::ops::{DirName, Op, Step};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// Where a decoding problem is: 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The line, from 1.
    pub line: usize,
    /// The column, in characters, from 1.
    pub column: usize,
    /// What is wrong, and what was expected there.
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

    /// Decode field `key`, which may be left out ([TRACE-2]: it is then null).
    fn opt<T: DeserializeOwned>(
        &mut self,
        key: &str,
        what: &str,
    ) -> Result<Option<T>, DecodeError> {
        if self.entries.iter().any(|(k, _, _)| k.0 == key) {
            self.req::<Option<T>>(key, what)
        } else {
            Ok(None)
        }
    }

    /// Decode the integer field `key`, which must lie in `min..=max`.
    fn bounded<T>(&mut self, key: &str, what: &str, min: T, max: T) -> Result<T, DecodeError>
    where
        T: DeserializeOwned + PartialOrd + fmt::Display + Copy,
    {
        let value: T = self.req(key, what)?;
        if value < min || value > max {
            let at = self.value_offset(key);
            return Err(self.error_at(
                at,
                format!("field `{key}`: {value} is not between {min} and {max}"),
            ));
        }
        Ok(value)
    }

    /// Decode `key` as a directory name that is not empty ([TRACE-4]).
    fn non_empty_dir(&mut self, key: &str, what: &str) -> Result<DirName, DecodeError> {
        let dir: DirName = self.req(key, what)?;
        if dir.as_str().is_empty() {
            let at = self.value_offset(key);
            return Err(self.error_at(at, format!("field `{key}`: a name, not \"\"")));
        }
        Ok(dir)
    }

    /// Decode `steps` ([TRACE-3]): `context_with_new_compilation_state` may
    /// only come first.
    fn steps(&mut self, what: &str) -> Result<Vec<Step>, DecodeError> {
        let steps: Vec<Step> = self.req("steps", what)?;
        if steps
            .iter()
            .skip(1)
            .any(|s| *s == Step::ContextWithNewCompilationState)
        {
            let at = self.value_offset("steps");
            return Err(self.error_at(
                at,
                "field `steps`: \"context_with_new_compilation_state\" may only be the first step"
                    .to_string(),
            ));
        }
        Ok(steps)
    }

    /// The byte offset of the value of `key` in the line (0 when absent).
    fn value_offset(&self, key: &str) -> usize {
        self.entries
            .iter()
            .find(|(k, _, _)| k.0 == key)
            .map_or(0, |(_, v, _)| self.offset_of(v.get()))
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
pub(super) fn serde_column(line: &str, start: usize, e: &serde_json::Error) -> usize {
    // serde_json counts columns in bytes from 1; 0 means "no position".
    let within = e.column().saturating_sub(1);
    char_column(line, start + within)
}

/// The largest `limit` of `origin_frame` ([TRACE-2]).
pub const MAX_ORIGIN_LIMIT: u8 = 64;

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
            steps: f.steps(what)?,
        },
        "with_enter" => Op::WithEnter {
            from: f.req("from", what)?,
            steps: f.steps(what)?,
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
            nodes_of: f.opt("nodes_of", what)?,
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
            then: f.opt("then", what)?,
        },
        "set_program_handler" => Op::SetProgramHandler {
            tag: f.req("tag", what)?,
        },
        "sigint_handler" => Op::SigintHandler,
        "sigint" => Op::Sigint,
        "origin" => Op::OriginOf {
            ctx: f.req("ctx", what)?,
        },
        "origin_frame" => Op::OriginFrame {
            limit: f.bounded("limit", what, 0, MAX_ORIGIN_LIMIT)?,
        },
        "push_with_origin" => Op::PushWithOrigin {
            ctx: f.req("ctx", what)?,
            origin: f.bounded("origin", what, 1, u32::MAX)?,
        },
        "with_drop" => Op::WithDrop,
        "make_file" => Op::MakeFile {
            path: f.non_empty_dir("path", what)?,
        },
        "is_local_execution" => Op::IsLocalExecution {
            es: f.req("es", what)?,
        },
        "builder_new_es" => Op::BuilderNewEs {
            from: f.req("from", what)?,
            steps: f.steps(what)?,
            working_dir: f.req("working_dir", what)?,
        },
        "builder_new_cs" => Op::BuilderNewCs {
            from: f.req("from", what)?,
            steps: f.steps(what)?,
            prefix: f.req("prefix", what)?,
        },
        "thread_begin" => Op::ThreadBegin,
        "thread_end" => Op::ThreadEnd,
        "task_begin" => Op::TaskBegin,
        "task_end" => Op::TaskEnd,
        other => {
            let at = f.value_offset("op");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{AnyName, CsName, CtxName, EsName, OpaqueName};
    use crate::trace::{Branch, DirName, Mode, Slot, Step};

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
}
