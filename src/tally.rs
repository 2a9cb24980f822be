//! What a run checked, per feature and per clause ([FEAT-3]): the runner
//! tells a port author what passed, what failed, and what was not checked
//! at all, and why.

use flytectx_model::trace::features_of;
use flytectx_model::{Claim, Feature, FeatureSet, Op, Release};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Why a feature is not checked, for the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reasons {
    /// What the port declared.
    pub declared: FeatureSet,
    /// What the command line selected (`--features`), or everything.
    pub selected: FeatureSet,
    /// The port's release.
    pub release: Release,
}

impl Reasons {
    /// Why `f` is not checked, or None when it is.
    pub fn why_not(&self, f: Feature) -> Option<String> {
        if !self.declared.contains(f) {
            Some("not declared by the port".into())
        } else if !self.release.features().contains(f) {
            Some(format!("flytekit {} does not have it", self.release))
        } else if !self.selected.contains(f) {
            Some("not selected with --features".into())
        } else {
            None
        }
    }
}

/// How one feature fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureStatus {
    /// Traces needing it ran, and none diverged on it.
    Checked,
    /// Not checked: see the reason.
    Skipped,
    /// A divergence was charged to it.
    Failed,
    /// Checked, but no trace that ran needed it.
    NotExercised,
}

/// Trace counts of one feature: the traces that needed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TraceCounts {
    /// Ran and gave every expected answer.
    pub passed: u32,
    /// Diverged, charged to this feature.
    pub failed: u32,
    /// Not run because they need this feature and it is not checked.
    pub skipped: u32,
}

/// The clauses of one feature, by what became of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClauseStatus {
    /// Exercised by a trace that passed.
    pub checked: Vec<String>,
    /// Clauses of the operation that diverged.
    pub failed: Vec<String>,
    /// The feature is not checked.
    pub skipped: Vec<String>,
    /// The feature is checked, but no trace that ran exercised these.
    pub not_exercised: Vec<String>,
    /// No trace can show these ([`crate::spec::NOT_IN_TRACES`]): the
    /// runner's own tests cover them.
    pub not_in_traces: Vec<String>,
}

/// The verdict on one feature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeatureVerdict {
    /// Which feature.
    pub feature: Feature,
    /// How it fared.
    pub status: FeatureStatus,
    /// Why it was skipped, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The traces that needed it.
    pub traces: TraceCounts,
    /// Its clauses.
    pub clauses: ClauseStatus,
}

/// [FEAT-3]: the features a divergence at `op` is charged to: those of the
/// operation and its steps, less the stack core when there is another (every
/// trace exercises the stack core, so it is the least likely culprit).
pub fn charged_features(op: Option<&Op>) -> FeatureSet {
    let core = FeatureSet::only(Feature::Stack);
    let all = op.map_or(core, Op::features);
    let specific = all.difference(core);
    if specific.is_empty() {
        core
    } else {
        specific
    }
}

/// Clauses a passing trace checks besides those of its operations
/// (`Op::clauses`): every answer has the form of [OBS-1]; every summary
/// answer follows [OBS-2]..[OBS-6] and [CTX-1]; any trace that ran was
/// written in the trace language and driven by its rules.
fn also_checked(ops: &[Op]) -> Vec<&'static str> {
    let mut out = vec![
        "PROF-1", "PROF-2", "OBS-1", "TRACE-1", "TRACE-2", "TRACE-5", "TRACE-6", "RUN-4",
    ];
    let summary = |op: &Op| {
        matches!(
            op,
            Op::Current
                | Op::Push { .. }
                | Op::Pop
                | Op::Build { .. }
                | Op::WithEnter { .. }
                | Op::Observe { .. }
                | Op::NewContext { .. }
        )
    };
    if ops.iter().any(summary) {
        out.extend([
            "OBS-2", "OBS-3", "OBS-4", "OBS-5", "OBS-6", "CTX-1", "TRACE-4",
        ]);
    }
    if ops.iter().any(|op| !op.steps().is_empty()) {
        out.push("TRACE-3");
    }
    out
}

/// The running count of a conformance run.
#[derive(Clone, Debug)]
pub struct Tally {
    claim: Claim,
    traces: BTreeMap<Feature, TraceCounts>,
    checked: HashSet<String>,
    failed: HashSet<String>,
}

impl Tally {
    /// An empty tally for a run under `claim`.
    pub fn new(claim: Claim) -> Tally {
        Tally {
            claim,
            traces: BTreeMap::new(),
            checked: HashSet::new(),
            failed: HashSet::new(),
        }
    }

    fn counts(&mut self, f: Feature) -> &mut TraceCounts {
        self.traces.entry(f).or_default()
    }

    /// A trace of `ops` passed; `listed` are clauses its header names.
    pub fn passed(&mut self, ops: &[Op], listed: &[String]) {
        for f in features_of(ops).iter() {
            self.counts(f).passed += 1;
        }
        let of_ops = ops.iter().flat_map(Op::clauses);
        for c in of_ops.chain(also_checked(ops)) {
            if !self.checked.contains(c) {
                self.checked.insert(c.to_string());
            }
        }
        self.checked.extend(listed.iter().cloned());
    }

    /// A trace needing `needed` was skipped.
    pub fn skipped(&mut self, needed: FeatureSet) {
        for f in needed.difference(self.claim.features).iter() {
            self.counts(f).skipped += 1;
        }
    }

