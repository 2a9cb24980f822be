//! `flytectx conform`: the golden corpus, then random traces, against one
//! port, checking what the port claims ([FEAT-3], [REL-1]); a verdict per
//! feature with a minimal counterexample.

use crate::corpus::{self, CorpusTrace};
use crate::error::UsageError;
use crate::generate::{concretize, moves, seed_rng};
use crate::port::{Declaration, Port, PortFailure};
use crate::report::{
    Counterexample, CorpusPhase, Origin, PortFailureReport, RandomPhase, Report, SkippedTrace,
    Verdict,
};
use crate::run::{check, expect, Divergence};
use crate::shrink::{shrink, Shrunk, Tester};
use crate::tally::{charged_features, Reasons, Tally};
use flytectx_model::{Answer, Claim, Feature, FeatureSet, Op, Profile, Release, Target};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The profile checked.
    pub profile: Profile,
    /// The corpus directory, or None to skip the corpus.
    pub corpus: Option<PathBuf>,
    /// How many random traces.
    pub traces: u32,
    /// Their seed.
    pub seed: u64,
    /// Most moves in one random trace.
    pub max_len: usize,
    /// Most candidate runs spent shrinking one divergence.
    pub shrink_budget: u32,
    /// `--features`: check no more than these (the stack core always).
    pub features: Option<FeatureSet>,
}

/// How long to wait for unasked output after a divergence.
const QUIET_GRACE: Duration = Duration::from_millis(200);

/// One run in progress: the port, what is checked, and the report so far.
struct Session<'a> {
    port: &'a mut dyn Port,
    plan: &'a Plan,
    claim: Claim,
    tally: Tally,
    report: Report,
    progress: &'a mut dyn FnMut(&str),
}

/// Whether a phase ended the run.
enum Phase {
    Went,
    Stopped,
}

