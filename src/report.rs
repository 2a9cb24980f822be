//! The report of a conformance run: what ran, what was skipped and why, the
//! verdict per feature, and a minimal counterexample or a port failure
//! ([PROTO-4]: kept whatever happened). Rendered as text or serialized as JSON.

use crate::corpus;
use crate::port::PortFailure;
use crate::run::Divergence;
use crate::tally::{FeatureStatus, FeatureVerdict};
use flytectx_model::{FeatureSet, Op, Profile, Release};
use serde::Serialize;
use std::fmt::Write;

/// The version of the report's JSON form; conformance/report.schema.json
/// describes it. It changes when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// The report of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What the port calls itself.
    pub port: String,
    /// The protocol version it answered in.
    pub protocol_version: u64,
    /// The profile checked.
    pub profile: Profile,
    /// The flytekit release whose behaviour was expected ([REL-1]).
    pub release: Release,
    /// What the port declared ([FEAT-3]).
    pub features_declared: FeatureSet,
    /// What was checked: declared, selected and in the release.
    pub features_checked: FeatureSet,
    /// Feature names the port declared that this runner does not know.
    pub unknown_features: Vec<String>,
    /// The seed of the random traces.
    pub seed: u64,
    /// The golden corpus.
    pub corpus: CorpusPhase,
    /// The random traces.
    pub random: RandomPhase,
    /// Per feature, in spec.md's order.
    pub features: Vec<FeatureVerdict>,
    /// The outcome.
    pub verdict: Verdict,
    /// The minimal trace of a divergence.
    pub counterexample: Option<Counterexample>,
    /// How the port failed the protocol, if it did: the verdict when no
    /// divergence came before it, or kept beside the divergence.
    pub port_failure: Option<PortFailureReport>,
    /// A port failure met while shrinking, on a candidate that showed no
    /// divergence before it ([PROTO-4]: never dropped).
    pub shrink_port_failure: Option<PortFailureReport>,
    /// The command that runs this check again, the same way.
    pub replay: Option<String>,
}

/// Counts of one phase: every trace is passed, failed, skipped or not run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Ran, every answer as expected.
    pub passed: u32,
    /// Ran, and diverged or met a port failure.
    pub failed: u32,
    /// Not run: it needs what is not checked.
    pub skipped: u32,
    /// Not run: the run stopped before it.
    pub not_run: u32,
}

/// The corpus phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CorpusPhase {
    /// Where the traces came from; None when the corpus was not run.
    pub source: Option<String>,
    /// Traces written for the other profile, which are not this run's.
    pub other_profile: u32,
    /// Counts of the traces for this profile.
    #[serde(flatten)]
    pub counts: Counts,
    /// Each trace for this profile, in the order run, with what became of it.
    pub traces: Vec<CorpusResult>,
    /// Files of the corpus directory that are not traces (`*.jsonl`), so
    /// were not read.
    pub ignored_files: Vec<String>,
}

/// What became of one corpus trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CorpusResult {
    /// The file.
    pub file: String,
    /// Its title.
    pub title: String,
    /// What became of it.
    pub status: TraceStatus,
    /// Why it was skipped or not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What became of one trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceStatus {
    /// Every answer as expected.
    Passed,
    /// A divergence, or a port failure.
    Failed,
    /// Not run: it needs what is not checked.
    Skipped,
    /// Not run: the run stopped before it.
    NotRun,
}

/// The random phase.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct RandomPhase {
    /// How many were asked for.
    pub planned: u32,
    /// What became of them.
    #[serde(flatten)]
    pub counts: Counts,
}

/// The outcome of a run, and its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every trace that ran gave the expected answers.
    Pass,
    /// Some answer differed.
    Divergence,
    /// The port failed the protocol.
    PortFailure,
    /// No trace ran: nothing was checked, which is not a pass.
    NothingChecked,
}

