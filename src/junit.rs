//! `flytectx conform --junit FILE`: the report as JUnit XML, which CI
//! systems show as tests. One test suite per phase, one test case per trace:
//! a divergence is a failure whose text is the shrunk trace as a corpus
//! file, a port failure an error, a skipped trace a skip with its reason.

use crate::corpus;
use crate::report::{Counterexample, Report, TraceStatus};
use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

fn failure(report: &Report, c: &Counterexample) -> TestCaseStatus {
    let d = &c.divergence;
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_message(format!(
        "divergence at operation {} ({}): expected {}, got {}",
        d.op_number, d.op, d.expected, d.actual
    ));
    status.set_type("divergence");
    status.set_description(corpus::render_file(
        "minimal counterexample",
        &[report.profile],
        &d.clauses,
        &c.trace,
        c.expected.get(1..).unwrap_or_default(),
    ));
    status
}

fn port_error(report: &Report) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    if let Some(f) = &report.port_failure {
        status.set_message(format!("port failure during {}: {}", f.during, f.failure));
        status.set_type("port_failure");
        status.set_description(f.failure.stderr_tail.join("\n"));
    }
    status
}

fn skipped(reason: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_message(reason);
    status
}

/// What the failing trace of the run is: its status, for the test case of
/// the trace that ended the run.
fn ending(report: &Report) -> TestCaseStatus {
    match &report.counterexample {
        Some(c) => failure(report, c),
        None => port_error(report),
    }
}

fn corpus_suite(report: &Report) -> TestSuite {
    let mut suite = TestSuite::new("corpus");
    for t in &report.corpus.traces {
        let status = match t.status {
            TraceStatus::Passed => TestCaseStatus::success(),
            TraceStatus::Failed => ending(report),
            TraceStatus::Skipped | TraceStatus::NotRun => {
                skipped(t.reason.as_deref().unwrap_or(""))
            }
        };
        let mut case = TestCase::new(t.file.clone(), status);
        case.set_classname(t.title.clone());
        suite.add_test_case(case);
    }
    suite
}

fn random_suite(report: &Report) -> TestSuite {
    let mut suite = TestSuite::new(format!("random (seed {})", report.seed));
    let counts = &report.random.counts;
    for number in 0..counts.passed {
        suite.add_test_case(TestCase::new(
            format!("random trace {number}"),
            TestCaseStatus::success(),
        ));
    }
    // A random trace failed only if the run ended there.
    if counts.failed > 0 {
        suite.add_test_case(TestCase::new(
            format!("random trace {}", counts.passed),
            ending(report),
        ));
    }
    if counts.not_run > 0 {
        suite.add_test_case(TestCase::new(
            format!("{} random traces", counts.not_run),
            skipped("not run: the run stopped at a failure"),
        ));
    }
    suite
}

/// The report as JUnit XML.
pub fn render(report: &Report) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Junit::new(format!("flytectx conform: {}", report.port));
    if report.corpus.source.is_some() {
        junit.add_test_suite(corpus_suite(report));
    }
    junit.add_test_suite(random_suite(report));
    junit.to_string()
}
