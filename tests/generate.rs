//! Random traces are valid, varied, and shrink to small counterexamples.

use flytectx_conformance::generate::{concretize, concretize_expected, moves};
use flytectx_conformance::port::{ModelAsPort, Port, PortFailure};
use flytectx_conformance::run::expect;
use flytectx_conformance::shrink::{shrink, Tester};
use flytectx_model::trace::check_structure;
use flytectx_model::{Answer, Op, Profile};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn any_moves_make_a_valid_trace(m in moves(40), isolated in any::<bool>()) {
        let profile = if isolated { Profile::Isolated } else { Profile::Compat };
        let ops = concretize(profile, &m.0, m.1);
        let lines: Vec<usize> = (1..=ops.len()).collect();
        prop_assert!(check_structure(&ops, &lines).is_ok());
        prop_assert!(expect(profile, &ops).is_ok());
    }

    /// The writer drives the trace as it writes it: what it expects is what
    /// driving the written trace again expects, step for step.
    #[test]
    fn the_writer_expects_what_driving_the_trace_expects(m in moves(60), isolated in any::<bool>()) {
        let profile = if isolated { Profile::Isolated } else { Profile::Compat };
        let (ops, written) = concretize_expected(profile, &m.0, m.1);
        let driven = expect(profile, &ops).unwrap();
        prop_assert_eq!(&written.wire, &driven.wire);
        prop_assert_eq!(&written.answers, &driven.answers);
        prop_assert_eq!(&written.steps, &driven.steps);
        prop_assert_eq!(&written.source_of, &driven.source_of);
        prop_assert_eq!(ops, concretize(profile, &m.0, m.1));
    }
}

#[test]
fn random_traces_reach_the_interesting_corners() {
    // Over a few hundred traces, each of these answers must show up at least once.
    let mut seen = std::collections::HashSet::new();
    let mut runner = TestRunner::deterministic();
    let strategy = moves(40);
    for _ in 0..500 {
        let (m, sigint) = strategy.new_tree(&mut runner).unwrap().current();
        for profile in [Profile::Compat, Profile::Isolated] {
            let exp = expect(profile, &concretize(profile, &m, sigint)).unwrap();
            for s in &exp.steps {
                match &s.outcome {
                    flytectx_model::unwind::Outcome::Skipped => {
                        seen.insert("skipped".to_string());
                    }
                    flytectx_model::unwind::Outcome::Answered(Answer::Err(k)) => {
                        seen.insert(format!("{}:{k}", s.sent.as_ref().unwrap().name()));
                    }
                    _ => {}
                }
            }
            for op in &exp.wire {
                if let Op::WithExit { raise: Some(k) } = op {
                    if k != "user_error" {
                        seen.insert("propagated".into());
                    }
                }
            }
        }
    }
    for want in [
        "skipped",
        "propagated",
        "pop:popped_root",
        "pop:empty_stack",
        "with_exit:popped_root",
        "with_exit:user_error",
        "new_es:invalid_working_dir",
        "ctx_new_es:no_sandbox_dir",
    ] {
        assert!(seen.contains(want), "never saw {want}; saw {seen:?}");
    }
}

/// The model with one rule broken: `with_exit` pops once, not down to the mark.
struct PopsOnce(ModelAsPort);

impl Port for PopsOnce {
    fn name(&self) -> String {
        "model with a with_context that pops once".into()
    }
    fn run(&mut self, ops: &[Op]) -> Result<Vec<Answer>, PortFailure> {
        let rewritten: Vec<Op> = ops
            .iter()
            .map(|op| match op {
                Op::WithExit { raise: None } => Op::Pop,
                other => other.clone(),
            })
            .collect();
        let answers = self.0.run(&rewritten)?;
        Ok(ops
            .iter()
            .zip(answers)
            .map(|(op, a)| match (op, a) {
                (Op::WithExit { .. }, Answer::Ok(_)) => Answer::Ok(serde_json::Value::Null),
                (_, a) => a,
            })
            .collect())
    }
}

#[test]
fn a_wrong_port_is_caught_and_shrunk_to_a_handful_of_operations() {
    let profile = Profile::Isolated;
    let mut port = PopsOnce(ModelAsPort::new(profile));
    let strategy = moves(40);
    let mut runner = TestRunner::deterministic();
    for _ in 0..2000 {
        let mut tree = strategy.new_tree(&mut runner).unwrap();
        let (m, sigint) = tree.current();
        let ops = concretize(profile, &m, sigint);
        let exp = expect(profile, &ops).unwrap();
        let actual = port.run(&exp.wire).unwrap();
        if let Some(d) = flytectx_conformance::run::compare(&exp.wire, &exp.answers, &actual) {
            let mut tester = Tester::new(profile, &mut port);
            let shrunk = shrink(&mut tester, &mut tree, ops.clone(), d, 5000).unwrap();
            assert!(
                shrunk.ops.len() <= 6,
                "shrunk only to {} ops: {:?}",
                shrunk.ops.len(),
                shrunk.ops
            );
            assert!(shrunk.ops.len() <= ops.len());
            // The broken rule is with_exit's, and it answers as the right one
            // does: the divergence shows wherever the stack it left is looked
            // at next (a current, a size, another scope's exit), but the
            // counterexample must keep a with_exit.
            assert!(
                shrunk
                    .ops
                    .iter()
                    .any(|op| matches!(op, Op::WithExit { raise: None })),
                "{:?} {:?}",
                shrunk.ops,
                shrunk.divergence
            );
            return;
        }
    }
    panic!("2000 random traces never caught a with_context that pops once");
}
