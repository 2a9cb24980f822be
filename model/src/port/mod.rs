//! The model as a port: each operation of the trace language applied to a
//! [`Model`], answered as spec.md section 12 says. Names in operations are
//! resolved in `resolve`; answers are given by feature ([FEAT-1]).

mod resolve;

pub use resolve::{TraceError, TraceProblem, UsableNames};

use crate::answer::{Answer, ContextView, CsView, EsView, Namer, ObjectView, SigintAnswer};
use crate::claim::Target;
use crate::feature::Feature;
use crate::model::{CsId, CtxId, EsId, Failure, Installed, Model, OpaqueId, Origin, SigintEnd};
use crate::names::{AnyName, OpaqueName};
use crate::trace::Op;
use crate::Profile;
use serde_json::{json, Value};

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

/// A [`Model`] with the names its answers have given.
#[derive(Debug)]
pub struct ModelPort {
    model: Model,
    names: Namer<CtxId, EsId, CsId, OpaqueId>,
    /// [OBS-7]: how many operations were sent since `reset`, the one being
    /// answered included.
    sent: u32,
    /// [TRACE-6]: a `sigint` ended the process; only `reset` may follow.
    exited: bool,
}

impl ModelPort {
    /// A new process of `target`'s behaviour.
    pub fn new(target: impl Into<Target>) -> ModelPort {
        ModelPort {
            model: Model::new(target),
            names: Namer::default(),
            sent: 0,
            exited: false,
        }
    }

    /// The model behind the port.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The profile it follows.
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

    /// [OBS-7]: how many operations were sent since `reset`.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// [TRACE-6]: whether a `sigint` ended the process.
    pub fn exited(&self) -> bool {
        self.exited
    }

    fn ctx_answer(&mut self, c: CtxId) -> Answer {
        Answer::from(self.names.context(&self.model, c))
    }
    fn es_answer(&mut self, e: EsId) -> Answer {
        Answer::from(self.names.execution_state(&self.model, e))
    }
    fn cs_answer(&mut self, s: CsId) -> Answer {
        Answer::from(self.names.compilation_state(&self.model, s))
    }

    fn failure(f: Failure) -> Answer {
        Answer::Err(f.kind().to_string())
    }

    fn answer<T>(result: Result<T, Failure>, ok: impl FnOnce(T) -> Answer) -> Answer {
        result.map_or_else(Self::failure, ok)
    }

    /// [OBS-7]: an origin as answers report it.
    fn origin_value(origin: Option<Origin>) -> Value {
        match origin {
            None => Value::Null,
            Some(Origin::Op(n)) => json!({ "op": n }),
            Some(Origin::Library) => json!("library"),
            // A Rust location is the code of whoever drives the model: to a
            // trace, that is neither an operation nor the library.
            Some(Origin::Outside | Origin::At(_)) => json!("outside"),
        }
    }

    /// Run one operation ([TRACE-2]) and answer it ([OBS-1]).
    pub fn apply(&mut self, op: &Op) -> Result<Answer, TraceError> {
        if let Op::Reset = op {
            *self = ModelPort::new(self.target());
            return Ok(Answer::Ok(Value::Null));
        }
        if self.exited {
            return Err(TraceError {
                field: "op",
                problem: TraceProblem::AfterExit,
            });
        }
        self.sent += 1;
        match op.feature() {
            Feature::Stack => self.stack_op(op),
            Feature::With => self.with_op(op),
            Feature::Builders => self.builders_op(op),
            Feature::ExecutionStates => self.execution_state_op(op),
            Feature::CompilationStates => self.compilation_state_op(op),
            Feature::Signals => Ok(self.signal_op(op)),
            Feature::Origins => self.origin_op(op),
            Feature::Threads | Feature::Tasks => Ok(self.unit_op(op)),
            Feature::Conditionals => unreachable!("no operation is a step"),
        }
    }

    /// The operation being answered, as an origin ([OBS-7]).
    fn here(&self) -> Origin {
        Origin::Op(self.sent)
    }

