//! The model as a port: each operation of the trace language applied to a
//! [`Model`], answered as spec.md section 12 says.

use crate::answer::{
    Answer, ContextView, CsView, EsView, HandlerRun, Namer, ObjectView, SigintAnswer,
};
use crate::model::{Builder, CsId, CtxId, EsId, Failure, Model, OpaqueId, ThreadId};
use crate::names::{AnyName, CsName, CtxName, EsName, OpaqueName};
use crate::claim::Target;
use crate::trace::{Op, Step};
use crate::Profile;
use std::fmt;

/// Why an operation cannot be run at all ([TRACE-7]). Not an answer: the
/// trace is wrong, and runners reject it before any port sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    pub field: &'static str,
    pub name: AnyName,
    pub problem: TraceProblem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceProblem {
    /// No earlier answer of the trace gave this name.
    Unknown,
    /// [THR-4]: in the isolated profile, the object belongs to another thread.
    Foreign,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            TraceProblem::Unknown => write!(
                f,
                "field `{}`: no earlier answer named `{}` (names are given in the order answers first show objects, [OBS-4])",
                self.field, self.name
            ),
            TraceProblem::Foreign => write!(
                f,
                "field `{}`: `{}` belongs to another thread, which the isolated profile does not allow ([THR-4])",
                self.field, self.name
            ),
        }
    }
}

impl std::error::Error for TraceError {}

impl ObjectView for Model {
    type Ctx = CtxId;
    type Es = EsId;
    type Cs = CsId;
    type Opaque = OpaqueId;

    fn context(&self, c: CtxId) -> ContextView<EsId, CsId, OpaqueId> {
        let f = self.context(c).fields;
        ContextView {
            level: f.level,
            in_a_condition: f.in_a_condition,
            compilation_state: f.compilation_state,
            execution_state: f.execution_state,
            slots: f.slots,
        }
    }

    fn execution_state(&self, e: EsId) -> EsView<OpaqueId> {
        let s = self.execution_state(e);
        EsView {
            mode: s.mode,
            branch_eval_mode: s.branch_eval_mode,
            working_dir: s.working_dir.clone(),
            engine_dir: s.engine_dir.clone(),
            user_space_params: s.user_space_params,
        }
    }

    fn compilation_state(&self, s: CsId) -> CsView<OpaqueId> {
        let st = self.compilation_state(s);
        CsView {
            prefix: st.prefix.clone(),
            mode: st.mode,
            task_resolver: st.task_resolver,
            nodes: self.node_count(s),
        }
    }

    fn fixed_name(&self, o: OpaqueId) -> Option<OpaqueName> {
        match o {
            OpaqueId::DefaultFileAccess => Some(OpaqueName::DefaultFileAccess),
            OpaqueId::DefaultTaskResolver => Some(OpaqueName::DefaultTaskResolver),
            OpaqueId::Made(_) => None,
        }
    }
}

/// Names a trace may use at some point; see [`ModelPort::usable_names`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsableNames {
    pub contexts: Vec<CtxName>,
    pub exec_states: Vec<EsName>,
    pub comp_states: Vec<CsName>,
    pub opaques: Vec<OpaqueName>,
}

/// A [`Model`] with the names its answers have given.
pub struct ModelPort {
    model: Model,
    names: Namer<CtxId, EsId, CsId, OpaqueId>,
}

