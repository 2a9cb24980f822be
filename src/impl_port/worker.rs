//! One thread of the implementation port: the objects it has named, and
//! how it answers an operation with the crate's API. The driver
//! (`impl_port.rs`) decides which thread runs which operation.

use super::registry::{branch_to_impl, mode_to_impl, Key, Registry, SharedNamer, View};
use flytectx::{
    CompilationState, Context, ContextGuard, ContextManager, ContextRef, ExecutionState, Opaque,
    PopError, ScopeError, ScopeToken,
};
use flytectx_model::answer::{Answer, Namer};
use flytectx_model::names::{AnyName, CsName, CtxName, EsName, OpaqueName};
use flytectx_model::trace::{Op, Slot, Step};
use serde_json::Value;
use std::rc::Rc;

/// A unit of a thread: the thread's own stack (the facade), or a task's fork.
enum Unit {
    Thread,
    Task(ContextManager),
}

impl Unit {
    fn size(&self) -> usize {
        match self {
            Unit::Thread => flytectx::size(),
            Unit::Task(m) => m.size(),
        }
    }
    fn current(&mut self) -> ContextRef {
        match self {
            Unit::Thread => flytectx::current_context(),
            Unit::Task(m) => m.current_context(),
        }
    }
    fn initialize(&mut self) {
        match self {
            Unit::Thread => flytectx::initialize(),
            Unit::Task(m) => m.initialize(),
        }
    }
    fn push(&mut self, c: &Context) -> Result<ContextRef, flytectx::Error> {
        match self {
            Unit::Thread => flytectx::push_context(c),
            Unit::Task(m) => m.push_context(c),
        }
    }
    fn pop(&mut self) -> Result<Context, PopError> {
        match self {
            Unit::Thread => flytectx::pop_context(),
            Unit::Task(m) => m.pop_context(),
        }
    }
    fn enter(&mut self, b: flytectx::Builder) -> Result<OpenScope, flytectx::Error> {
        Ok(match self {
            Unit::Thread => OpenScope::Guard(flytectx::enter_context(b)),
            Unit::Task(m) => OpenScope::Token(m.enter_scope(b)?),
        })
    }
    fn exit(&mut self, s: OpenScope, body: Result<(), String>) -> Result<(), ScopeError<String>> {
        match (self, s) {
            (_, OpenScope::Guard(g)) => g.exit_with(body),
            (Unit::Task(m), OpenScope::Token(t)) => m.exit_scope_with(t, body),
            (Unit::Thread, OpenScope::Token(t)) => flytectx::exit_scope_with(t, body),
        }
    }
    /// [WITH-8]: a scope dropped without being left: the thread's guard
    /// cleans up when dropped; a task's token is left as the manager's own
    /// guard does when dropped, its error going nowhere.
    fn drop_scope(&mut self, s: OpenScope) {
        match (self, s) {
            (_, OpenScope::Guard(g)) => drop(g),
            (Unit::Task(m), OpenScope::Token(t)) => drop(m.exit_scope(t)),
            (Unit::Thread, OpenScope::Token(t)) => drop(flytectx::exit_scope(t)),
        }
    }
    fn fork(&self) -> Result<ContextManager, flytectx::Error> {
        match self {
            Unit::Thread => flytectx::fork(),
            Unit::Task(m) => m.fork(),
        }
    }
}

/// An open `with` scope of a unit: a guard on the thread's own stack, a
/// token on a task's (a guard there would borrow the task's manager).
enum OpenScope {
    Guard(ContextGuard),
    Token(ScopeToken),
}

impl OpenScope {
    fn context(&self) -> ContextRef {
        match self {
            OpenScope::Guard(g) => g.context(),
            OpenScope::Token(t) => t.context(),
        }
    }
}

/// A value made by `new_opaque` or `add_node`.
struct TraceValue;

/// What went wrong running one operation.
pub(super) enum Fail {
    /// An error the spec defines: the answer's kind.
    Kind(String),
    /// A request this port cannot make sense of (an invalid trace got through).
    BadRequest(String),
}

impl From<flytectx::Error> for Fail {
    fn from(e: flytectx::Error) -> Fail {
        Fail::Kind(
            match e {
                flytectx::Error::InvalidWorkingDir => "invalid_working_dir",
                flytectx::Error::NoSandboxDir => "no_sandbox_dir",
                flytectx::Error::Stale => "stale_handle",
                flytectx::Error::ThreadExiting => "thread_exiting",
            }
            .to_string(),
        )
    }
}

