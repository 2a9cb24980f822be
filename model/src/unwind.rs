//! How a runner drives a trace through a port (spec.md, "How a runner drives a
//! trace"): which operations are skipped while an error propagates, and which
//! `raise` each `with_exit` carries ([RUN-1]..[RUN-4]).
//!
//! The rule is kept apart from every port so that all ports (the model, the
//! implementation, external processes) are driven by the same decisions.

use crate::answer::Answer;
use crate::trace::Op;

/// What became of one operation of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Sent, and answered.
    Answered(Answer),
    /// [RUN-1]: not sent, because an error was propagating.
    Skipped,
}

/// The unwinding state of one unit (thread or task).
#[derive(Clone, Debug, Default)]
struct Unit {
    /// `with` scopes of this unit that are open at the port.
    open: usize,
    /// The kind of the error propagating out, if any ([RUN-1]).
    propagating: Option<String>,
    /// Brackets opened inside the skipped region, still to be skipped.
    skip: usize,
}

/// The driver's state machine: feed it each operation with [`Unwinder::plan`],
/// then the port's answer to what it sent with [`Unwinder::answered`].
#[derive(Clone, Debug)]
pub struct Unwinder {
    units: Vec<Unit>,
}

impl Default for Unwinder {
    fn default() -> Self {
        Unwinder {
            units: vec![Unit::default()],
        }
    }
}

impl Unwinder {
    fn unit(&mut self) -> &mut Unit {
        self.units
            .last_mut()
            .expect("the main unit is never popped")
    }

    /// The operation to send for the next operation of the trace, or None
    /// when it is skipped.
    pub fn plan(&mut self, op: &Op) -> Option<Op> {
        let u = self.unit();
        let Some(error) = u.propagating.clone() else {
            return Some(op.clone());
        };
        if op.opens().is_some() {
            // [RUN-1]: a bracket inside the skipped region is skipped whole.
            u.skip += 1;
            return None;
        }
        if op.closes().is_some() {
            if u.skip > 0 {
                u.skip -= 1;
                if u.skip == 0 && u.open == 0 {
                    // The scope that failed to open was the outermost: done.
                    u.propagating = None;
                }
                return None;
            }
            // [RUN-3]: the error leaves the innermost open scope. Trace
            // structure ([TRACE-5]) makes this closer a `with_exit`.
            return Some(Op::WithExit { raise: Some(error) });
        }
        None
    }

    /// Record the answer the port gave to `sent`.
    pub fn answered(&mut self, sent: &Op, answer: &Answer) {
        match sent {
            Op::ThreadBegin | Op::TaskBegin => self.units.push(Unit::default()),
            Op::ThreadEnd | Op::TaskEnd => {
                // [RUN-3]: nothing crosses a thread or task boundary.
                if self.units.len() > 1 {
                    self.units.pop();
                }
            }
            Op::WithEnter { .. } => {
                let u = self.unit();
                match answer.err_kind() {
                    None => u.open += 1,
                    // A scope that did not open: skip its body and its exit,
                    // then propagate to the enclosing scope if any.
                    Some(kind) => {
                        u.propagating = Some(kind.to_string());
                        u.skip = 1;
                    }
                }
            }
            // [WITH-8]: a dropped scope answers null, so nothing propagates.
            Op::WithExit { .. } | Op::WithDrop => {
                let u = self.unit();
                u.open = u.open.saturating_sub(1);
                // [RUN-2], [RUN-3]: an error leaving the scope goes on to the
                // enclosing scope, or stops at the unit's top level.
                u.propagating = match answer.err_kind() {
                    Some(kind) if u.open > 0 => Some(kind.to_string()),
                    _ => None,
                };
                u.skip = 0;
            }
            _ => {
                let u = self.unit();
                if let Some(kind) = answer.err_kind() {
                    // [RUN-1]: only inside a scope does an error propagate.
                    if u.open > 0 {
                        u.propagating = Some(kind.to_string());
                        u.skip = 0;
                    }
                }
            }
        }
    }
}

/// One operation of a driven trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrivenStep {
    /// Index of the operation in the trace as written.
    pub index: usize,
    /// What was sent ([RUN-4]: the wire form), or None when skipped.
    pub sent: Option<Op>,
    /// What became of it.
    pub outcome: Outcome,
}

/// Drive `ops` through `answer`, which runs one operation on a port.
/// Stops at the first error `answer` returns, with the steps so far.
pub fn drive<E>(
    ops: &[Op],
    mut answer: impl FnMut(&Op) -> Result<Answer, E>,
) -> Result<Vec<DrivenStep>, (Vec<DrivenStep>, E)> {
    let mut unwinder = Unwinder::default();
    let mut steps = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        match unwinder.plan(op) {
            None => steps.push(DrivenStep {
                index,
                sent: None,
                outcome: Outcome::Skipped,
            }),
            Some(sent) => match answer(&sent) {
                Ok(a) => {
                    unwinder.answered(&sent, &a);
                    steps.push(DrivenStep {
                        index,
                        sent: Some(sent),
                        outcome: Outcome::Answered(a),
                    });
                }
                Err(e) => return Err((steps, e)),
            },
        }
    }
    Ok(steps)
}