impl Session<'_> {
    fn release(&self) -> Release {
        self.claim.target.release
    }

    fn fail(&mut self, failure: PortFailure, during: String, trace: &[Op]) -> Phase {
        self.report.verdict = Verdict::PortFailure;
        self.report.port_failure = Some(PortFailureReport {
            failure,
            during,
            trace: trace.to_vec(),
        });
        Phase::Stopped
    }

    /// Why a corpus trace cannot run under the claim, if it cannot.
    fn skip_reason(&self, t: &CorpusTrace, reasons: &Reasons) -> Option<String> {
        let needed = t.file.features();
        if let Some(f) = needed.difference(self.claim.features).iter().next() {
            let why = reasons.why_not(f).unwrap_or_default();
            return Some(format!("needs the feature `{f}` ({why})"));
        }
        t.file.ops.iter().find_map(|op| {
            self.claim
                .unavailable(op)
                .map(|u| format!("`{}` {}", op.name(), u.describe(self.release())))
        })
    }

    /// What to send for a corpus trace and what to expect: the file's own
    /// answers for the reference release, the model's for another
    /// ([REL-1]); Err with a reason when the model of that release cannot
    /// run the trace.
    fn corpus_wire(&self, t: &CorpusTrace) -> Result<(Vec<Op>, Vec<Answer>), String> {
        if self.release() == Release::REFERENCE {
            return Ok(t.wire());
        }
        expect(self.claim.target, &t.file.ops)
            .map(|e| (e.wire, e.answers))
            .map_err(|e| {
                format!(
                    "not a valid trace for flytekit {} at its operation {}: {}",
                    self.release(),
                    e.index + 1,
                    e.error
                )
            })
    }

    /// A divergence: unless the port then says more than it was asked, the
    /// counterexample becomes the verdict.
    fn diverged(&mut self, counterexample: Counterexample, during: String, wire: &[Op]) -> Phase {
        if let Err(f) = self.port.check_quiet(QUIET_GRACE) {
            return self.fail(f, during, wire);
        }
        self.report.verdict = Verdict::Divergence;
        self.report.counterexample = Some(counterexample);
        Phase::Stopped
    }

    /// 1. The golden corpus: expected answers are data ([TRACE-8]).
    fn corpus(&mut self, dir: &Path, reasons: &Reasons) -> Result<Phase, UsageError> {
        let traces = corpus::load_dir(dir)?;
        let profile = self.plan.profile;
        let (mine, other): (Vec<&CorpusTrace>, Vec<&CorpusTrace>) = traces
            .iter()
            .partition(|t| t.file.header.profiles.contains(&profile));
        self.report.corpus = CorpusPhase {
            source: Some(dir.display().to_string()),
            other_profile: other.len() as u32,
            ..CorpusPhase::default()
        };
        (self.progress)(&format!(
            "corpus {}: {} traces for the {profile} profile",
            dir.display(),
            mine.len()
        ));
        for (i, t) in mine.iter().enumerate() {
            let file = t.path.display().to_string();
            let prepared = match self.skip_reason(t, reasons) {
                Some(reason) => Err(reason),
                None => self.corpus_wire(t),
            };
            let (wire, expected) = match prepared {
                Ok(w) => w,
                Err(reason) => {
                    self.tally.skipped(t.file.features());
                    self.report.corpus.counts.skipped += 1;
                    self.report.corpus.skipped_traces.push(SkippedTrace { file, reason });
                    continue;
                }
            };
            let counts = &mut self.report.corpus.counts;
            let outcome = check(&mut *self.port, &wire, &expected);
            if !matches!(outcome, Ok(None)) {
                counts.failed += 1;
                counts.not_run = (mine.len() - i - 1) as u32;
            }
            match outcome {
                Ok(None) => {
                    counts.passed += 1;
                    self.tally.passed(&wire, &t.file.header.clauses);
                }
                Ok(Some(divergence)) => {
                    self.tally.failed(wire.get(divergence.wire_index));
                    let counterexample = Counterexample {
                        origin: Origin::Corpus { file: file.clone() },
                        trace: wire[1..].to_vec(),
                        expected: expected.iter().map(Answer::to_value).collect(),
                        charged_features: charged_features(wire.get(divergence.wire_index)),
                        divergence,
                    };
                    return Ok(self.diverged(counterexample, format!("corpus trace {file}"), &wire));
                }
                Err(f) => return Ok(self.fail(f, format!("corpus trace {file}"), &wire)),
            }
        }
        Ok(Phase::Went)
    }

    /// 2. Random traces of what the claim allows, shrunk on divergence.
    fn random(&mut self) -> Result<Phase, UsageError> {
        let plan = self.plan;
        let strategy = moves(plan.max_len);
        let mut runner = TestRunner::new_with_rng(Config::default(), seed_rng(plan.seed));
        for number in 0..plan.traces {
            let tree = strategy
                .new_tree(&mut runner)
                .map_err(|e| UsageError::Other(format!("generating a trace: {e}")))?;
            let (mv, sigint) = tree.current();
            let ops = concretize(self.claim, &mv, sigint);
            let exp = expect(self.claim.target, &ops).map_err(|e| {
                UsageError::Other(format!("a generated trace is invalid: {}", e.error))
            })?;
            let outcome = check(&mut *self.port, &exp.wire, &exp.answers);
            let counts = &mut self.report.random.counts;
            match outcome {
                Ok(None) => {
                    counts.passed += 1;
                    self.tally.passed(&exp.wire, &[]);
                    if (number + 1) % 1000 == 0 {
                        (self.progress)(&format!(
                            "random: {} of {} traces, no divergence",
                            number + 1,
                            plan.traces
                        ));
                    }
                }
                Ok(Some(divergence)) => {
                    counts.failed += 1;
                    counts.not_run = plan.traces - number - 1;
                    return self.shrink_random(number, tree, ops, divergence, &exp.wire);
                }
                Err(f) => {
                    counts.failed += 1;
                    counts.not_run = plan.traces - number - 1;
                    return Ok(self.fail(f, format!("random trace {number}"), &exp.wire));
                }
            }
        }
        Ok(Phase::Went)
    }

    fn shrink_random(
        &mut self,
        number: u32,
        mut tree: impl ValueTree<Value = (Vec<crate::generate::Move>, bool)>,
        ops: Vec<Op>,
        divergence: Divergence,
        wire: &[Op],
    ) -> Result<Phase, UsageError> {
        if let Err(f) = self.port.check_quiet(QUIET_GRACE) {
            return Ok(self.fail(f, format!("random trace {number}"), wire));
        }
        (self.progress)(&format!(
            "random trace {number} diverges ({} operations); shrinking",
            ops.len()
        ));
        let original_len = ops.len();
        let mut tester = Tester::new(self.claim, &mut *self.port);
        let shrunk = match shrink(
            &mut tester,
            &mut tree,
            ops,
            divergence,
            self.plan.shrink_budget,
        ) {
            Ok(s) => s,
            Err(f) => return Ok(self.fail(f, format!("shrinking random trace {number}"), &[])),
        };
        let Shrunk {
            ops,
            divergence,
            runs,
        } = shrunk;
        let exp = expect(self.claim.target, &ops).expect("a shrunk trace is valid");
        self.tally.failed(exp.wire.get(divergence.wire_index));
        self.report.verdict = Verdict::Divergence;
        self.report.counterexample = Some(Counterexample {
            origin: Origin::Random {
                number,
                seed: self.plan.seed,
                original_len,
                shrink_runs: runs,
            },
            charged_features: charged_features(exp.wire.get(divergence.wire_index)),
            trace: exp.wire[1..].to_vec(),
            expected: exp.answers.iter().map(Answer::to_value).collect(),
            divergence,
        });
        Ok(Phase::Stopped)
    }
}