impl Verdict {
    /// The exit status of `flytectx conform` for this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Divergence => 1,
            Verdict::PortFailure | Verdict::NothingChecked => 2,
        }
    }
}

/// Where a diverging trace came from.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Origin {
    /// A golden trace.
    Corpus {
        /// Its file.
        file: String,
        /// Its header's title.
        title: String,
        /// Its comment lines.
        comments: Vec<String>,
    },
    /// A random trace.
    Random {
        /// Its number in the run.
        number: u32,
        /// The run's seed.
        seed: u64,
        /// Its length before shrinking.
        original_len: usize,
        /// Candidate runs spent shrinking it.
        shrink_runs: u32,
    },
}

/// A divergence, with its minimal trace in wire form.
#[derive(Clone, Debug, Serialize)]
pub struct Counterexample {
    /// Where it came from.
    pub origin: Origin,
    /// The trace, without the leading `reset`.
    pub trace: Vec<Op>,
    /// The expected answer of every wire operation (with the leading `reset`).
    pub expected: Vec<serde_json::Value>,
    /// The first differing answer.
    pub divergence: Divergence,
    /// [FEAT-3]: the features the divergence is charged to.
    pub charged_features: FeatureSet,
}

/// A port failure, with what was running.
#[derive(Clone, Debug, Serialize)]
pub struct PortFailureReport {
    /// The failure.
    #[serde(flatten)]
    pub failure: PortFailure,
    /// What was running when it failed.
    pub during: String,
    /// The trace that was running, in wire form.
    pub trace: Vec<Op>,
}

fn counts_line(c: &Counts) -> String {
    format!(
        "{} passed, {} failed, {} skipped, {} not run",
        c.passed, c.failed, c.skipped, c.not_run
    )
}

fn render_features(out: &mut String, report: &Report) {
    let _ = writeln!(out, "\nfeatures (release {}):", report.release);
    for f in &report.features {
        let c = &f.clauses;
        let (status, detail) = match f.status {
            FeatureStatus::Checked => ("checked", format!("{} traces passed", f.traces.passed)),
            FeatureStatus::Failed => (
                "FAILED",
                format!("{} passed, {} failed", f.traces.passed, f.traces.failed),
            ),
            FeatureStatus::NotExercised => ("not exercised", "no trace that ran needs it".into()),
            FeatureStatus::Skipped => ("skipped", f.reason.clone().unwrap_or_default()),
        };
        let clauses = if f.status == FeatureStatus::Skipped {
            format!("{} clauses not checked", c.skipped.len())
        } else {
            let mut parts = vec![format!("{} checked", c.checked.len())];
            if !c.failed.is_empty() {
                parts.push(format!("failed: {}", c.failed.join(" ")));
            }
            if !c.not_exercised.is_empty() {
                parts.push(format!("not exercised: {}", c.not_exercised.join(" ")));
            }
            if !c.not_in_traces.is_empty() {
                parts.push(format!("{} not in traces", c.not_in_traces.len()));
            }
            format!("clauses {}", parts.join("; "))
        };
        let _ = writeln!(
            out,
            "  {:<19} {:<14} {:<36} {clauses}",
            f.feature.as_str(),
            status,
            detail
        );
    }
    if !report.unknown_features.is_empty() {
        let _ = writeln!(
            out,
            "  (the port also declared features this runner does not know: {})",
            report.unknown_features.join(", ")
        );
    }
}