/// [RUN-4]: whether driving changed nothing (no skip, no rewritten `raise`).
pub fn is_wire_form(ops: &[Op], steps: &[DrivenStep]) -> bool {
    steps.len() == ops.len() && steps.iter().all(|s| s.sent.as_ref() == Some(&ops[s.index]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::CtxName;
    use crate::{ModelPort, Profile};

    fn enter() -> Op {
        Op::WithEnter {
            from: CtxName(0),
            steps: vec![],
        }
    }
    fn exit(raise: Option<&str>) -> Op {
        Op::WithExit {
            raise: raise.map(String::from),
        }
    }

    fn run(ops: &[Op]) -> Vec<DrivenStep> {
        let mut port = ModelPort::new(Profile::Compat);
        drive(ops, |op| port.apply(op)).unwrap()
    }

    #[test]
    fn an_error_in_a_body_skips_to_the_exit_and_propagates_outward() {
        // current; with { with { pop pop pop(fails) size [with{}] } size } size
        let ops = vec![
            Op::Current,
            enter(),
            enter(),
            Op::Pop,
            Op::Pop,
            Op::Pop,
            Op::Size,
            enter(),
            exit(None),
            exit(None),
            Op::Size,
            exit(None),
            Op::Size,
        ];
        let steps = run(&ops);
        let skipped: Vec<usize> = steps
            .iter()
            .filter(|s| s.outcome == Outcome::Skipped)
            .map(|s| s.index)
            .collect();
        // [RUN-1]: the rest of the inner body, the nested bracket, and the rest of the outer body.
        assert_eq!(skipped, vec![6, 7, 8, 10]);
        // [RUN-3]: both exits carry the propagating kind.
        assert_eq!(steps[9].sent, Some(exit(Some("popped_root"))));
        assert_eq!(steps[11].sent, Some(exit(Some("popped_root"))));
        // The unit's top level stops the propagation.
        assert_eq!(steps[12].outcome, Outcome::Answered(Answer::ok(0)));
        assert!(!is_wire_form(&ops, &steps));
    }

    #[test]
    fn a_failing_exit_at_the_top_level_stops_there() {
        // current; pop (root); with { } fails its cleanup at the top level; size
        let ops = vec![Op::Current, Op::Pop, enter(), exit(None), Op::Size];
        let steps = run(&ops);
        assert_eq!(
            steps[3].outcome,
            Outcome::Answered(Answer::Err("popped_root".into()))
        );
        assert_eq!(
            steps[4].outcome,
            Outcome::Answered(Answer::ok(0)),
            "[RUN-3]: nothing left to skip"
        );
    }

    #[test]
    fn an_error_after_a_thread_inside_a_scope_still_propagates() {
        // with { thread { } pop pop(fails) size } : the thread's end gives the
        // scope back its unit, so the failure skips the size.
        let ops = vec![
            Op::Current,
            enter(),
            Op::ThreadBegin,
            Op::Size,
            Op::ThreadEnd,
            Op::Pop,
            Op::Pop,
            Op::Size,
            exit(None),
        ];
        let steps = run(&ops);
        assert_eq!(
            steps[6].outcome,
            Outcome::Answered(Answer::Err("popped_root".into()))
        );
        assert_eq!(steps[7].outcome, Outcome::Skipped, "[RUN-1]");
        assert_eq!(steps[8].sent, Some(exit(Some("popped_root"))), "[RUN-3]");
        // And a task's end does the same.
        let ops = vec![
            Op::Current,
            enter(),
            Op::TaskBegin,
            Op::TaskEnd,
            Op::Pop,
            Op::Pop,
            Op::Size,
            exit(None),
        ];
        assert_eq!(run(&ops)[6].outcome, Outcome::Skipped);
    }

    #[test]
    fn errors_outside_every_scope_and_across_units_do_not_propagate() {
        let ops = vec![
            Op::Current,
            Op::Pop,
            Op::Pop,
            Op::Size,
            enter(),
            Op::ThreadBegin,
            Op::Pop,
            Op::ThreadEnd,
            Op::Size,
            exit(None),
        ];
        let steps = run(&ops);
        assert!(steps.iter().all(|s| s.outcome != Outcome::Skipped));
        assert!(is_wire_form(&ops, &steps));
    }

    #[test]
    fn a_stray_end_leaves_the_main_unit_in_place() {
        // `drive` is public and may be handed operations that no trace file
        // would pass ([TRACE-5]); an end without its begin must not take the
        // main unit away, and errors inside a scope still propagate after it.
        let ops = vec![
            Op::ThreadEnd,
            Op::TaskEnd,
            enter(),
            Op::Pop,
            Op::Size,
            exit(None),
        ];
        let steps = drive::<()>(&ops, |op| {
            Ok(match op {
                Op::Pop => Answer::Err("empty".into()),
                _ => Answer::ok(1),
            })
        })
        .unwrap();
        assert_eq!(steps[4].outcome, Outcome::Skipped, "[RUN-1]");
        assert_eq!(steps[5].sent, Some(exit(Some("empty"))), "[RUN-3]");
    }

    #[test]
    fn a_scope_that_fails_to_open_skips_its_body_and_its_exit() {
        let ops = vec![enter(), Op::Size, enter(), exit(None), exit(None), Op::Size];
        let mut calls = 0;
        let steps = drive::<()>(&ops, |op| {
            calls += 1;
            Ok(match op {
                Op::WithEnter { .. } => Answer::Err("boom".into()),
                _ => Answer::ok(1),
            })
        })
        .unwrap();
        assert_eq!(
            calls, 2,
            "only the failing enter and the last size are sent"
        );
        assert_eq!(steps[5].sent, Some(Op::Size));
        assert!(steps[1..5].iter().all(|s| s.outcome == Outcome::Skipped));
    }
}
