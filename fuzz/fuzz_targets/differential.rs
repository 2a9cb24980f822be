//! The implementation against the model, on traces made from raw bytes.
//!
//! The bytes decode into moves; `concretize_expected` turns any list of moves into a
//! valid isolated-profile trace, so every input is a trace and libFuzzer's
//! mutations never waste time on invalid ones. The model's answers are the
//! expectation; any difference, or the implementation failing the port
//! protocol (e.g. panicking), is a crash.

#![no_main]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

use flytectx_conformance::generate::{concretize_expected, Move};
use flytectx_conformance::impl_port::ImplPort;
use flytectx_conformance::port::Port;
use flytectx_conformance::run::compare;
use flytectx_model::{Op, Profile};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    // One port for every input, as a long-lived port process would be: each
    // trace starts with `reset`. A port per input would start (and join) a
    // thread for every input with a `thread_begin`, which cost more than the
    // trace itself and held on to memory.
    static PORT: RefCell<ImplPort> = RefCell::new(ImplPort::new());
}

/// Bounds on a trace, so that one input stays a few milliseconds at most.
const MAX_MOVES: usize = 64;
const MAX_STEPS: usize = 8;

/// The wire ops, numbered, with a marker on the one that went wrong.
fn listing(wire: &[Op], mark: Option<usize>) -> String {
    wire.iter()
        .enumerate()
        .map(|(i, op)| {
            let m = if Some(i) == mark { "=>" } else { "  " };
            format!("{m} {i:3} {}\n", op.to_line())
        })
        .collect()
}

fuzz_target!(|input: (Vec<Move>, bool)| {
    let (mut moves, sigint) = input;
    moves.truncate(MAX_MOVES);
    for m in &mut moves {
        if let Move::Build(_, steps)
        | Move::WithOpen(_, steps)
        | Move::BuilderNewEs(_, steps, _)
        | Move::BuilderNewCs(_, steps, _) = m
        {
            steps.truncate(MAX_STEPS);
        }
    }

    // What the implementation declares, as `flytectx conform` would check it.
    let claim = PORT.with(|p| p.borrow().declaration().claim(Profile::Isolated));
    // The writer drives the model as it writes the trace, so the expected
    // answers come with it; a move it could not turn into a valid
    // operation would be a bug on the conformance side, and panics there.
    let (_, expected) = concretize_expected(claim, &moves, sigint);

    let actual = match PORT.with(|p| p.borrow_mut().run(&expected.wire)) {
        Ok(a) => a,
        Err(failure) => panic!(
            "the implementation failed the port protocol: {failure}\n\
             answered before it: {}\nwire trace:\n{}",
            failure.answered.len(),
            listing(&expected.wire, Some(failure.answered.len())),
        ),
    };
    if actual.len() != expected.answers.len() {
        panic!(
            "the implementation gave {} answers for {} ops\nwire trace:\n{}",
            actual.len(),
            expected.answers.len(),
            listing(&expected.wire, None),
        );
    }
    if let Some(d) = compare(&expected.wire, &expected.answers, &actual) {
        panic!(
            "divergence at wire op {}: {}\n  expected: {}\n  actual:   {}\n  clauses:  {}\nwire trace:\n{}",
            d.op_number,
            d.op,
            d.expected,
            d.actual,
            d.clauses.join(", "),
            listing(&expected.wire, Some(d.op_number)),
        );
    }
});
