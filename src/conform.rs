//! `flytectx conform`: the golden corpus, then random traces, against one
//! port, checking what the port claims ([FEAT-3], [REL-1]); a verdict per
//! feature with a minimal counterexample.

use crate::corpus::{self, CorpusTrace};
use crate::error::UsageError;
use crate::generate::{concretize_expected, moves, seed_rng, Move};
use crate::port::{Declaration, Port, PortFailure};
use crate::report::{
    CorpusPhase, CorpusResult, Counterexample, Origin, PortFailureReport, RandomPhase, Report,
    TraceStatus, Verdict, SCHEMA_VERSION,
};
use crate::run::{check, expect, Checked, Divergence};
use crate::shrink::{minimize, shrink, Tester};
use crate::tally::{charged_features, Reasons, Tally};
use flytectx_model::{Answer, Claim, Feature, FeatureSet, Op, Profile, Release, Target};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use std::path::PathBuf;
use std::time::Duration;

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The profile checked.
    pub profile: Profile,
    /// The golden corpus to run, or None to skip it.
    pub corpus: Option<CorpusSource>,
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

/// Where the golden corpus comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorpusSource {
    /// The corpus built into the binary ([`corpus::load_builtin`]).
    BuiltIn,
    /// The `*.jsonl` files of a directory.
    Dir(PathBuf),
}

impl CorpusSource {
    fn load(&self) -> Result<corpus::Loaded, UsageError> {
        match self {
            CorpusSource::BuiltIn => corpus::load_builtin(),
            CorpusSource::Dir(dir) => corpus::load_dir(dir),
        }
    }

    fn describe(&self) -> String {
        match self {
            CorpusSource::BuiltIn => format!("{} (conformance/corpus/)", corpus::BUILT_IN),
            CorpusSource::Dir(dir) => dir.display().to_string(),
        }
    }
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

