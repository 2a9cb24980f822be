//! Names in a trace, resolved to the model's objects ([TRACE-4], [TRACE-7]),
//! and the builders `build` and its kin describe ([TRACE-3]).

use super::ModelPort;
use crate::model::{Builder, CsId, CtxId, EsId, Failure, Model, OpaqueId, ThreadId};
use crate::names::{AnyName, CsName, CtxName, EsName, OpaqueName};
use crate::trace::{Slot, Step};
use crate::Profile;
use std::fmt;

/// Why an operation cannot be run at all ([TRACE-7]). Not an answer: the
/// trace is wrong, and runners reject it before any port sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// The field at fault (`op` when it is the operation itself).
    pub field: &'static str,
    /// What is wrong.
    pub problem: TraceProblem,
}

/// What is wrong with an operation of a trace ([TRACE-7]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceProblem {
    /// No earlier answer of the trace gave this name.
    Unknown(AnyName),
    /// [THR-4]: in the isolated profile, the object belongs to another thread.
    Foreign(AnyName),
    /// [TRACE-4]: an origin names an operation that is not before this one
    /// (`origin`) or this one itself (`at`).
    OriginAhead {
        /// The operation number the trace gave.
        origin: u32,
        /// The number of the operation that gave it.
        at: u32,
    },
    /// [TRACE-6]: an operation after a `sigint` that ended the process.
    AfterExit,
}

impl TraceError {
    /// The name at fault, if a name is.
    pub fn name(&self) -> Option<AnyName> {
        match self.problem {
            TraceProblem::Unknown(n) | TraceProblem::Foreign(n) => Some(n),
            TraceProblem::OriginAhead { .. } | TraceProblem::AfterExit => None,
        }
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field;
        match self.problem {
            TraceProblem::Unknown(name) => write!(
                f,
                "field `{field}`: no earlier answer named `{name}` (names are given in the order answers first show objects, [OBS-4])"
            ),
            TraceProblem::Foreign(name) => write!(
                f,
                "field `{field}`: `{name}` belongs to another thread, which the isolated profile does not allow ([THR-4])"
            ),
            TraceProblem::OriginAhead { origin, at } => write!(
                f,
                "field `{field}`: operation {origin} is not before this one, operation {at} ([TRACE-4], [OBS-7])"
            ),
            TraceProblem::AfterExit => f.write_str(
                "an operation after a `sigint` that ended the process; only `reset` may follow it ([TRACE-6])",
            ),
        }
    }
}

impl std::error::Error for TraceError {}

/// Names a trace may use at some point; see [`ModelPort::usable_names`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsableNames {
    /// Context names.
    pub contexts: Vec<CtxName>,
    /// Execution state names.
    pub exec_states: Vec<EsName>,
    /// Compilation state names.
    pub comp_states: Vec<CsName>,
    /// Opaque names, the named defaults first.
    pub opaques: Vec<OpaqueName>,
}

/// A builder step with its names resolved.
enum Resolved {
    Cond,
    NewCs,
    Es(Option<EsId>),
    Cs(Option<CsId>),
    Slot(Slot, Option<OpaqueId>),
}

impl ModelPort {
    /// What [`ModelPort::usable_names`] depends on: how many names answers
    /// have given, and the active unit's thread. Between two `reset`s, equal
    /// keys mean equal usable names, so a caller may keep the names it got.
    pub fn usable_names_key(&self) -> (usize, usize) {
        let given = self.names.contexts.len()
            + self.names.exec_states.len()
            + self.names.comp_states.len()
            + self.names.opaques.len();
        (given, self.model.current_thread().0)
    }

    /// The names a trace may use now, in the active unit ([TRACE-7]): every
    /// name given so far, less (isolated) those of other threads ([THR-4]).
    /// The named defaults of [OBS-5] come first among the opaque names.
    pub fn usable_names(&self) -> UsableNames {
        let here = |t: Option<ThreadId>| {
            self.model.profile() == Profile::Compat
                || t.is_none_or(|t| t == self.model.current_thread())
        };
        let count = |n: usize| 0..u32::try_from(n).expect("fewer than 2^32 names");
        UsableNames {
            contexts: count(self.names.contexts.len())
                .filter(|&i| {
                    here(
                        self.names
                            .contexts
                            .get(i)
                            .map(|c| self.model.context(c).thread),
                    )
                })
                .map(CtxName)
                .collect(),
            exec_states: count(self.names.exec_states.len())
                .filter(|&i| {
                    here(
                        self.names
                            .exec_states
                            .get(i)
                            .map(|e| self.model.execution_state(e).thread),
                    )
                })
                .map(EsName)
                .collect(),
            comp_states: count(self.names.comp_states.len())
                .filter(|&i| {
                    here(
                        self.names
                            .comp_states
                            .get(i)
                            .map(|s| self.model.compilation_state(s).thread),
                    )
                })
                .map(CsName)
                .collect(),
            opaques: [
                OpaqueName::DefaultFileAccess,
                OpaqueName::DefaultTaskResolver,
            ]
            .into_iter()
            .chain(
                count(self.names.opaques.len())
                    .filter(|&i| {
                        here(
                            self.names
                                .opaques
                                .get(i)
                                .and_then(|o| self.model.opaque_thread(o)),
                        )
                    })
                    .map(OpaqueName::Numbered),
            )
            .collect(),
        }
    }

