//! The implementation against the model, through the port seam: the same
//! random traces, every answer compared. Failures shrink (proptest).
//! Run longer with `PROPTEST_CASES=5000 cargo test --release --test differential`.

use flytectx_conformance::generate::{concretize_expected, moves};
use flytectx_conformance::impl_port::ImplPort;
use flytectx_conformance::port::Port;
use flytectx_conformance::run::compare;
use flytectx_model::Profile;
use proptest::prelude::*;
use std::cell::RefCell;

thread_local! {
    // One port for all cases: like a long-lived process, with a reset per trace.
    static PORT: RefCell<ImplPort> = RefCell::new(ImplPort::new());
}

fn check(
    moves_: &[flytectx_conformance::generate::Move],
    sigint: bool,
) -> Result<(), TestCaseError> {
    // What the implementation declares, as `flytectx conform` would check it.
    let claim = PORT.with(|p| p.borrow().declaration().claim(Profile::Isolated));
    let (_, exp) = concretize_expected(claim, moves_, sigint);
    let actual = PORT
        .with(|p| p.borrow_mut().run(&exp.wire))
        .map_err(|f| TestCaseError::fail(f.to_string()))?;
    if let Some(d) = compare(&exp.wire, &exp.answers, &actual) {
        let trace: Vec<String> = exp.wire.iter().map(|o| o.to_line()).collect();
        return Err(TestCaseError::fail(format!(
            "divergence at wire op {}: {}\nexpected {}\nactual   {}\ntrace:\n{}",
            d.op_number,
            d.op,
            d.expected,
            d.actual,
            trace.join("\n")
        )));
    }
    Ok(())
}

proptest! {
    // The default case count (256, or PROPTEST_CASES) of traces of up to 120 moves.
    #[test]
    fn the_implementation_answers_every_trace_as_the_model_does(m in moves(120)) {
        check(&m.0, m.1)?;
    }
}
