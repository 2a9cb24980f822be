//! `flytectx conform`: the golden corpus, then random traces, against one
//! port; a verdict with a minimal counterexample.

use crate::corpus::{self, CorpusTrace};
use crate::generate::{concretize, moves};
use crate::port::{Port, PortFailure};
use crate::run::{check, expect, Divergence};
use crate::shrink::{shrink, Shrunk, Tester};
use flytectx_model::trace::DecodeError;
use flytectx_model::{Op, Profile};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub profile: Profile,
    pub corpus: Option<PathBuf>,
    pub traces: u32,
    pub seed: u64,
    pub max_len: usize,
    /// Most candidate runs spent shrinking one divergence.
    pub shrink_budget: u32,
}

/// Where a diverging trace came from.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Origin {
    Corpus {
        file: String,
    },
    Random {
        number: u32,
        seed: u64,
        original_len: usize,
        shrink_runs: u32,
    },
}

/// A divergence, with its minimal trace in wire form.
#[derive(Clone, Debug, Serialize)]
pub struct Counterexample {
    pub origin: Origin,
    pub trace: Vec<Op>,
    /// The expected answer of every wire operation (with the leading `reset`).
    pub expected: Vec<serde_json::Value>,
    pub divergence: Divergence,
}

/// The report of a run ([PROTO-4]: kept whatever happened).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub port: String,
    pub profile: Profile,
    pub seed: u64,
    pub corpus_traces: usize,
    pub corpus_passed: usize,
    pub random_traces_planned: u32,
    pub random_traces_run: u32,
    pub verdict: Verdict,
    pub counterexample: Option<Counterexample>,
    pub port_failure: Option<PortFailureReport>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Divergence,
    PortFailure,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Divergence => 1,
            Verdict::PortFailure => 2,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PortFailureReport {
    #[serde(flatten)]
    pub failure: PortFailure,
    /// What was running when it failed.
    pub during: String,
    /// The trace that was running, in wire form.
    pub trace: Vec<Op>,
}

/// A problem with the run itself rather than with the port: exit status 2.
#[derive(Debug)]
pub enum UsageError {
    Corpus(PathBuf, DecodeError),
    Io(PathBuf, std::io::Error),
    Other(String),
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsageError::Corpus(p, e) => write!(f, "{}: {e}", p.display()),
            UsageError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            UsageError::Other(s) => f.write_str(s),
        }
    }
}