impl ModelPort {
    pub fn new(target: impl Into<Target>) -> ModelPort {
        ModelPort {
            model: Model::new(target),
            names: Namer::default(),
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn profile(&self) -> Profile {
        self.model.profile()
    }

    /// The profile and release this port's answers follow.
    pub fn target(&self) -> Target {
        Target {
            profile: self.model.profile(),
            release: self.model.release(),
        }
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
                name,
                problem: TraceProblem::Foreign,
            })
        } else {
            Ok(())
        }
    }

    fn unknown(field: &'static str, name: AnyName) -> TraceError {
        TraceError {
            field,
            name,
            problem: TraceProblem::Unknown,
        }
    }

    fn ctx(&self, field: &'static str, n: CtxName) -> Result<CtxId, TraceError> {
        let name = AnyName::Ctx(n);
        let c = self
            .names
            .contexts
            .get(n.0)
            .ok_or_else(|| Self::unknown(field, name))?;
        self.check_thread(field, name, Some(self.model.context(c).thread))?;
        Ok(c)
    }

    fn es(&self, field: &'static str, n: EsName) -> Result<EsId, TraceError> {
        let name = AnyName::Es(n);
        let e = self
            .names
            .exec_states
            .get(n.0)
            .ok_or_else(|| Self::unknown(field, name))?;
        self.check_thread(field, name, Some(self.model.execution_state(e).thread))?;
        Ok(e)
    }

    fn cs(&self, field: &'static str, n: CsName) -> Result<CsId, TraceError> {
        let name = AnyName::Cs(n);
        let s = self
            .names
            .comp_states
            .get(n.0)
            .ok_or_else(|| Self::unknown(field, name))?;
        self.check_thread(field, name, Some(self.model.compilation_state(s).thread))?;
        Ok(s)
    }

    fn opaque(&self, field: &'static str, n: OpaqueName) -> Result<OpaqueId, TraceError> {
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

    fn opt<N: Copy, T>(
        &self,
        field: &'static str,
        n: Option<N>,
        f: impl Fn(&Self, &'static str, N) -> Result<T, TraceError>,
    ) -> Result<Option<T>, TraceError> {
        n.map(|n| f(self, field, n)).transpose()
    }

    /// The builder a `build`/`with_enter` describes: resolve every name first,
    /// so a trace error changes nothing, then apply the steps in order ([TRACE-3]).
    fn builder(&mut self, from: CtxName, steps: &[Step]) -> Result<Builder, TraceError> {
        enum Resolved {
            Cond,
            NewCs,
            Es(Option<EsId>),
            Cs(Option<CsId>),
            Slot(crate::trace::Slot, Option<OpaqueId>),
        }
        let from = self.ctx("from", from)?;
        let mut resolved = Vec::with_capacity(steps.len());
        for step in steps {
            resolved.push(match step {
                Step::EnterConditionalSection => Resolved::Cond,
                Step::WithNewCompilationState => Resolved::NewCs,
                Step::WithExecutionState(e) => Resolved::Es(self.opt("steps", *e, Self::es)?),
                Step::WithCompilationState(s) => Resolved::Cs(self.opt("steps", *s, Self::cs)?),
                Step::WithSlot(slot, o) => {
                    Resolved::Slot(*slot, self.opt("steps", *o, Self::opaque)?)
                }
            });
        }
        let mut b = self.model.new_builder(from);
        for step in resolved {
            match step {
                Resolved::Cond => self.model.enter_conditional_section(&mut b),
                Resolved::NewCs => self.model.with_new_compilation_state(&mut b),
                Resolved::Es(e) => Model::with_execution_state(&mut b, e),
                Resolved::Cs(s) => Model::with_compilation_state(&mut b, s),
                Resolved::Slot(slot, o) => Model::with_slot(&mut b, slot, o),
            }
        }
        Ok(b)
    }

    fn ctx_answer(&mut self, c: CtxId) -> Answer {
        Answer::ok(self.names.context(&self.model, c))
    }
    fn es_answer(&mut self, e: EsId) -> Answer {
        Answer::ok(self.names.execution_state(&self.model, e))
    }
    fn cs_answer(&mut self, s: CsId) -> Answer {
        Answer::ok(self.names.compilation_state(&self.model, s))
    }

    fn failure(f: Failure) -> Answer {
        Answer::Err(f.kind().to_string())
    }

    /// Run one operation ([TRACE-2]) and answer it ([OBS-1]).
    pub fn apply(&mut self, op: &Op) -> Result<Answer, TraceError> {
        let null = Answer::Ok(serde_json::Value::Null);
        Ok(match op {
            Op::Reset => {
                *self = ModelPort::new(self.target());
                null
            }
            Op::Initialize => {
                self.model.initialize();
                null
            }
            Op::Current => {
                let c = self.model.current_context();
                self.ctx_answer(c)
            }
            Op::Size => Answer::ok(self.model.size()),
            Op::Push { ctx } => {
                let c = self.ctx("ctx", *ctx)?;
                let c = self.model.push_context(c, None);
                self.ctx_answer(c)
            }
            Op::Pop => match self.model.pop_context() {
                Ok(c) => self.ctx_answer(c),
                Err(f) => Self::failure(f),
            },
            Op::NewContext { file_access } => {
                let fa = self.opt("file_access", *file_access, Self::opaque)?;
                let c = self.model.new_context(fa);
                self.ctx_answer(c)
            }
            Op::Build { from, steps } => {
                let b = self.builder(*from, steps)?;
                let c = self.model.build(&b);
                self.ctx_answer(c)
            }
            Op::WithEnter { from, steps } => {
                let b = self.builder(*from, steps)?;
                let c = self.model.with_enter(&b);
                self.ctx_answer(c)
            }
            Op::WithExit { raise } => {
                // [RUN-2]: the raised label becomes the body's error.
                match self
                    .model
                    .with_exit(raise.as_deref().map(Failure::from_kind))
                {
                    Ok(()) => null,
                    Err(f) => Self::failure(f),
                }
            }
            Op::Observe { target } => match *target {
                AnyName::Ctx(n) => {
                    let c = self.ctx("ref", n)?;
                    self.ctx_answer(c)
                }
                AnyName::Es(n) => {
                    let e = self.es("ref", n)?;
                    self.es_answer(e)
                }
                AnyName::Cs(n) => {
                    let s = self.cs("ref", n)?;
                    self.cs_answer(s)
                }
                AnyName::Opaque(n) => {
                    let o = self.opaque("ref", n)?;
                    Answer::ok(self.names.opaque(&self.model, o))
                }
            },
            Op::UserSpaceParams { ctx } => {
                let c = self.ctx("ctx", *ctx)?;
                let usp = self.model.user_space_params(c);
                Answer::ok(usp.map(|o| self.names.opaque(&self.model, o)))
            }
            Op::NewOpaque => {
                let o = self.model.new_opaque();
                Answer::ok(self.names.opaque(&self.model, o))
            }
            Op::NewEs {
                working_dir,
                mode,
                engine_dir,
                branch_eval_mode,
                user_space_params,
            } => {
                let usp = self.opt("user_space_params", *user_space_params, Self::opaque)?;
                match self.model.new_execution_state(
                    working_dir.as_str(),
                    *mode,
                    engine_dir.as_ref().map(|d| d.as_str()),
                    *branch_eval_mode,
                    usp,
                ) {
                    Ok(e) => self.es_answer(e),
                    Err(f) => Self::failure(f),
                }
            }
            Op::EsWithParams {
                es,
                working_dir,
                mode,
                engine_dir,
                branch_eval_mode,
                user_space_params,
            } => {
                let e = self.es("es", *es)?;
                let usp = self.opt("user_space_params", *user_space_params, Self::opaque)?;
                let e = self.model.es_with_params(
                    e,
                    working_dir.as_ref().map(|d| d.as_str()),
                    *mode,
                    engine_dir.as_ref().map(|d| d.as_str()),
                    *branch_eval_mode,
                    usp,
                );
                self.es_answer(e)
            }
            Op::CtxNewEs { ctx, working_dir } => {
                let c = self.ctx("ctx", *ctx)?;
                match self
                    .model
                    .ctx_new_execution_state(c, working_dir.as_ref().map(|d| d.as_str()))
                {
                    Ok(e) => self.es_answer(e),
                    Err(f) => Self::failure(f),
                }
            }
            Op::TakeBranch { es } => {
                let e = self.es("es", *es)?;
                self.model.take_branch(e);
                self.es_answer(e)
            }
            Op::BranchComplete { es } => {
                let e = self.es("es", *es)?;
                self.model.branch_complete(e);
                self.es_answer(e)
            }
            Op::NewCs {
                prefix,
                mode,
                task_resolver,
            } => {
                let r = self.opt("task_resolver", *task_resolver, Self::opaque)?;
                let s = self.model.new_compilation_state(prefix, *mode, r);
                self.cs_answer(s)
            }
            Op::CsWithParams {
                cs,
                prefix,
                mode,
                task_resolver,
                nodes_of,
            } => {
                let s = self.cs("cs", *cs)?;
                let r = self.opt("task_resolver", *task_resolver, Self::opaque)?;
                let nodes_of = self.opt("nodes_of", *nodes_of, Self::cs)?;
                let s = self
                    .model
                    .cs_with_params(s, prefix.as_deref(), *mode, r, nodes_of);
                self.cs_answer(s)
            }
            Op::CtxNewCs { ctx, prefix } => {
                let c = self.ctx("ctx", *ctx)?;
                let s = self.model.ctx_new_compilation_state(c, prefix);
                self.cs_answer(s)
            }
            Op::AddNode { cs } => {
                let s = self.cs("cs", *cs)?;
                self.model.add_node(s);
                self.cs_answer(s)
            }
            Op::AddSignalHandler { tag } => {
                self.model.add_signal_handler(tag);
                null
            }
            Op::Sigint => {
                let out = self.model.sigint();
                Answer::ok(SigintAnswer {
                    ran: out
                        .ran
                        .into_iter()
                        .map(|(tag, signum)| HandlerRun { tag, signum })
                        .collect(),
                    exit: out.exit_status,
                })
            }
            Op::ThreadBegin => {
                self.model.thread_begin();
                null
            }
            Op::TaskBegin => {
                self.model.task_begin();
                null
            }
            Op::ThreadEnd | Op::TaskEnd => {
                self.model.unit_end();
                null
            }
        })
    }
}