fn pop_kind(e: PopError) -> Fail {
    Fail::Kind(
        match e {
            PopError::PoppedRoot(_) => "popped_root",
            PopError::Empty => "empty_stack",
            PopError::ThreadExiting => "thread_exiting",
            // Each unit keeps the tokens of its own scopes: a bug here.
            PopError::ForeignScope(_) => {
                return Fail::BadRequest("a scope token of another stack".into())
            }
        }
        .to_string(),
    )
}

/// Everything one thread of the port keeps.
pub(super) struct Worker {
    thread: u32,
    units: Vec<Unit>,
    scopes: Vec<Vec<OpenScope>>,
    registry: Registry,
    namer: SharedNamer,
}

impl Worker {
    /// The state of thread number `thread` of a trace, with its own stack as
    /// its one unit.
    pub(super) fn new(thread: u32, namer: SharedNamer) -> Worker {
        Worker {
            thread,
            units: vec![Unit::Thread],
            scopes: vec![Vec::new()],
            registry: Registry::default(),
            namer,
        }
    }

    fn unit(&mut self) -> &mut Unit {
        self.units
            .last_mut()
            .expect("a thread always has its own unit")
    }

    fn names(&self) -> std::sync::MutexGuard<'_, Namer<Key, Key, Key, Key>> {
        self.namer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn view(&self) -> View<'_> {
        View {
            thread: self.thread,
            registry: &self.registry,
        }
    }

    // Summaries stay typed: compared with the model's, they need no JSON.
    fn ctx_answer(&self, c: &Context) -> Answer {
        let id = self.registry.context(c);
        Answer::from(self.names().context(&self.view(), (self.thread, id)))
    }
    fn es_answer(&self, e: &ExecutionState) -> Answer {
        let id = self.registry.exec_state(e);
        Answer::from(
            self.names()
                .execution_state(&self.view(), (self.thread, id)),
        )
    }
    fn cs_answer(&self, s: &CompilationState) -> Answer {
        let id = self.registry.comp_state(s);
        Answer::from(
            self.names()
                .compilation_state(&self.view(), (self.thread, id)),
        )
    }
    fn opaque_answer(&self, o: Option<&Opaque>) -> Answer {
        match o {
            None => Answer::Ok(Value::Null),
            Some(o) => {
                let id = self.registry.opaque(o);
                Answer::ok(self.names().opaque(&self.view(), (self.thread, id)))
            }
        }
    }

    fn key(&self, found: Option<Key>, name: AnyName) -> Result<u64, Fail> {
        match found {
            Some((t, id)) if t == self.thread => Ok(id),
            Some(_) => Err(Fail::BadRequest(format!(
                "{name} belongs to another thread"
            ))),
            None => Err(Fail::BadRequest(format!("no answer named {name}"))),
        }
    }
    fn ctx(&self, n: CtxName) -> Result<Context, Fail> {
        let id = self.key(self.names().contexts.get(n.0), AnyName::Ctx(n))?;
        self.registry
            .contexts
            .get(id)
            .ok_or_else(|| Fail::BadRequest(format!("{n} is not kept")))
    }
    fn es(&self, n: EsName) -> Result<ExecutionState, Fail> {
        let id = self.key(self.names().exec_states.get(n.0), AnyName::Es(n))?;
        self.registry
            .exec_states
            .get(id)
            .ok_or_else(|| Fail::BadRequest(format!("{n} is not kept")))
    }
    fn cs(&self, n: CsName) -> Result<CompilationState, Fail> {
        let id = self.key(self.names().comp_states.get(n.0), AnyName::Cs(n))?;
        self.registry
            .comp_states
            .get(id)
            .ok_or_else(|| Fail::BadRequest(format!("{n} is not kept")))
    }
    fn opaque(&self, n: Option<OpaqueName>) -> Result<Option<Opaque>, Fail> {
        Ok(match n {
            None => None,
            Some(OpaqueName::DefaultFileAccess) => flytectx::default_file_access(),
            Some(OpaqueName::DefaultTaskResolver) => flytectx::default_task_resolver(),
            Some(OpaqueName::Numbered(i)) => {
                let id = self.key(
                    self.names().opaques.get(i),
                    AnyName::Opaque(OpaqueName::Numbered(i)),
                )?;
                Some(
                    self.registry
                        .opaques
                        .get(id)
                        .ok_or_else(|| Fail::BadRequest(format!("o{i} is not kept")))?,
                )
            }
        })
    }

    fn builder(&self, from: CtxName, steps: &[Step]) -> Result<flytectx::Builder, Fail> {
        let mut b = self.ctx(from)?.new_builder()?;
        for step in steps {
            b = match step {
                // [BLD-5]: the decoder keeps it first.
                Step::ContextWithNewCompilationState => {
                    self.ctx(from)?.with_new_compilation_state()?
                }
                Step::EnterConditionalSection => b.enter_conditional_section(),
                Step::WithNewCompilationState => b.with_new_compilation_state(),
                Step::WithExecutionState(e) => {
                    b.with_execution_state(e.map(|e| self.es(e)).transpose()?.as_ref())
                }
                Step::WithCompilationState(s) => {
                    b.with_compilation_state(s.map(|s| self.cs(s)).transpose()?.as_ref())
                }
                Step::WithSlot(slot, o) => {
                    let v = self.opaque(*o)?;
                    match slot {
                        Slot::FileAccess => b.with_file_access(v),
                        Slot::FlyteClient => b.with_client(v),
                        Slot::SerializationSettings => b.with_serialization_settings(v),
                        Slot::OutputMetadataTracker => b.with_output_metadata_tracker(v),
                        Slot::WorkerQueue => b.with_worker_queue(v),
                    }
                }
            };
        }
        Ok(b)
    }

    /// Answer `op` on this thread.
    pub(super) fn apply(&mut self, op: &Op) -> Result<Answer, Fail> {
        Ok(match op {
            Op::Initialize => {
                self.unit().initialize();
                Answer::Ok(Value::Null)
            }
            Op::Current => {
                let c = self.unit().current().upgrade()?;
                self.ctx_answer(&c)
            }
            Op::Size => Answer::Ok(Value::from(self.unit().size())),
            Op::Push { ctx } => {
                let c = self.ctx(*ctx)?;
                self.unit().push(&c)?;
                self.ctx_answer(&c)
            }
            Op::Pop => {
                let c = self.unit().pop().map_err(pop_kind)?;
                self.ctx_answer(&c)
            }
            Op::NewContext { file_access } => {
                let c = Context::new(self.opaque(*file_access)?)?;
                self.ctx_answer(&c)
            }
            Op::Build { from, steps } => {
                let c = self.builder(*from, steps)?.build()?;
                self.ctx_answer(&c)
            }
            Op::WithEnter { from, steps } => {
                let b = self.builder(*from, steps)?;
                let scope = self.unit().enter(b)?;
                let c = scope.context().upgrade()?;
                let scopes = self.scopes.last_mut().expect("a unit has a scope list");
                scopes.push(scope);
                self.ctx_answer(&c)
            }
            Op::WithDrop => {
                // [WITH-8]: the scope is dropped, and its cleanup's error
                // reaches no one.
                let scope = self
                    .scopes
                    .last_mut()
                    .and_then(Vec::pop)
                    .ok_or_else(|| Fail::BadRequest("no open scope".into()))?;
                self.unit().drop_scope(scope);
                Answer::Ok(Value::Null)
            }
            Op::WithExit { raise } => {
                let token = self
                    .scopes
                    .last_mut()
                    .and_then(Vec::pop)
                    .ok_or_else(|| Fail::BadRequest("no open scope".into()))?;
                let body = match raise {
                    Some(label) => Err(label.clone()),
                    None => Ok(()),
                };
                match self.unit().exit(token, body) {
                    Ok(()) => Answer::Ok(Value::Null),
                    Err(ScopeError::Body(label)) => return Err(Fail::Kind(label)),
                    Err(ScopeError::Cleanup(e)) => return Err(pop_kind(e)),
                }
            }
            Op::Observe { target } => match *target {
                AnyName::Ctx(n) => self.ctx_answer(&self.ctx(n)?),
                AnyName::Es(n) => self.es_answer(&self.es(n)?),
                AnyName::Cs(n) => self.cs_answer(&self.cs(n)?),
                AnyName::Opaque(n) => self.opaque_answer(self.opaque(Some(n))?.as_ref()),
            },
            Op::UserSpaceParams { ctx } => {
                self.opaque_answer(self.ctx(*ctx)?.user_space_params()?.as_ref())
            }
            Op::NewOpaque => {
                let o: Opaque = Rc::new(TraceValue);
                self.opaque_answer(Some(&o))
            }
            Op::NewEs {
                working_dir,
                mode,
                engine_dir,
                branch_eval_mode,
                user_space_params,
            } => {
                let es = ExecutionState::new(
                    working_dir.as_str(),
                    mode.map(mode_to_impl),
                    engine_dir.as_ref().map(|d| d.as_str()),
                    branch_eval_mode.map(branch_to_impl),
                    self.opaque(*user_space_params)?,
                )?;
                self.es_answer(&es)
            }
            Op::EsWithParams {
                es,
                working_dir,
                mode,
                engine_dir,
                branch_eval_mode,
                user_space_params,
            } => {
                let es = self.es(*es)?.with_params(
                    working_dir.as_ref().map(|d| d.as_str()),
                    mode.map(mode_to_impl),
                    engine_dir.as_ref().map(|d| d.as_str()),
                    branch_eval_mode.map(branch_to_impl),
                    self.opaque(*user_space_params)?,
                );
                self.es_answer(&es)
            }
            Op::CtxNewEs { ctx, working_dir } => {
                let es = self
                    .ctx(*ctx)?
                    .new_execution_state(working_dir.as_ref().map(|d| d.as_str()))?;
                self.es_answer(&es)
            }
            Op::TakeBranch { es } => {
                let es = self.es(*es)?;
                es.take_branch();
                self.es_answer(&es)
            }
            Op::BranchComplete { es } => {
                let es = self.es(*es)?;
                es.branch_complete();
                self.es_answer(&es)
            }
            Op::NewCs {
                prefix,
                mode,
                task_resolver,
                nodes_of,
            } => {
                let resolver = self.opaque(*task_resolver)?;
                let cs = match nodes_of {
                    None => CompilationState::new(prefix, *mode, resolver),
                    // [CS-1]: that very list, even an empty one.
                    Some(s) => {
                        CompilationState::with_nodes(prefix, *mode, resolver, self.cs(*s)?.nodes())
                    }
                };
                self.cs_answer(&cs)
            }
            Op::CsWithParams {
                cs,
                prefix,
                mode,
                task_resolver,
                nodes_of,
            } => {
                let nodes = nodes_of.map(|s| self.cs(s)).transpose()?.map(|s| s.nodes());
                let cs = self.cs(*cs)?.with_params(
                    prefix.as_deref(),
                    *mode,
                    self.opaque(*task_resolver)?,
                    nodes,
                );
                self.cs_answer(&cs)
            }
            Op::CtxNewCs { ctx, prefix } => {
                let cs = self.ctx(*ctx)?.new_compilation_state(prefix);
                self.cs_answer(&cs)
            }
            Op::AddNode { cs } => {
                let cs = self.cs(*cs)?;
                cs.add_node(Rc::new(TraceValue));
                self.cs_answer(&cs)
            }
            // [ES-2] (isolated): an execution state touches no file system,
            // so a file in the scratch directory changes nothing.
            Op::MakeFile { .. } => Answer::Ok(Value::Null),
            Op::IsLocalExecution { es } => {
                Answer::Ok(Value::from(self.es(*es)?.is_local_execution()))
            }
            Op::BuilderNewEs {
                from,
                steps,
                working_dir,
            } => {
                let es = self
                    .builder(*from, steps)?
                    .new_execution_state(working_dir.as_ref().map(|d| d.as_str()))?;
                self.es_answer(&es)
            }
            Op::BuilderNewCs {
                from,
                steps,
                prefix,
            } => {
                let cs = self.builder(*from, steps)?.new_compilation_state(prefix);
                self.cs_answer(&cs)
            }
            Op::TaskBegin => {
                let fork = self.unit().fork()?;
                self.units.push(Unit::Task(fork));
                self.scopes.push(Vec::new());
                Answer::Ok(Value::Null)
            }
            Op::TaskEnd => {
                if self.units.len() == 1 {
                    return Err(Fail::BadRequest("task_end with no task".into()));
                }
                self.units.pop();
                self.scopes.pop();
                Answer::Ok(Value::Null)
            }
            driver_ops!() => {
                return Err(Fail::BadRequest(format!(
                    "`{}` is handled by the driver",
                    op.name()
                )))
            }
            // Not declared ([`super::ImplPort`]'s declaration), so never sent.
            Op::OriginOf { .. } | Op::OriginFrame { .. } | Op::PushWithOrigin { .. } => {
                return Err(Fail::BadRequest(format!(
                    "`{}` is not declared by this port",
                    op.name()
                )))
            }
        })
    }
}
