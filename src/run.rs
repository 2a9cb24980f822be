//! Running one trace: the model says what to send and what to expect
//! ([RUN-1]..[RUN-4]); the port under test answers; the first difference is
//! a divergence.

use crate::diff::{field_diffs, names_touched, where_made, FieldDiff, Made};
use crate::port::{Port, PortFailure};
use flytectx_model::port::TraceError;
use flytectx_model::unwind::{drive, DrivenStep, Outcome};
use flytectx_model::{Answer, ModelPort, Op, Target};
use serde::Serialize;

/// What the model makes of a trace: what to send and what to expect.
#[derive(Clone, Debug)]
pub struct Expected {
    /// Every operation of the trace as written, with its outcome.
    pub steps: Vec<DrivenStep>,
    /// The wire form ([RUN-4]), starting with `reset` ([PROTO-3]).
    pub wire: Vec<Op>,
    /// The model's answer to each wire operation.
    pub answers: Vec<Answer>,
    /// For each wire operation after `reset`, the index of its operation in the trace.
    pub source_of: Vec<usize>,
}

/// A trace the model refuses ([TRACE-7]), at operation `index`.
#[derive(Clone, Debug)]
pub struct InvalidTrace {
    pub index: usize,
    pub error: TraceError,
}

/// Drive `ops` through the model of `target` (a profile, or a profile of a
/// release).
pub fn expect(target: impl Into<Target>, ops: &[Op]) -> Result<Expected, InvalidTrace> {
    let mut model = ModelPort::new(target);
    let reset_answer = model.apply(&Op::Reset).expect("reset names nothing");
    // `drive` stops at the operation the model refuses; its index is the
    // number of steps driven before it.
    let steps = drive(ops, |op| model.apply(op)).map_err(|(steps, error)| InvalidTrace {
        index: steps.len(),
        error,
    })?;
    let mut wire = vec![Op::Reset];
    let mut answers = vec![reset_answer];
    let mut source_of = Vec::new();
    for s in &steps {
        if let (Some(sent), Outcome::Answered(a)) = (&s.sent, &s.outcome) {
            wire.push(sent.clone());
            answers.push(a.clone());
            source_of.push(s.index);
        }
    }
    Ok(Expected {
        steps,
        wire,
        answers,
        source_of,
    })
}

/// The first answer that differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Divergence {
    /// The operation's number ([OBS-7]): 1 is the first operation after
    /// `reset`, so it is `trace[op_number - 1]` of a counterexample; 0 is
    /// the `reset` itself.
    pub op_number: usize,
    pub op: serde_json::Value,
    pub expected: serde_json::Value,
    pub actual: serde_json::Value,
    /// The fields that differ.
    pub differences: Vec<FieldDiff>,
    /// Where the objects the operation touches were made.
    pub made: Vec<Made>,
    /// The clauses of the diverging operation.
    pub clauses: Vec<String>,
    /// The clauses of the operations that made the objects it touches.
    pub related_clauses: Vec<String>,
}

/// Compare a port's answers with the expected ones, operation by operation.
/// An answer missing on either side differs from any answer (it reads as
/// null in the divergence, which no answer is).
pub fn compare(wire: &[Op], expected: &[Answer], actual: &[Answer]) -> Option<Divergence> {
    let i = (0..expected.len().max(actual.len())).find(|&i| expected.get(i) != actual.get(i))?;
    let value = |a: Option<&Answer>| a.map_or(serde_json::Value::Null, Answer::to_value);
    let op = wire.get(i).map_or(serde_json::Value::Null, |op| {
        serde_json::to_value(op).expect("ops serialize")
    });
    let (expected_answer, actual_answer) = (value(expected.get(i)), value(actual.get(i)));
    let clauses: Vec<String> = wire
        .get(i)
        .map(|op| op.clauses().into_iter().map(String::from).collect())
        .unwrap_or_default();
    let made = where_made(
        &wire[..i],
        &expected[..i],
        &names_touched(&op, &expected_answer),
    );
    let mut related_clauses: Vec<String> = Vec::new();
    for m in &made {
        for c in wire[m.op_number].clauses() {
            if !clauses.iter().chain(&related_clauses).any(|x| x == c) {
                related_clauses.push(c.to_string());
            }
        }
    }
    Some(Divergence {
        op_number: i,
        differences: field_diffs(&expected_answer, &actual_answer),
        op,
        expected: expected_answer,
        actual: actual_answer,
        made,
        clauses,
        related_clauses,
    })
}

/// What running one trace on a port showed.
#[derive(Clone, Debug)]
pub enum Checked {
    /// Every answer as expected.
    Passed,
    /// An answer differed.
    Diverged(Divergence),
    /// The port failed the protocol; `divergence` is the first difference
    /// among the answers it gave before, if any: a divergence seen is never
    /// lost to a later failure.
    PortFailed {
        failure: PortFailure,
        divergence: Option<Divergence>,
    },
}

impl Checked {
    /// The divergence this run showed, if any, whether or not the port then failed.
    pub fn divergence(&self) -> Option<&Divergence> {
        match self {
            Checked::Passed => None,
            Checked::Diverged(d) => Some(d),
            Checked::PortFailed { divergence, .. } => divergence.as_ref(),
        }
    }
}

/// Run `wire` on `port` and compare with `expected`.
pub fn check(port: &mut dyn Port, wire: &[Op], expected: &[Answer]) -> Checked {
    match port.run(wire) {
        Ok(actual) => match compare(wire, expected, &actual) {
            None => Checked::Passed,
            Some(d) => Checked::Diverged(d),
        },
        Err(failure) => {
            // Compare what was answered before the failure: only those.
            let answered: Vec<Answer> = failure
                .answered
                .iter()
                .map_while(|v| Answer::from_value(v).ok())
                .collect();
            let n = answered.len().min(expected.len());
            let divergence = compare(&wire[..n], &expected[..n], &answered[..n]);
            Checked::PortFailed {
                failure,
                divergence,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flytectx_model::Profile;

    /// A port that answers fewer (or more) operations than it was sent
    /// diverges at the first missing answer, not nowhere.
    #[test]
    fn a_missing_or_extra_answer_is_a_divergence() {
        let exp = expect(Profile::Compat, &[Op::Size, Op::Size]).unwrap();
        assert_eq!(compare(&exp.wire, &exp.answers, &exp.answers), None);
        let short = &exp.answers[..2];
        let d = compare(&exp.wire, &exp.answers, short).expect("one answer is missing");
        assert_eq!((d.op_number, &d.actual), (2, &serde_json::Value::Null));
        let mut long = exp.answers.clone();
        long.push(Answer::Err("extra".into()));
        let d = compare(&exp.wire, &exp.answers, &long).expect("one answer too many");
        assert_eq!((d.op_number, &d.expected), (3, &serde_json::Value::Null));
        assert_eq!(d.op, serde_json::Value::Null);
    }
}