fn render_counterexample(out: &mut String, report: &Report, c: &Counterexample) {
    match &c.origin {
        Origin::Corpus {
            file,
            title,
            comments,
        } => {
            let _ = writeln!(
                out,
                "\nDIVERGENCE in corpus trace {file} (\"{title}\"), shrunk to {} operations:",
                c.trace.len()
            );
            for comment in comments {
                let _ = writeln!(out, "   {comment}");
            }
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
        let number = i + 1;
        let marker = if number == d.op_number { ">>" } else { "  " };
        let _ = writeln!(out, "{marker} {number:>3}  {}", op.to_line());
        if number == d.op_number {
            break;
        }
    }
    if d.op_number == 0 {
        let _ = writeln!(out, ">>   0  {{\"op\":\"reset\"}}");
    }
    let _ = writeln!(out, "\nat operation {}:", d.op_number);
    for diff in &d.differences {
        let _ = writeln!(out, "   {diff}");
    }
    if !d.made.is_empty() {
        let made: Vec<String> = d.made.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "objects it touches: {}", made.join("; "));
    }
    if d.actual == serde_json::json!({"err": "unsupported"}) {
        let _ = writeln!(
            out,
            "the port answered `unsupported` to an operation of a feature it declared ({}): \
             declaring a feature is a promise to implement all of it ([FEAT-3])",
            c.charged_features
        );
    }
    let _ = writeln!(out, "charged to the features: {}", c.charged_features);
    let _ = writeln!(out, "clauses of the operation: {}", d.clauses.join(", "));
    if !d.related_clauses.is_empty() {
        let _ = writeln!(
            out,
            "clauses of the operations that made those objects: {}",
            d.related_clauses.join(", ")
        );
    }
    let _ = writeln!(out, "expected: {}", d.expected);
    let _ = writeln!(out, "actual:   {}", d.actual);
    let _ = writeln!(
        out,
        "\nthe minimal trace as a corpus file (spec.md [TRACE-8]):"
    );
    out.push_str(&corpus::render_file(
        "minimal counterexample",
        &[report.profile],
        &d.clauses,
        &c.trace,
        c.expected.get(1..).unwrap_or_default(),
    ));
}

fn render_port_failure(out: &mut String, f: &PortFailureReport) {
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

/// The human-readable report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "port: {}  profile: {}  protocol version {}",
        report.port, report.profile, report.protocol_version
    );
    let _ = writeln!(
        out,
        "declared: {}; checked: {}",
        report.features_declared, report.features_checked
    );
    match &report.corpus.source {
        Some(source) => {
            let _ = writeln!(
                out,
                "corpus {source}: {}{}",
                counts_line(&report.corpus.counts),
                if report.corpus.other_profile > 0 {
                    format!(
                        " ({} more traces are for the other profile)",
                        report.corpus.other_profile
                    )
                } else {
                    String::new()
                }
            );
            for t in &report.corpus.traces {
                if let (TraceStatus::Skipped, Some(reason)) = (t.status, &t.reason) {
                    let _ = writeln!(out, "  skipped {}: {reason}", t.file);
                }
            }
            for f in &report.corpus.ignored_files {
                let _ = writeln!(out, "  not a trace, not read: {f}");
            }
        }
        None => {
            let _ = writeln!(out, "corpus: not run (--no-corpus)");
        }
    }
    let _ = writeln!(
        out,
        "random (seed {}): {} of {} planned: {}",
        report.seed,
        report.random.counts.passed + report.random.counts.failed,
        report.random.planned,
        counts_line(&report.random.counts)
    );
    render_features(&mut out, report);
    if let Some(c) = &report.counterexample {
        render_counterexample(&mut out, report, c);
    }
    if let Some(f) = &report.port_failure {
        render_port_failure(&mut out, f);
    }
    if let Some(f) = &report.shrink_port_failure {
        let _ = writeln!(out, "\n(while shrinking)");
        render_port_failure(&mut out, f);
    }
    if let Some(replay) = &report.replay {
        let _ = writeln!(out, "\nto run this check again: {replay}");
    }
    let _ = writeln!(
        out,
        "\nverdict: {}",
        match report.verdict {
            Verdict::Pass => "pass (no divergence)",
            Verdict::Divergence => "DIVERGENCE (exit 1)",
            Verdict::PortFailure => "PORT FAILURE (exit 2)",
            Verdict::NothingChecked => "NOTHING CHECKED: no trace ran (exit 2)",
        }
    );
    out
}
