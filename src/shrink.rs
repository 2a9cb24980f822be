//! Shrinking a diverging trace to a minimal one ([RUN-4] wire form kept
//! valid throughout): first proptest's own shrinking of the moves, then a
//! pass that deletes single operations and whole brackets of the concrete
//! trace until no deletion still diverges.

use crate::generate::{concretize, Move};
use crate::port::{Port, PortFailure};
use crate::run::{check, expect, Checked, Divergence};
use flytectx_model::trace::check_structure;
use flytectx_model::{Claim, Op};
use proptest::strategy::ValueTree;
use std::collections::HashMap;

/// A divergence and the smallest trace found that still shows it.
#[derive(Clone, Debug)]
pub struct Shrunk {
    pub ops: Vec<Op>,
    pub divergence: Divergence,
    /// How many candidate traces were run on the port.
    pub runs: u32,
    /// The smallest candidate on which the port failed the protocol without
    /// diverging first, if one did: not the failure being shrunk, but never
    /// dropped ([PROTO-4]).
    pub port_failure: Option<(Vec<Op>, PortFailure)>,
}

/// Runs candidates on the port, remembering results so that no trace is run twice.
pub struct Tester<'p> {
    /// What candidates may contain, and whose answers they expect.
    pub claim: Claim,
    pub port: &'p mut dyn Port,
    seen: HashMap<Vec<Op>, Option<Divergence>>,
    pub runs: u32,
    /// See [`Shrunk::port_failure`].
    pub port_failure: Option<(Vec<Op>, PortFailure)>,
}

impl<'p> Tester<'p> {
    pub fn new(claim: impl Into<Claim>, port: &'p mut dyn Port) -> Tester<'p> {
        Tester {
            claim: claim.into(),
            port,
            seen: HashMap::new(),
            runs: 0,
            port_failure: None,
        }
    }

    /// The divergence `ops` shows, or None; an invalid candidate shows none.
    /// A divergence before a port failure counts; a port failure without one
    /// is kept aside and the port restarted. Err only when it cannot restart.
    pub fn test(&mut self, ops: &[Op]) -> Result<Option<Divergence>, PortFailure> {
        if let Some(known) = self.seen.get(ops) {
            return Ok(known.clone());
        }
        let result = match expect(self.claim.target, ops) {
            Err(_) => None,
            Ok(exp) => {
                self.runs += 1;
                match check(self.port, &exp.wire, &exp.answers) {
                    Checked::Passed => None,
                    Checked::Diverged(d) => Some(d),
                    Checked::PortFailed {
                        failure,
                        divergence,
                    } => {
                        if divergence.is_none() {
                            let shorter = self
                                .port_failure
                                .as_ref()
                                .is_none_or(|(kept, _)| ops.len() < kept.len());
                            if shorter {
                                self.port_failure = Some((ops.to_vec(), failure));
                            }
                        }
                        self.port.restart()?;
                        divergence
                    }
                }
            }
        };
        self.seen.insert(ops.to_vec(), result.clone());
        Ok(result)
    }
}

/// Shrink with proptest's value tree, then delete what can be deleted.
pub fn shrink(
    tester: &mut Tester<'_>,
    tree: &mut impl ValueTree<Value = (Vec<Move>, bool)>,
    ops: Vec<Op>,
    divergence: Divergence,
    budget: u32,
) -> Result<Shrunk, PortFailure> {
    let mut best = (ops, divergence);
    // proptest's shrinking loop: simplify while the candidate still fails,
    // step back (complicate) when it passes.
    if tree.simplify() {
        while tester.runs < budget {
            let (moves, sigint) = tree.current();
            let candidate = concretize(tester.claim, &moves, sigint);
            match tester.test(&candidate)? {
                Some(d) => {
                    if candidate.len() <= best.0.len() {
                        best = (candidate, d);
                    }
                    if !tree.simplify() {
                        break;
                    }
                }
                None => {
                    if !tree.complicate() {
                        break;
                    }
                }
            }
        }
    }
    minimize(tester, best.0, best.1, budget)
}

/// Delete single operations, and brackets with or without their bodies,
/// while the trace still diverges: the result is 1-minimal in that sense.
pub fn minimize(
    tester: &mut Tester<'_>,
    mut ops: Vec<Op>,
    mut divergence: Divergence,
    budget: u32,
) -> Result<Shrunk, PortFailure> {
    'again: loop {
        for i in 0..ops.len() {
            for candidate in deletions(&ops, i) {
                if tester.runs >= budget {
                    break 'again;
                }
                let lines: Vec<usize> = (1..=candidate.len()).collect();
                if check_structure(&candidate, &lines).is_err() {
                    continue;
                }
                if let Some(d) = tester.test(&candidate)? {
                    ops = candidate;
                    divergence = d;
                    continue 'again;
                }
            }
        }
        break;
    }
    Ok(Shrunk {
        ops,
        divergence,
        runs: tester.runs,
        port_failure: tester.port_failure.take(),
    })
}

/// Candidates that delete operation `i`: alone, or when it opens a bracket,
/// the bracket with its body, and the bracket keeping its body.
fn deletions(ops: &[Op], i: usize) -> Vec<Vec<Op>> {
    let without = |range: std::ops::RangeInclusive<usize>| -> Vec<Op> {
        ops.iter()
            .enumerate()
            .filter(|(j, _)| !range.contains(j))
            .map(|(_, op)| op.clone())
            .collect()
    };
    if ops[i].closes().is_some() {
        return Vec::new();
    }
    if ops[i].opens().is_none() {
        return vec![without(i..=i)];
    }
    let mut depth = 0usize;
    let close = (i..ops.len()).find(|&j| {
        if ops[j].opens().is_some() {
            depth += 1;
        } else if ops[j].closes().is_some() {
            depth -= 1;
        }
        depth == 0
    });
    match close {
        Some(j) => {
            let mut keep_body = without(i..=i);
            keep_body.remove(j - 1);
            vec![without(i..=j), keep_body]
        }
        None => Vec::new(),
    }
}