    /// 1. The golden corpus: expected answers are data ([TRACE-8]).
    fn corpus(&mut self, source: &CorpusSource, reasons: &Reasons) -> Result<Phase, UsageError> {
        let loaded = source.load()?;
        let profile = self.plan.profile;
        let (mine, other): (Vec<&CorpusTrace>, Vec<&CorpusTrace>) = loaded
            .traces
            .iter()
            .partition(|t| t.file.header.profiles.contains(&profile));
        self.report.corpus = CorpusPhase {
            source: Some(source.describe()),
            other_profile: other.len() as u32,
            ignored_files: loaded.ignored,
            ..CorpusPhase::default()
        };
        (self.progress)(&format!(
            "corpus {}: {} traces for the {profile} profile",
            source.describe(),
            mine.len()
        ));
        let result = |t: &CorpusTrace, status, reason| CorpusResult {
            file: t.path.display().to_string(),
            title: t.file.header.title.clone(),
            status,
            reason,
        };
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
                    let skipped = result(t, TraceStatus::Skipped, Some(reason));
                    self.report.corpus.traces.push(skipped);
                    continue;
                }
            };
            let checked = check(&mut *self.port, &wire, &expected);
            let counts = &mut self.report.corpus.counts;
            if let Checked::Passed = checked {
                counts.passed += 1;
                self.tally.passed(&wire, &t.file.header.clauses);
                self.report
                    .corpus
                    .traces
                    .push(result(t, TraceStatus::Passed, None));
                continue;
            }
            counts.failed += 1;
            counts.not_run = (mine.len() - i - 1) as u32;
            self.report
                .corpus
                .traces
                .push(result(t, TraceStatus::Failed, None));
            let stopped = Some("the run stopped at an earlier failure".to_string());
            for later in &mine[i + 1..] {
                let not_run = result(later, TraceStatus::NotRun, stopped.clone());
                self.report.corpus.traces.push(not_run);
            }
            let origin = Origin::Corpus {
                file: file.clone(),
                title: t.file.header.title.clone(),
                comments: t.file.comments.clone(),
            };
            let found = Found {
                origin,
                during: format!("corpus trace {file}"),
                ops: wire[1..].to_vec(),
                wire,
            };
            return self.settle(found, checked, None);
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
            let (ops, exp) = concretize_expected(self.claim, &mv, sigint);
            let checked = check(&mut *self.port, &exp.wire, &exp.answers);
            let counts = &mut self.report.random.counts;
            if let Checked::Passed = checked {
                counts.passed += 1;
                self.tally.passed(&exp.wire, &[]);
                if (number + 1) % 1000 == 0 {
                    (self.progress)(&format!(
                        "random: {} of {} traces, no divergence",
                        number + 1,
                        plan.traces
                    ));
                }
                continue;
            }
            counts.failed += 1;
            counts.not_run = plan.traces - number - 1;
            let found = Found {
                origin: Origin::Random {
                    number,
                    seed: plan.seed,
                    original_len: ops.len(),
                    shrink_runs: 0,
                },
                during: format!("random trace {number}"),
                ops,
                wire: exp.wire,
            };
            return self.settle(found, checked, Some(Box::new(tree)));
        }
        Ok(Phase::Went)
    }

    /// A trace that did not pass. A port failure with no divergence before it
    /// is the verdict. A divergence is: the port failure beside it, if any, is
    /// kept; the trace is shrunk (with proptest's tree for a random trace,
    /// by deletions for a corpus trace) on a port restarted if need be.
    fn settle(
        &mut self,
        found: Found,
        checked: Checked,
        tree: Option<Box<dyn ValueTree<Value = (Vec<Move>, bool)>>>,
    ) -> Result<Phase, UsageError> {
        let Found {
            mut origin,
            during,
            ops,
            wire,
        } = found;
        let (divergence, beside) = match checked {
            Checked::Passed => unreachable!("only failures are settled"),
            Checked::PortFailed {
                failure,
                divergence: None,
            } => {
                self.tally.failed(None);
                return Ok(self.fail(failure, during, &wire));
            }
            Checked::PortFailed {
                failure,
                divergence: Some(d),
            } => (d, Some(failure)),
            Checked::Diverged(d) => (d, self.port.check_quiet(QUIET_GRACE).err()),
        };
        self.report.verdict = Verdict::Divergence;
        if let Some(failure) = beside {
            // [PROTO-4]: kept beside the divergence, which stays the verdict.
            self.report.port_failure = Some(PortFailureReport {
                failure,
                during: during.clone(),
                trace: wire.clone(),
            });
        }
        (self.progress)(&format!(
            "{during} diverges ({} operations); shrinking",
            ops.len()
        ));
        let shrunk = match self.port.restart() {
            Ok(()) => {
                let mut tester = Tester::new(self.claim, &mut *self.port);
                let budget = self.plan.shrink_budget;
                let first = divergence.clone();
                match tree {
                    Some(mut tree) => shrink(&mut tester, &mut tree, ops, first, budget),
                    None => minimize(&mut tester, ops, first, budget),
                }
            }
            Err(f) => Err(f),
        };
        let shrunk = match shrunk {
            Ok(s) => s,
            // The port cannot even be started again: the divergence stands unshrunk.
            Err(failure) => {
                self.report.shrink_port_failure = Some(PortFailureReport {
                    failure,
                    during: format!("restarting the port to shrink {during}"),
                    trace: Vec::new(),
                });
                let index = divergence.op_number;
                self.tally.failed(wire.get(index));
                self.report.counterexample = Some(self.counterexample(origin, &wire, divergence));
                return Ok(Phase::Stopped);
            }
        };
        if let Some((ops, failure)) = shrunk.port_failure {
            self.report.shrink_port_failure = Some(PortFailureReport {
                failure,
                during: format!("shrinking {during}"),
                trace: ops,
            });
        }
        if let Origin::Random { shrink_runs, .. } = &mut origin {
            *shrink_runs = shrunk.runs;
        }
        let exp = expect(self.claim.target, &shrunk.ops).expect("a shrunk trace is valid");
        self.tally.failed(exp.wire.get(shrunk.divergence.op_number));
        self.report.counterexample =
            Some(self.counterexample(origin, &exp.wire, shrunk.divergence));
        Ok(Phase::Stopped)
    }

    /// The counterexample of `divergence` on `wire` (with its `reset`).
    fn counterexample(
        &self,
        origin: Origin,
        wire: &[Op],
        divergence: Divergence,
    ) -> Counterexample {
        let expected = expect(self.claim.target, &wire[1..])
            .map(|e| e.answers.iter().map(Answer::to_value).collect())
            .unwrap_or_default();
        Counterexample {
            origin,
            trace: wire[1..].to_vec(),
            expected,
            charged_features: charged_features(wire.get(divergence.op_number)),
            divergence,
        }
    }
}

/// A trace that did not pass, with where it came from.
struct Found {
    origin: Origin,
    during: String,
    /// The trace as written (random: as generated; corpus: its wire form).
    ops: Vec<Op>,
    /// What was sent, with the leading `reset`.
    wire: Vec<Op>,
}

/// An empty report of a run of `plan` against a port that declared `declared`.
pub fn new_report(port: String, plan: &Plan, declared: &Declaration, claim: &Claim) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
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
        shrink_port_failure: None,
        replay: None,
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
    if let Some(source) = &plan.corpus {
        phase = s.corpus(source, &reasons)?;
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