    /// A trace diverged at `op` (None: after its last operation).
    pub fn failed(&mut self, op: Option<&Op>) {
        for f in charged_features(op).iter() {
            self.counts(f).failed += 1;
        }
        // The clauses of the operation that belong to the charged features.
        let charged = charged_features(op);
        if let Some(op) = op {
            self.failed.extend(
                op.clauses()
                    .into_iter()
                    .filter(|c| Feature::of_clause(c).is_some_and(|f| charged.contains(f)))
                    .map(String::from),
            );
        }
    }

    /// The verdict on every feature, in table order; `clauses` are the ids of
    /// spec.md, `reasons` say why a feature is not checked.
    pub fn verdicts(&self, clauses: &[String], reasons: &Reasons) -> Vec<FeatureVerdict> {
        Feature::ALL
            .into_iter()
            .map(|f| {
                let traces = self.traces.get(&f).copied().unwrap_or_default();
                let checked = self.claim.features.contains(f);
                let mut status = ClauseStatus::default();
                for id in clauses
                    .iter()
                    .filter(|id| Feature::of_clause(id) == Some(f))
                {
                    let list = if !checked {
                        &mut status.skipped
                    } else if self.failed.contains(id) {
                        &mut status.failed
                    } else if self.checked.contains(id) {
                        &mut status.checked
                    } else if crate::spec::not_in_traces(id).is_some() {
                        &mut status.not_in_traces
                    } else {
                        &mut status.not_exercised
                    };
                    list.push(id.clone());
                }
                FeatureVerdict {
                    feature: f,
                    status: if !checked {
                        FeatureStatus::Skipped
                    } else if traces.failed > 0 {
                        FeatureStatus::Failed
                    } else if traces.passed > 0 {
                        FeatureStatus::Checked
                    } else {
                        FeatureStatus::NotExercised
                    },
                    reason: (!checked).then(|| {
                        reasons
                            .why_not(f)
                            .unwrap_or_else(|| "not checked".to_string())
                    }),
                    traces,
                    clauses: status,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flytectx_model::names::CtxName;
    use flytectx_model::trace::Step;
    use flytectx_model::{Profile, Target};

    fn claim(features: &str) -> Claim {
        Claim::new(
            Target::from(Profile::Compat),
            FeatureSet::parse_list(features).unwrap(),
        )
    }

    #[test]
    fn a_divergence_is_charged_to_the_most_specific_features_of_its_operation() {
        assert_eq!(charged_features(Some(&Op::Pop)).to_string(), "stack");
        assert_eq!(charged_features(None).to_string(), "stack");
        let enter = Op::WithEnter {
            from: CtxName(0),
            steps: vec![Step::EnterConditionalSection],
        };
        assert_eq!(
            charged_features(Some(&enter)).to_string(),
            "with, conditionals"
        );
    }

    #[test]
    fn verdicts_say_what_was_checked_failed_skipped_and_why() {
        let c = claim("stack,with,threads");
        let mut t = Tally::new(c);
        t.passed(&[Op::Size, Op::Pop], &["INIT-1".to_string()]);
        t.skipped(FeatureSet::parse_list("stack,signals").unwrap());
        t.failed(Some(&Op::WithExit { raise: None }));
        let clauses: Vec<String> = [
            "INIT-1", "POP-2", "SIZE-1", "CUR-1", "PROTO-2", "WITH-2", "SIG-1", "THR-1",
        ]
        .map(String::from)
        .to_vec();
        let reasons = Reasons {
            declared: FeatureSet::parse_list("stack,with,threads,signals").unwrap(),
            selected: FeatureSet::parse_list("stack,with,threads").unwrap(),
            release: Release::REFERENCE,
        };
        let v = t.verdicts(&clauses, &reasons);
        let of = |f: Feature| v.iter().find(|x| x.feature == f).unwrap();
        let stack = of(Feature::Stack);
        assert_eq!(stack.status, FeatureStatus::Checked);
        assert_eq!(stack.clauses.checked, ["INIT-1", "POP-2", "SIZE-1"]);
        assert_eq!(stack.clauses.not_exercised, ["CUR-1"]);
        assert_eq!(stack.clauses.not_in_traces, ["PROTO-2"]);
        assert_eq!(of(Feature::With).status, FeatureStatus::Failed);
        assert_eq!(of(Feature::With).clauses.failed, ["WITH-2"]);
        let signals = of(Feature::Signals);
        assert_eq!(signals.status, FeatureStatus::Skipped);
        assert_eq!(
            signals.reason.as_deref(),
            Some("not selected with --features")
        );
        assert_eq!(
            (signals.traces.skipped, &signals.clauses.skipped[..]),
            (1, &["SIG-1".to_string()][..])
        );
        assert_eq!(of(Feature::Threads).status, FeatureStatus::NotExercised);
        assert_eq!(of(Feature::Threads).clauses.not_exercised, ["THR-1"]);
        assert_eq!(
            of(Feature::Builders).reason.as_deref(),
            Some("not declared by the port")
        );
        let old = Reasons {
            release: Release::new(1, 10, 7),
            ..reasons
        };
        assert_eq!(
            old.why_not(Feature::Signals).as_deref(),
            Some("flytekit 1.10.7 does not have it")
        );
    }
}