    /// [THR-4]: in isolated, an object of another thread is refused.
    fn check_thread(
        &self,
        field: &'static str,
        name: AnyName,
        thread: Option<ThreadId>,
    ) -> Result<(), TraceError> {
        let foreign = self.model.profile() == Profile::Isolated
            && thread.is_some_and(|t| t != self.model.current_thread());
        if foreign {
            Err(TraceError {
                field,
                problem: TraceProblem::Foreign(name),
            })
        } else {
            Ok(())
        }
    }

    /// [TRACE-7]: a name no answer gave; runners never send it ([PORT-2]).
    fn unknown(field: &'static str, name: AnyName) -> TraceError {
        TraceError {
            field,
            problem: TraceProblem::Unknown(name),
        }
    }

    pub(super) fn ctx(&self, field: &'static str, n: CtxName) -> Result<CtxId, TraceError> {
        let name = AnyName::Ctx(n);
        let c = self
            .names
            .contexts
            .get(n.0)
            .ok_or_else(|| Self::unknown(field, name))?;
        self.check_thread(field, name, Some(self.model.context(c).thread))?;
        Ok(c)
    }

    pub(super) fn es(&self, field: &'static str, n: EsName) -> Result<EsId, TraceError> {
        let name = AnyName::Es(n);
        let e = self
            .names
            .exec_states
            .get(n.0)
            .ok_or_else(|| Self::unknown(field, name))?;
        self.check_thread(field, name, Some(self.model.execution_state(e).thread))?;
        Ok(e)
    }

    pub(super) fn cs(&self, field: &'static str, n: CsName) -> Result<CsId, TraceError> {
        let name = AnyName::Cs(n);
        let s = self
            .names
            .comp_states
            .get(n.0)
            .ok_or_else(|| Self::unknown(field, name))?;
        self.check_thread(field, name, Some(self.model.compilation_state(s).thread))?;
        Ok(s)
    }

    pub(super) fn opaque(
        &self,
        field: &'static str,
        n: OpaqueName,
    ) -> Result<OpaqueId, TraceError> {
        let name = AnyName::Opaque(n);
        let o = match n {
            OpaqueName::DefaultFileAccess => OpaqueId::DefaultFileAccess,
            OpaqueName::DefaultTaskResolver => OpaqueId::DefaultTaskResolver,
            OpaqueName::Numbered(i) => self
                .names
                .opaques
                .get(i)
                .ok_or_else(|| Self::unknown(field, name))?,
        };
        self.check_thread(field, name, self.model.opaque_thread(o))?;
        Ok(o)
    }

    pub(super) fn opt<N: Copy, T>(
        &self,
        field: &'static str,
        n: Option<N>,
        f: impl Fn(&Self, &'static str, N) -> Result<T, TraceError>,
    ) -> Result<Option<T>, TraceError> {
        n.map(|n| f(self, field, n)).transpose()
    }

    /// The builder that `from` and `steps` describe ([TRACE-3]): every name is
    /// resolved first, so a trace error changes nothing; then the steps are
    /// applied in order, and a step that fails ([COND-8]) is the answer.
    pub(super) fn builder(
        &mut self,
        from: CtxName,
        steps: &[Step],
    ) -> Result<Result<Builder, Failure>, TraceError> {
        let from = self.ctx("from", from)?;
        let mut resolved = Vec::with_capacity(steps.len());
        for step in steps {
            resolved.push(match step {
                // The decoder keeps it first ([TRACE-3]); it is where the
                // builder comes from, below.
                Step::ContextWithNewCompilationState => continue,
                Step::EnterConditionalSection => Resolved::Cond,
                Step::WithNewCompilationState => Resolved::NewCs,
                Step::WithExecutionState(e) => Resolved::Es(self.opt("steps", *e, Self::es)?),
                Step::WithCompilationState(s) => Resolved::Cs(self.opt("steps", *s, Self::cs)?),
                Step::WithSlot(slot, o) => {
                    Resolved::Slot(*slot, self.opt("steps", *o, Self::opaque)?)
                }
            });
        }
        let mut b = match steps.first() {
            // [BLD-5]: the context's own `with_new_compilation_state`.
            Some(Step::ContextWithNewCompilationState) => {
                self.model.ctx_with_new_compilation_state(from)
            }
            _ => self.model.new_builder(from),
        };
        for step in resolved {
            match step {
                Resolved::Cond => {
                    if let Err(f) = self.model.enter_conditional_section(&mut b) {
                        return Ok(Err(f));
                    }
                }
                Resolved::NewCs => self.model.with_new_compilation_state(&mut b),
                Resolved::Es(e) => Model::with_execution_state(&mut b, e),
                Resolved::Cs(s) => Model::with_compilation_state(&mut b, s),
                Resolved::Slot(slot, o) => Model::with_slot(&mut b, slot, o),
            }
        }
        Ok(Ok(b))
    }
}