/// The proptest random source of `--seed`.
pub fn seed_rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Run the plan against `port`.
pub fn conform(
    port: &mut dyn Port,
    plan: &Plan,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, UsageError> {
    let mut report = Report {
        port: port.name(),
        profile: plan.profile,
        seed: plan.seed,
        corpus_traces: 0,
        corpus_passed: 0,
        random_traces_planned: plan.traces,
        random_traces_run: 0,
        verdict: Verdict::Pass,
        counterexample: None,
        port_failure: None,
    };
    let failed = |report: &mut Report, failure: PortFailure, during: String, trace: &[Op]| {
        report.verdict = Verdict::PortFailure;
        report.port_failure = Some(PortFailureReport {
            failure,
            during,
            trace: trace.to_vec(),
        });
    };

    // 1. The golden corpus: expected answers are data ([TRACE-8]).
    if let Some(dir) = &plan.corpus {
        let traces = corpus::load_dir(dir)?;
        let mine: Vec<&CorpusTrace> = traces
            .iter()
            .filter(|t| t.file.header.profiles.contains(&plan.profile))
            .collect();
        report.corpus_traces = mine.len();
        progress(&format!(
            "corpus {}: {} traces for the {} profile",
            dir.display(),
            mine.len(),
            plan.profile
        ));
        for t in mine {
            let (wire, expected) = t.wire();
            match check(port, &wire, &expected) {
                Ok(None) => report.corpus_passed += 1,
                Ok(Some(divergence)) => {
                    if let Err(f) = port.check_quiet(std::time::Duration::from_millis(200)) {
                        failed(
                            &mut report,
                            f,
                            format!("corpus trace {}", t.path.display()),
                            &wire,
                        );
                        return Ok(report);
                    }
                    report.verdict = Verdict::Divergence;
                    report.counterexample = Some(Counterexample {
                        origin: Origin::Corpus {
                            file: t.path.display().to_string(),
                        },
                        trace: wire[1..].to_vec(),
                        expected: expected.iter().map(|a| a.to_value()).collect(),
                        divergence,
                    });
                    return Ok(report);
                }
                Err(f) => {
                    failed(
                        &mut report,
                        f,
                        format!("corpus trace {}", t.path.display()),
                        &wire,
                    );
                    return Ok(report);
                }
            }
        }
    }

    // 2. Random traces, shrunk on divergence ([VERD] in spec.md section 15).
    let strategy = moves(plan.max_len);
    let mut runner = TestRunner::new_with_rng(Config::default(), seed_rng(plan.seed));
    for number in 0..plan.traces {
        let mut tree = strategy
            .new_tree(&mut runner)
            .map_err(|e| UsageError::Other(format!("generating a trace: {e}")))?;
        let (mv, sigint) = tree.current();
        let ops = concretize(plan.profile, &mv, sigint);
        let exp = expect(plan.profile, &ops)
            .map_err(|e| UsageError::Other(format!("a generated trace is invalid: {}", e.error)))?;
        report.random_traces_run = number + 1;
        match check(port, &exp.wire, &exp.answers) {
            Ok(None) => {
                if (number + 1) % 1000 == 0 {
                    progress(&format!(
                        "random: {} of {} traces, no divergence",
                        number + 1,
                        plan.traces
                    ));
                }
            }
            Ok(Some(divergence)) => {
                if let Err(f) = port.check_quiet(std::time::Duration::from_millis(200)) {
                    failed(&mut report, f, format!("random trace {number}"), &exp.wire);
                    return Ok(report);
                }
                progress(&format!(
                    "random trace {number} diverges ({} operations); shrinking",
                    ops.len()
                ));
                let original_len = ops.len();
                let mut tester = Tester::new(plan.profile, port);
                let shrunk =
                    match shrink(&mut tester, &mut tree, ops, divergence, plan.shrink_budget) {
                        Ok(s) => s,
                        Err(f) => {
                            failed(
                                &mut report,
                                f,
                                format!("shrinking random trace {number}"),
                                &[],
                            );
                            return Ok(report);
                        }
                    };
                let Shrunk {
                    ops,
                    divergence,
                    runs,
                } = shrunk;
                let exp = expect(plan.profile, &ops).expect("a shrunk trace is valid");
                report.verdict = Verdict::Divergence;
                report.counterexample = Some(Counterexample {
                    origin: Origin::Random {
                        number,
                        seed: plan.seed,
                        original_len,
                        shrink_runs: runs,
                    },
                    trace: exp.wire[1..].to_vec(),
                    expected: exp.answers.iter().map(|a| a.to_value()).collect(),
                    divergence,
                });
                return Ok(report);
            }
            Err(f) => {
                failed(&mut report, f, format!("random trace {number}"), &exp.wire);
                return Ok(report);
            }
        }
    }
    if let Err(f) = port.finish() {
        failed(&mut report, f, "the end of the session".to_string(), &[]);
    }
    Ok(report)
}

/// The human-readable report.
pub fn render(report: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "port: {}  profile: {}", report.port, report.profile);
    let _ = writeln!(
        out,
        "corpus: {} of {} traces passed",
        report.corpus_passed, report.corpus_traces
    );
    let _ = writeln!(
        out,
        "random: {} of {} traces run (seed {})",
        report.random_traces_run, report.random_traces_planned, report.seed
    );
    if let Some(c) = &report.counterexample {
        match &c.origin {
            Origin::Corpus { file } => {
                let _ = writeln!(out, "\nDIVERGENCE in corpus trace {file}:");
            }
            Origin::Random {
                number,
                seed,
                original_len,
                shrink_runs,
            } => {
                let _ = writeln!(
                    out,
                    "\nDIVERGENCE in random trace {number} (seed {seed}), shrunk from {original_len} to {} operations in {shrink_runs} runs:",
                    c.trace.len()
                );
            }
        }
        let d = &c.divergence;
        for (i, op) in c.trace.iter().enumerate() {
            let wire_index = i + 1;
            let marker = if wire_index == d.wire_index {
                ">>"
            } else {
                "  "
            };
            let _ = writeln!(out, "{marker} {wire_index:>3}  {}", op.to_line());
            if wire_index == d.wire_index {
                let _ = writeln!(out, "          expected: {}", d.expected);
                let _ = writeln!(out, "          actual:   {}", d.actual);
                break;
            }
        }
        if d.wire_index == 0 {
            let _ = writeln!(
                out,
                ">>   0  {{\"op\":\"reset\"}}\n          expected: {}\n          actual:   {}",
                d.expected, d.actual
            );
        }
        let _ = writeln!(out, "clauses involved: {}", d.clauses.join(", "));
        let _ = writeln!(
            out,
            "\nthe minimal trace as a corpus file (spec.md [TRACE-8]):"
        );
        out.push_str(&corpus::render_file(
            "minimal counterexample",
            &[report.profile],
            &d.clauses,
            &c.trace,
            &c.expected[1..],
        ));
    }
    if let Some(f) = &report.port_failure {
        let _ = writeln!(out, "\nPORT FAILURE during {}: {}", f.during, f.failure);
        if !f.failure.answered.is_empty() {
            let _ = writeln!(
                out,
                "answers received in that trace before the failure: {}",
                f.failure.answered.len()
            );
            for (op, a) in f.trace.iter().zip(&f.failure.answered) {
                let _ = writeln!(out, "   {}  ->  {}", op.to_line(), a);
            }
        }
        if !f.failure.stderr_tail.is_empty() {
            let _ = writeln!(out, "last lines of the port's standard error:");
            for l in &f.failure.stderr_tail {
                let _ = writeln!(out, "   | {l}");
            }
        }
    }
    let _ = writeln!(
        out,
        "\nverdict: {}",
        match report.verdict {
            Verdict::Pass => "pass (no divergence)",
            Verdict::Divergence => "DIVERGENCE (exit 1)",
            Verdict::PortFailure => "PORT FAILURE (exit 2)",
        }
    );
    out
}

/// The default corpus directory, relative to the repository root.
pub fn default_corpus() -> &'static Path {
    Path::new("conformance/corpus")
}