    fn stack_op(&mut self, op: &Op) -> Result<Answer, TraceError> {
        Ok(match op {
            // [ORIG-3]: an explicit call records its caller, the operation.
            Op::Initialize => {
                self.model.initialize_from(self.here());
                Answer::Ok(Value::Null)
            }
            Op::Current => match self.model.current_context_of_release() {
                Some(c) => self.ctx_answer(c),
                // [CUR-2] before 1.1 ([REL-3]): none.
                None => Answer::Ok(Value::Null),
            },
            Op::Size => Answer::ok(self.model.size()),
            Op::Push { ctx } => {
                let c = self.ctx("ctx", *ctx)?;
                let c = self.model.push_context(c, Some(self.here()));
                self.ctx_answer(c)
            }
            Op::Pop => match self.model.pop_context() {
                Ok(c) => self.ctx_answer(c),
                Err(f) => Self::failure(f),
            },
            Op::Build { from, steps } => match self.builder(*from, steps)? {
                Ok(b) => {
                    let c = self.model.build(&b);
                    self.ctx_answer(c)
                }
                Err(f) => Self::failure(f),
            },
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
            _ => unreachable!("{} is not a stack operation", op.name()),
        })
    }

    fn with_op(&mut self, op: &Op) -> Result<Answer, TraceError> {
        Ok(match op {
            Op::WithEnter { from, steps } => match self.builder(*from, steps)? {
                Ok(b) => {
                    // [WITH-6], [ORIG-2]: the code that entered the scope.
                    let c = self.model.with_enter_from(&b, self.here());
                    self.ctx_answer(c)
                }
                Err(f) => Self::failure(f),
            },
            // [RUN-2]: the raised label becomes the body's error.
            Op::WithExit { raise } => Self::answer(
                self.model
                    .with_exit(raise.as_deref().map(Failure::from_kind)),
                |()| Answer::Ok(Value::Null),
            ),
            Op::WithDrop => {
                self.model.with_drop();
                Answer::Ok(Value::Null)
            }
            _ => unreachable!("{} is not a with operation", op.name()),
        })
    }

    fn builders_op(&mut self, op: &Op) -> Result<Answer, TraceError> {
        Ok(match op {
            Op::NewContext { file_access } => {
                let fa = self.opt("file_access", *file_access, Self::opaque)?;
                let c = self.model.new_context(fa);
                self.ctx_answer(c)
            }
            Op::NewOpaque => {
                let o = self.model.new_opaque();
                Answer::ok(self.names.opaque(&self.model, o))
            }
            _ => unreachable!("{} is not a builders operation", op.name()),
        })
    }