/// An empty report of a run of `plan` against a port that declared `declared`.
pub fn new_report(port: String, plan: &Plan, declared: &Declaration, claim: &Claim) -> Report {
    Report {
        port,
        protocol_version: declared.protocol_version,
        profile: plan.profile,
        release: declared.release,
        features_declared: declared.features,
        features_checked: claim.features,
        unknown_features: declared.unknown_features.clone(),
        seed: plan.seed,
        corpus: CorpusPhase::default(),
        random: RandomPhase {
            planned: plan.traces,
            ..RandomPhase::default()
        },
        features: Vec::new(),
        verdict: Verdict::Pass,
        counterexample: None,
        port_failure: None,
    }
}

/// Run the plan against `port`.
pub fn conform(
    port: &mut dyn Port,
    plan: &Plan,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, UsageError> {
    let declared = port.declaration();
    let core = FeatureSet::only(Feature::Stack);
    let reasons = Reasons {
        declared: declared.features,
        selected: plan.features.unwrap_or(FeatureSet::ALL).union(core),
        release: declared.release,
    };
    let target = Target {
        profile: plan.profile,
        release: declared.release,
    };
    let claim = Claim::new(target, declared.features.intersection(reasons.selected));
    let report = new_report(port.name(), plan, &declared, &claim);
    let mut s = Session {
        port,
        plan,
        claim,
        tally: Tally::new(claim),
        report,
        progress,
    };
    let mut phase = Phase::Went;
    if let Some(dir) = &plan.corpus {
        phase = s.corpus(dir, &reasons)?;
    }
    match phase {
        Phase::Went => phase = s.random()?,
        Phase::Stopped => s.report.random.counts.not_run = plan.traces,
    }
    if let Phase::Went = phase {
        if let Err(f) = s.port.finish() {
            s.fail(f, "the end of the session".to_string(), &[]);
        }
    }
    let ran = s.report.corpus.counts.passed + s.report.random.counts.passed;
    if s.report.verdict == Verdict::Pass && ran == 0 {
        s.report.verdict = Verdict::NothingChecked;
    }
    let clauses = crate::spec::clauses(crate::spec::TEXT);
    s.report.features = s.tally.verdicts(&clauses, &reasons);
    Ok(s.report)
}

/// The default corpus directory, relative to the repository root.
pub fn default_corpus() -> &'static Path {
    Path::new("conformance/corpus")
}