    fn execution_state_op(&mut self, op: &Op) -> Result<Answer, TraceError> {
        Ok(match op {
            Op::UserSpaceParams { ctx } => {
                let c = self.ctx("ctx", *ctx)?;
                let usp = self.model.user_space_params(c);
                Answer::ok(usp.map(|o| self.names.opaque(&self.model, o)))
            }
            Op::NewEs {
                working_dir,
                mode,
                engine_dir,
                branch_eval_mode,
                user_space_params,
            } => {
                let usp = self.opt("user_space_params", *user_space_params, Self::opaque)?;
                let made = self.model.new_execution_state(
                    working_dir.as_str(),
                    *mode,
                    engine_dir.as_ref().map(|d| d.as_str()),
                    *branch_eval_mode,
                    usp,
                );
                Self::answer(made, |e| self.es_answer(e))
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
                let made = self.model.es_with_params(
                    e,
                    working_dir.as_ref().map(|d| d.as_str()),
                    *mode,
                    engine_dir.as_ref().map(|d| d.as_str()),
                    *branch_eval_mode,
                    usp,
                );
                Self::answer(made, |e| self.es_answer(e))
            }
            Op::CtxNewEs { ctx, working_dir } => {
                let c = self.ctx("ctx", *ctx)?;
                let made = self
                    .model
                    .ctx_new_execution_state(c, working_dir.as_ref().map(|d| d.as_str()));
                Self::answer(made, |e| self.es_answer(e))
            }
            Op::BuilderNewEs {
                from,
                steps,
                working_dir,
            } => {
                let made = self.builder(*from, steps)?.and_then(|b| {
                    self.model
                        .builder_new_execution_state(&b, working_dir.as_ref().map(|d| d.as_str()))
                });
                Self::answer(made, |e| self.es_answer(e))
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
            Op::IsLocalExecution { es } => {
                let e = self.es("es", *es)?;
                Answer::ok(self.model.is_local_execution(e))
            }
            Op::MakeFile { path } => {
                self.model.make_file(path.as_str());
                Answer::Ok(Value::Null)
            }
            _ => unreachable!("{} is not an execution-state operation", op.name()),
        })
    }

    fn compilation_state_op(&mut self, op: &Op) -> Result<Answer, TraceError> {
        Ok(match op {
            Op::NewCs {
                prefix,
                mode,
                task_resolver,
                nodes_of,
            } => {
                let r = self.opt("task_resolver", *task_resolver, Self::opaque)?;
                let nodes_of = self.opt("nodes_of", *nodes_of, Self::cs)?;
                let s = self
                    .model
                    .new_compilation_state_sharing(prefix, *mode, r, nodes_of);
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
            Op::BuilderNewCs {
                from,
                steps,
                prefix,
            } => match self.builder(*from, steps)? {
                Ok(_) => {
                    let s = self.model.builder_new_compilation_state(prefix);
                    self.cs_answer(s)
                }
                Err(f) => Self::failure(f),
            },
            Op::AddNode { cs } => {
                let s = self.cs("cs", *cs)?;
                self.model.add_node(s);
                self.cs_answer(s)
            }
            _ => unreachable!("{} is not a compilation-state operation", op.name()),
        })
    }

    fn signal_op(&mut self, op: &Op) -> Answer {
        match op {
            Op::AddSignalHandler { tag, then } => {
                self.model.add_signal_handler(tag, then.clone());
                Answer::Ok(Value::Null)
            }
            Op::SetProgramHandler { tag } => {
                self.model.set_program_handler(tag);
                Answer::Ok(Value::Null)
            }
            Op::SigintHandler => Answer::Ok(match self.model.sigint_handler() {
                Installed::Hook => json!("library"),
                Installed::Program(tag) => json!({ "program": tag }),
            }),
            Op::Sigint => {
                let out = self.model.sigint();
                let (exit, raised) = match out.end {
                    SigintEnd::Exit(status) => {
                        // [TRACE-6]: the process ends here; the port goes
                        // on to the next request, a `reset` ([PORT-1]).
                        self.exited = true;
                        (Some(status), None)
                    }
                    SigintEnd::Raised(kind) => (None, Some(kind)),
                    SigintEnd::Returned => (None, None),
                };
                Answer::ok(SigintAnswer {
                    ran: out.ran,
                    exit,
                    raised,
                })
            }
            _ => unreachable!("{} is not a signal operation", op.name()),
        }
    }

    fn origin_op(&mut self, op: &Op) -> Result<Answer, TraceError> {
        Ok(match op {
            Op::OriginOf { ctx } => {
                let c = self.ctx("ctx", *ctx)?;
                Answer::Ok(Self::origin_value(self.model.context(c).origin))
            }
            Op::OriginFrame { limit } => {
                let frame = self.model.origin_frame(u32::from(*limit), self.here());
                Answer::Ok(Self::origin_value(Some(frame)))
            }
            Op::PushWithOrigin { ctx, origin } => {
                if *origin > self.sent {
                    return Err(TraceError {
                        field: "origin",
                        problem: TraceProblem::OriginAhead {
                            origin: *origin,
                            at: self.sent,
                        },
                    });
                }
                let c = self.ctx("ctx", *ctx)?;
                let c = self.model.push_context(c, Some(Origin::Op(*origin)));
                self.ctx_answer(c)
            }
            _ => unreachable!("{} is not an origin operation", op.name()),
        })
    }

    fn unit_op(&mut self, op: &Op) -> Answer {
        match op {
            Op::ThreadBegin => self.model.thread_begin(),
            Op::TaskBegin => self.model.task_begin(),
            Op::ThreadEnd | Op::TaskEnd => self.model.unit_end(),
            _ => unreachable!("{} is not a thread or task operation", op.name()),
        }
        Answer::Ok(Value::Null)
    }
}
