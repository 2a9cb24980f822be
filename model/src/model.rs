//! The semantics of spec.md, sections 1 to 11, as plainly as they can be
//! written: every object lives in a vector of the [`Model`] and is addressed
//! by its index; nothing is ever freed; every rule cites its clause.

use crate::claim::Target;
use crate::release::Release;
use crate::trace::{Branch, Mode, Slot};
use crate::Profile;
use std::panic::Location;

/// A context, by its index in the model's heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CtxId(pub usize);
/// An execution state, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EsId(pub usize);
/// A compilation state, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CsId(pub usize);
/// A stack object, by index ([THR-1]: stacks are objects units may share).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackId(pub usize);
/// A node list, by index ([CS-4]: lists are objects states may share).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeListId(pub usize);
/// A thread; the main thread is 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(pub usize);

/// An opaque value: one flytekit only carries along ([CTX-1]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpaqueId {
    /// flytekit's default local file-access provider ([OBS-5]).
    DefaultFileAccess,
    /// flytekit's default task resolver ([OBS-5], [CS-6]).
    DefaultTaskResolver,
    /// The n-th value made by the program (`new_opaque`, user-space parameters
    /// made by `initialize`, nodes).
    Made(usize),
}

/// Where in the program something happened ([ORIG-1]..[ORIG-4]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin(pub &'static Location<'static>);

impl Origin {
    /// The location of the caller of the `#[track_caller]` function calling this.
    #[track_caller]
    pub fn caller() -> Origin {
        Origin(Location::caller())
    }
}

/// The fields of a context a builder can set ([CTX-1], [BLD-1]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextFields {
    pub level: i64,
    pub in_a_condition: bool,
    pub compilation_state: Option<CsId>,
    pub execution_state: Option<EsId>,
    /// The five opaque fields, in [`Slot::ALL`] order.
    pub slots: [Option<OpaqueId>; 5],
}

impl ContextFields {
    pub fn slot(&self, slot: Slot) -> Option<OpaqueId> {
        self.slots[slot as usize]
    }
}

/// A `FlyteContext.Builder`: plain fields, changed in place by its methods.
pub type Builder = ContextFields;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub fields: ContextFields,
    /// [ORIG-1]: the only part of a context that changes after it is built.
    pub origin: Option<Origin>,
    /// [THR-4]: the thread that built it.
    pub thread: ThreadId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionState {
    pub mode: Option<Mode>,
    pub working_dir: String,
    pub engine_dir: String,
    pub branch_eval_mode: Option<Branch>,
    pub user_space_params: Option<OpaqueId>,
    pub thread: ThreadId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompilationState {
    pub prefix: String,
    pub mode: i64,
    pub task_resolver: Option<OpaqueId>,
    pub nodes: NodeListId,
    pub thread: ThreadId,
}

/// Why an operation failed ([OBS-1]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// [POP-2]
    PoppedRoot,
    /// [POP-3]
    EmptyStack,
    /// [ES-1]
    InvalidWorkingDir,
    /// [ES-8]
    NoSandboxDir,
    /// An error the program raised itself, by label ([RUN-2]).
    Raised(String),
}

impl Failure {
    /// The error kind as answers write it ([OBS-1]).
    pub fn kind(&self) -> &str {
        match self {
            Failure::PoppedRoot => "popped_root",
            Failure::EmptyStack => "empty_stack",
            Failure::InvalidWorkingDir => "invalid_working_dir",
            Failure::NoSandboxDir => "no_sandbox_dir",
            Failure::Raised(label) => label,
        }
    }

    /// The failure an answer's error kind stands for.
    pub fn from_kind(kind: &str) -> Failure {
        match kind {
            "popped_root" => Failure::PoppedRoot,
            "empty_stack" => Failure::EmptyStack,
            "invalid_working_dir" => Failure::InvalidWorkingDir,
            "no_sandbox_dir" => Failure::NoSandboxDir,
            other => Failure::Raised(other.to_string()),
        }
    }
}

/// The local sandbox directory of the default file-access provider, as
/// answers write it ([OBS-6]).
pub const SANDBOX_DIR: &str = "<sandbox>";

/// A thread or a task ([THR-1]).
#[derive(Clone, Debug)]
struct Unit {
    thread: ThreadId,
    /// None: unset, the unit uses the process default stack ([THR-1]).
    binding: Option<StackId>,
    /// The marks of the `with` scopes this unit has open, innermost last ([WITH-1]).
    marks: Vec<usize>,
}

/// What a SIGINT did ([SIG-2]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigintOutcome {
    /// Handler tags in the order they ran, each with the signal number it got.
    pub ran: Vec<(String, i32)>,
    pub exit_status: i32,
}

pub const SIGINT: i32 = 2;

/// The whole observable state of a process using flytekit's context stack.
#[derive(Clone, Debug)]
pub struct Model {
    profile: Profile,
    /// [REL-1]: the flytekit release whose behaviour the rules follow.
    release: Release,
    contexts: Vec<Context>,
    exec_states: Vec<ExecutionState>,
    comp_states: Vec<CompilationState>,
    node_lists: Vec<Vec<OpaqueId>>,
    stacks: Vec<Vec<CtxId>>,
    /// The thread of each made opaque value, by `OpaqueId::Made` index.
    opaques: Vec<ThreadId>,
    /// [THR-1]: the stack unset units use. It exists in both profiles, but in
    /// isolated no unit is ever unset ([THR-3]), so nothing reaches it.
    default_stack: StackId,
    /// The active units, outermost (the main thread) first. A unit is active
    /// from its `*_begin` to its `*_end`; operations run in the innermost one.
    active: Vec<Unit>,
    threads: usize,
    /// [SIG-1]: one process-wide list.
    handlers: Vec<String>,
}

impl Model {
    /// A new process: the main thread initialized ([INIT-1]).
    #[track_caller]
    pub fn new(target: impl Into<Target>) -> Model {
        let Target { profile, release } = target.into();
        let mut m = Model {
            profile,
            release,
            contexts: Vec::new(),
            exec_states: Vec::new(),
            comp_states: Vec::new(),
            node_lists: Vec::new(),
            stacks: vec![Vec::new()],
            opaques: Vec::new(),
            default_stack: StackId(0),
            active: vec![Unit {
                thread: ThreadId(0),
                binding: None,
                marks: Vec::new(),
            }],
            threads: 1,
            handlers: Vec::new(),
        };
        // [INIT-1]: start-up initializes the main thread.
        m.initialize();
        m
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The release whose behaviour this model follows ([REL-1]).
    pub fn release(&self) -> Release {
        self.release
    }

    // ----- reading the heap -----

    pub fn context(&self, c: CtxId) -> &Context {
        &self.contexts[c.0]
    }
    pub fn execution_state(&self, e: EsId) -> &ExecutionState {
        &self.exec_states[e.0]
    }
    pub fn compilation_state(&self, s: CsId) -> &CompilationState {
        &self.comp_states[s.0]
    }
    pub fn node_count(&self, s: CsId) -> usize {
        self.node_lists[self.compilation_state(s).nodes.0].len()
    }
    /// Whether `s` and `t` share one node list ([CS-4]).
    pub fn share_nodes(&self, s: CsId, t: CsId) -> bool {
        self.compilation_state(s).nodes == self.compilation_state(t).nodes
    }
    /// The thread an opaque value belongs to, or None for the named defaults
    /// ([THR-4]: they belong to every thread).
    pub fn opaque_thread(&self, o: OpaqueId) -> Option<ThreadId> {
        match o {
            OpaqueId::Made(i) => Some(self.opaques[i]),
            OpaqueId::DefaultFileAccess | OpaqueId::DefaultTaskResolver => None,
        }
    }
    pub fn current_thread(&self) -> ThreadId {
        self.unit().thread
    }
    /// The entries of the active unit's stack, bottom first.
    pub fn stack_entries(&self) -> &[CtxId] {
        &self.stacks[self.unit_stack().0]
    }
    /// The signal handlers, in the order added ([SIG-1]).
    pub fn signal_handlers(&self) -> &[String] {
        &self.handlers
    }

    fn unit(&self) -> &Unit {
        self.active
            .last()
            .expect("the main thread is always active")
    }
    fn unit_mut(&mut self) -> &mut Unit {
        self.active
            .last_mut()
            .expect("the main thread is always active")
    }

    /// [THR-1]: the unit's stack is its binding, or the default stack when unset.
    fn unit_stack(&self) -> StackId {
        self.unit().binding.unwrap_or(self.default_stack)
    }

    fn new_stack(&mut self, entries: Vec<CtxId>) -> StackId {
        self.stacks.push(entries);
        StackId(self.stacks.len() - 1)
    }

    fn new_opaque_value(&mut self) -> OpaqueId {
        let thread = self.current_thread();
        self.opaques.push(thread);
        OpaqueId::Made(self.opaques.len() - 1)
    }

    // ----- FlyteContextManager -----

    /// [INIT-2]..[INIT-5]: a new root on a new stack, bound to the unit.
    #[track_caller]
    pub fn initialize(&mut self) {
        let origin = Origin::caller();
        let thread = self.current_thread();
        // [INIT-4]: fresh user-space parameters and a fresh execution state
        // in the default provider's sandbox.
        let user_space_params = self.new_opaque_value();
        self.exec_states.push(ExecutionState {
            mode: None,
            working_dir: SANDBOX_DIR.to_string(),
            engine_dir: format!("{SANDBOX_DIR}/engine_dir"),
            branch_eval_mode: None,
            user_space_params: Some(user_space_params),
            thread,
        });
        let es = EsId(self.exec_states.len() - 1);
        // [INIT-3]: level 1 (a level-0 context built once), default file access.
        let mut slots = [None; 5];
        slots[Slot::FileAccess as usize] = Some(OpaqueId::DefaultFileAccess);
        self.contexts.push(Context {
            fields: ContextFields {
                level: 1,
                in_a_condition: false,
                compilation_state: None,
                execution_state: Some(es),
                slots,
            },
            // [ORIG-3]
            origin: Some(origin),
            thread,
        });
        let root = CtxId(self.contexts.len() - 1);
        // [INIT-2]: a new stack; the old one is left as it was.
        let stack = self.new_stack(vec![root]);
        self.unit_mut().binding = Some(stack);
        // [INIT-5]: handlers are not touched.
    }

    /// [SIZE-1]
    pub fn size(&self) -> usize {
        self.stacks[self.unit_stack().0].len()
    }

    /// [CUR-1], [CUR-2]
    #[track_caller]
    pub fn current_context(&mut self) -> CtxId {
        if self.size() == 0 {
            // [CUR-2]: an empty stack initializes first (and so binds, [STK-1]).
            self.initialize();
        }
        *self.stacks[self.unit_stack().0]
            .last()
            .expect("non-empty after initialize")
    }

    /// [PUSH-1]..[PUSH-3], [STK-1]
    #[track_caller]
    pub fn push_context(&mut self, ctx: CtxId, origin: Option<Origin>) -> CtxId {
        // [PUSH-3], [ORIG-1]: the origin is recorded on the object itself.
        let here = Origin::caller();
        self.contexts[ctx.0].origin = Some(origin.unwrap_or(here));
        let stack = self.unit_stack();
        // [PUSH-1], [PUSH-2]: the object itself, any number of times.
        self.stacks[stack.0].push(ctx);
        // [STK-1]: the unit is now bound to the stack it pushed onto.
        self.unit_mut().binding = Some(stack);
        ctx
    }

    /// [POP-1]..[POP-3], [STK-1]
    pub fn pop_context(&mut self) -> Result<CtxId, Failure> {
        let stack = self.unit_stack();
        // [POP-3]: an empty stack fails and nothing changes (no binding either).
        let ctx = self.stacks[stack.0].pop().ok_or(Failure::EmptyStack)?;
        // [STK-1]: a removal binds the unit to the stack it worked on.
        self.unit_mut().binding = Some(stack);
        if self.stacks[stack.0].is_empty() {
            // [POP-2] (quirk): the removal stands, then the call fails.
            return Err(Failure::PoppedRoot);
        }
        Ok(ctx)
    }

    /// [WITH-1]: build, push, record the mark. The scope stays open until
    /// [`Model::with_exit`].
    #[track_caller]
    pub fn with_enter(&mut self, builder: &Builder) -> CtxId {
        let (ctx, mark) = self.enter_scope(builder, Origin::caller());
        self.unit_mut().marks.push(mark);
        ctx
    }

    /// [WITH-1] for a scope the caller keeps track of: the new context and
    /// its mark, to give to [`Model::exit_scope`].
    pub fn enter_scope(&mut self, builder: &Builder, origin: Origin) -> (CtxId, usize) {
        let ctx = self.build(builder);
        // [WITH-6], [ORIG-2]: the origin is the code that entered the scope.
        self.push_context(ctx, Some(origin));
        (ctx, self.size())
    }

    /// [WITH-2]..[WITH-5]: leave the innermost open scope of the active unit,
    /// with `raised` the error the body raised, if any.
    ///
    /// Panics if the unit has no open scope: the trace rules make that
    /// impossible ([TRACE-5]).
    pub fn with_exit(&mut self, raised: Option<Failure>) -> Result<(), Failure> {
        let mark = self
            .unit_mut()
            .marks
            .pop()
            .expect("with_exit with no open scope");
        self.exit_scope(mark, raised)
    }

    /// [WITH-2]..[WITH-5] for a scope whose mark is `mark`, whether or not it
    /// is the innermost: leaving scopes out of order is what guards of a
    /// Rust API allow, and the rule is the same.
    pub fn exit_scope(&mut self, mark: usize, raised: Option<Failure>) -> Result<(), Failure> {
        // [WITH-2], [WITH-5]: compare with whatever stack the unit has now.
        // [WITH-3]: below the mark, nothing is popped.
        while self.size() >= mark {
            // [WITH-4]: a failing pop ends the cleanup and replaces the body's error.
            self.pop_context()?;
        }
        match raised {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// `with_context` as a closure: [`Model::with_enter`], the body, then
    /// [`Model::with_exit`] with the body's error.
    #[track_caller]
    pub fn with_context<T>(
        &mut self,
        builder: &Builder,
        body: impl FnOnce(&mut Model, CtxId) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let ctx = self.with_enter(builder);
        match body(self, ctx) {
            Ok(v) => self.with_exit(None).map(|()| v),
            Err(f) => match self.with_exit(Some(f)) {
                Err(f) => Err(f),
                Ok(()) => unreachable!("with_exit with an error always fails"),
            },
        }
    }

    /// [SIG-1]
    pub fn add_signal_handler(&mut self, tag: &str) {
        self.handlers.push(tag.to_string());
    }

    /// [SIG-2], [SIG-3], [SIG-4]: every handler in order with SIGINT, then exit 1.
    /// (After start-up the hook is installed in both profiles.)
    pub fn sigint(&self) -> SigintOutcome {
        SigintOutcome {
            ran: self.handlers.iter().map(|t| (t.clone(), SIGINT)).collect(),
            exit_status: 1,
        }
    }

    /// [ORIG-4]: the location of the caller. In Rust, `#[track_caller]`
    /// stands in for walking `limit` frames up.
    #[track_caller]
    pub fn get_origin_stackframe(&self) -> Origin {
        Origin::caller()
    }

    // ----- FlyteContext and its Builder -----

    /// [CTX-2]: `FlyteContext(file_access=f)`.
    pub fn new_context(&mut self, file_access: Option<OpaqueId>) -> CtxId {
        let mut slots = [None; 5];
        slots[Slot::FileAccess as usize] = file_access;
        let fields = ContextFields {
            level: 0,
            in_a_condition: false,
            compilation_state: None,
            execution_state: None,
            slots,
        };
        self.add_context(fields)
    }

    fn add_context(&mut self, fields: ContextFields) -> CtxId {
        let thread = self.current_thread();
        // [CTX-4]: a new object; [ORIG-1]: no origin until pushed.
        self.contexts.push(Context {
            fields,
            origin: None,
            thread,
        });
        CtxId(self.contexts.len() - 1)
    }

    /// [BLD-1]: level, condition flag and the same objects; not the origin.
    pub fn new_builder(&self, ctx: CtxId) -> Builder {
        self.context(ctx).fields
    }

    /// [BLD-2]: a new context, one level up.
    pub fn build(&mut self, builder: &Builder) -> CtxId {
        let fields = ContextFields {
            level: builder.level + 1,
            ..*builder
        };
        self.add_context(fields)
    }

    /// [BLD-3]
    pub fn with_execution_state(builder: &mut Builder, es: Option<EsId>) {
        builder.execution_state = es;
    }
    /// [BLD-3]
    pub fn with_compilation_state(builder: &mut Builder, cs: Option<CsId>) {
        builder.compilation_state = cs;
    }
    /// [BLD-3]: `with_file_access`, `with_client`, … by slot.
    pub fn with_slot(builder: &mut Builder, slot: Slot, value: Option<OpaqueId>) {
        builder.slots[slot as usize] = value;
    }

    /// [BLD-4]: the builder's own `with_new_compilation_state` (no resolver).
    pub fn with_new_compilation_state(&mut self, builder: &mut Builder) {
        let cs = self.new_compilation_state("", 1, None);
        builder.compilation_state = Some(cs);
    }

    /// [BLD-5]: the context's `with_new_compilation_state`, which goes through
    /// [CS-6] and so gets the default task resolver.
    pub fn ctx_with_new_compilation_state(&mut self, ctx: CtxId) -> Builder {
        let cs = self.ctx_new_compilation_state(ctx, "");
        let mut builder = self.new_builder(ctx);
        builder.compilation_state = Some(cs);
        builder
    }

    /// [COND-1]..[COND-7]
    pub fn enter_conditional_section(&mut self, builder: &mut Builder) {
        if let Some(cs) = builder.compilation_state {
            // [COND-1]: same prefix, fresh node list.
            let prefix = self.compilation_state(cs).prefix.clone();
            builder.compilation_state =
                Some(self.cs_with_params(cs, Some(&prefix), None, None, None));
        }
        if let Some(es) = builder.execution_state {
            let state = self.execution_state(es);
            // [COND-2]: only local modes are replaced; [COND-6]: others kept.
            if state.mode.is_some_and(Mode::is_local) {
                if !builder.in_a_condition {
                    // [COND-3]
                    builder.execution_state = Some(self.es_with_params(
                        es,
                        None,
                        None,
                        None,
                        Some(Branch::Skipped),
                        None,
                    ));
                } else if state.branch_eval_mode == Some(Branch::Skipped) {
                    // [COND-4]
                    builder.execution_state =
                        Some(self.es_with_params(es, None, None, None, None, None));
                }
                // [COND-5] (quirk): otherwise the same object is kept.
            }
        }
        // [COND-7]
        builder.in_a_condition = true;
    }

    /// [CTX-3]
    pub fn user_space_params(&self, ctx: CtxId) -> Option<OpaqueId> {
        self.context(ctx)
            .fields
            .execution_state
            .and_then(|es| self.execution_state(es).user_space_params)
    }

    // ----- states -----

    /// [ES-1], [ES-2]: `ExecutionState(...)`.
    pub fn new_execution_state(
        &mut self,
        working_dir: &str,
        mode: Option<Mode>,
        engine_dir: Option<&str>,
        branch_eval_mode: Option<Branch>,
        user_space_params: Option<OpaqueId>,
    ) -> Result<EsId, Failure> {
        // [ES-1]
        if working_dir.is_empty() {
            return Err(Failure::InvalidWorkingDir);
        }
        // [ES-2]: a falsy engine dir is derived from the working dir.
        let engine_dir = match engine_dir {
            Some(e) if !e.is_empty() => e.to_string(),
            _ => format!("{working_dir}/engine_dir"),
        };
        let thread = self.current_thread();
        self.exec_states.push(ExecutionState {
            mode,
            working_dir: working_dir.to_string(),
            engine_dir,
            branch_eval_mode,
            user_space_params,
            thread,
        });
        // [ES-7]: a new object.
        Ok(EsId(self.exec_states.len() - 1))
    }

    /// [ES-4] (quirk): falsy means keep, so nothing can be reset to none.
    pub fn es_with_params(
        &mut self,
        es: EsId,
        working_dir: Option<&str>,
        mode: Option<Mode>,
        engine_dir: Option<&str>,
        branch_eval_mode: Option<Branch>,
        user_space_params: Option<OpaqueId>,
    ) -> EsId {
        let old = self.execution_state(es).clone();
        let keep = |given: Option<&str>, old: &str| match given {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => old.to_string(),
        };
        let working_dir = keep(working_dir, &old.working_dir);
        // The engine dir is always passed on, so it is never derived again.
        let engine_dir = keep(engine_dir, &old.engine_dir);
        self.new_execution_state(
            &working_dir,
            mode.or(old.mode),
            Some(&engine_dir),
            branch_eval_mode.or(old.branch_eval_mode),
            user_space_params.or(old.user_space_params),
        )
        .expect("a kept working directory is never empty")
    }

    /// [ES-5]: in place.
    pub fn take_branch(&mut self, es: EsId) {
        self.exec_states[es.0].branch_eval_mode = Some(Branch::Active);
    }

    /// [ES-6]: in place.
    pub fn branch_complete(&mut self, es: EsId) {
        self.exec_states[es.0].branch_eval_mode = Some(Branch::Skipped);
    }

    /// [ES-8]: `ctx.new_execution_state(working_dir)`.
    pub fn ctx_new_execution_state(
        &mut self,
        ctx: CtxId,
        working_dir: Option<&str>,
    ) -> Result<EsId, Failure> {
        let user_space_params = self.user_space_params(ctx);
        let working_dir = match working_dir {
            Some(w) if !w.is_empty() => w.to_string(),
            // Only the default provider has a sandbox directory; opaque values
            // and none do not.
            _ => match self.context(ctx).fields.slot(Slot::FileAccess) {
                Some(OpaqueId::DefaultFileAccess) => SANDBOX_DIR.to_string(),
                _ => return Err(Failure::NoSandboxDir),
            },
        };
        self.new_execution_state(&working_dir, None, None, None, user_space_params)
    }

    /// [CS-1]: `CompilationState(prefix, mode, task_resolver)`.
    pub fn new_compilation_state(
        &mut self,
        prefix: &str,
        mode: i64,
        task_resolver: Option<OpaqueId>,
    ) -> CsId {
        self.node_lists.push(Vec::new());
        let nodes = NodeListId(self.node_lists.len() - 1);
        self.add_compilation_state(prefix, mode, task_resolver, nodes)
    }

    fn add_compilation_state(
        &mut self,
        prefix: &str,
        mode: i64,
        task_resolver: Option<OpaqueId>,
        nodes: NodeListId,
    ) -> CsId {
        let thread = self.current_thread();
        self.comp_states.push(CompilationState {
            prefix: prefix.to_string(),
            mode,
            task_resolver,
            nodes,
            thread,
        });
        // [CS-5]: a new object.
        CsId(self.comp_states.len() - 1)
    }

    /// [CS-3], [CS-4] (quirks). `nodes_of` passes that state's node list.
    pub fn cs_with_params(
        &mut self,
        cs: CsId,
        prefix: Option<&str>,
        mode: Option<i64>,
        task_resolver: Option<OpaqueId>,
        nodes_of: Option<CsId>,
    ) -> CsId {
        let old = self.compilation_state(cs).clone();
        // [CS-3]: a falsy prefix becomes "", not the old prefix.
        let prefix = prefix.unwrap_or("");
        // [CS-3]: a falsy mode (none or 0) or resolver keeps the old one.
        let mode = match mode {
            Some(m) if m != 0 => m,
            _ => old.mode,
        };
        let task_resolver = task_resolver.or(old.task_resolver);
        // [CS-4]: a non-empty list is shared; otherwise a new empty one.
        let nodes = match nodes_of.map(|s| self.compilation_state(s).nodes) {
            Some(list) if !self.node_lists[list.0].is_empty() => list,
            _ => {
                self.node_lists.push(Vec::new());
                NodeListId(self.node_lists.len() - 1)
            }
        };
        self.add_compilation_state(prefix, mode, task_resolver, nodes)
    }

    /// [CS-6]: the context's `new_compilation_state`, with the default resolver.
    pub fn ctx_new_compilation_state(&mut self, _ctx: CtxId, prefix: &str) -> CsId {
        self.new_compilation_state(prefix, 1, Some(OpaqueId::DefaultTaskResolver))
    }

    /// [CS-2]: append in place; every holder of the list sees it ([ALIAS-1]).
    pub fn add_node(&mut self, cs: CsId) {
        let node = self.new_opaque_value();
        let list = self.compilation_state(cs).nodes;
        self.node_lists[list.0].push(node);
    }

    /// A new opaque value (`new_opaque`).
    pub fn new_opaque(&mut self) -> OpaqueId {
        self.new_opaque_value()
    }

    // ----- threads and tasks -----

    /// [THR-2] (compat: unset) / [THR-3] (isolated: a new empty stack).
    pub fn thread_begin(&mut self) {
        let thread = ThreadId(self.threads);
        self.threads += 1;
        let binding = match self.profile {
            Profile::Compat => None,
            Profile::Isolated => Some(self.new_stack(Vec::new())),
        };
        self.active.push(Unit {
            thread,
            binding,
            marks: Vec::new(),
        });
    }

    /// [TASK-1] (compat: the creator's binding) / [TASK-2] (isolated: a copy).
    pub fn task_begin(&mut self) {
        let creator = self.unit().clone();
        let binding = match self.profile {
            Profile::Compat => creator.binding,
            Profile::Isolated => {
                let entries = self.stacks[self.unit_stack().0].clone();
                Some(self.new_stack(entries))
            }
        };
        // [TASK-3]: the task's binding is its own from here on.
        self.active.push(Unit {
            thread: creator.thread,
            binding,
            marks: Vec::new(),
        });
    }

    /// Ends the innermost thread or task; the creator's binding is untouched.
    pub fn unit_end(&mut self) {
        assert!(self.active.len() > 1, "the main thread never ends");
        self.active.pop();
    }
}

#[cfg(test)]
mod tests {
    //! Ports of flytekit's own context-manager tests
    //! (flytekit/tests/flytekit/unit/core/test_context_manager.py), in our words.

    use super::*;

    fn compat() -> Model {
        Model::new(Profile::Compat)
    }

    #[test]
    fn levels_count_builds_not_depth() {
        // flytekit's `test_levels`: nested with_context scopes reach levels 2, 3, 4.
        let mut m = compat();
        let root = m.current_context();
        assert_eq!(m.context(root).fields.level, 1);
        let b = m.new_builder(root);
        m.with_context(&b, |m, c2| {
            assert_eq!(m.context(c2).fields.level, 2);
            let b = m.new_builder(c2);
            m.with_context(&b, |m, c3| {
                assert_eq!(m.context(c3).fields.level, 3);
                let b = m.new_builder(c3);
                m.with_context(&b, |m, c4| {
                    assert_eq!(m.context(c4).fields.level, 4);
                    assert_eq!(m.size(), 4);
                    Ok(())
                })
            })
        })
        .unwrap();
        assert_eq!(m.size(), 1);
        // A build from the root again is level 2, whatever the depth.
        let b = m.new_builder(root);
        let c = m.build(&b);
        m.push_context(c, None);
        m.push_context(c, None);
        assert_eq!(m.context(c).fields.level, 2);
    }

    #[test]
    fn a_leaked_conditional_section_is_cleaned_up_by_the_enclosing_scope() {
        // flytekit's conditional-leak comment in with_context, as a test.
        let mut m = compat();
        let root = m.current_context();
        let b = m.new_builder(root);
        m.with_context(&b, |m, ctx| {
            let mut cond = m.new_builder(ctx);
            m.enter_conditional_section(&mut cond);
            let leaked = m.build(&cond);
            m.push_context(leaked, None);
            m.push_context(leaked, None);
            assert_eq!(m.size(), 4);
            Ok(())
        })
        .unwrap();
        assert_eq!(m.size(), 1);
    }

    #[test]
    fn popping_the_root_removes_it_then_fails_and_current_reinitializes() {
        let mut m = compat();
        let root = m.current_context();
        assert_eq!(m.pop_context(), Err(Failure::PoppedRoot));
        assert_eq!(m.size(), 0);
        assert_eq!(m.pop_context(), Err(Failure::EmptyStack));
        assert_eq!(m.size(), 0);
        let new_root = m.current_context();
        assert_ne!(new_root, root);
        assert_eq!(m.size(), 1);
        assert_eq!(m.context(new_root).fields.level, 1);
    }

    #[test]
    fn with_context_from_an_empty_stack_fails_its_cleanup() {
        let mut m = compat();
        let root = m.current_context();
        let _ = m.pop_context();
        let b = m.new_builder(root);
        let r = m.with_context(&b, |m, _| {
            assert_eq!(m.size(), 1);
            Ok(())
        });
        assert_eq!(r, Err(Failure::PoppedRoot));
        assert_eq!(m.size(), 0);
    }

    #[test]
    fn a_body_error_propagates_after_cleanup_unless_cleanup_fails() {
        let mut m = compat();
        let root = m.current_context();
        let b = m.new_builder(root);
        let r: Result<(), _> = m.with_context(&b, |m, c| {
            m.push_context(c, None);
            Err(Failure::Raised("boom".into()))
        });
        assert_eq!(r, Err(Failure::Raised("boom".into())));
        assert_eq!(m.size(), 1);
        // The body popping its own scope and the one below: nothing more popped.
        let extra = m.build(&b);
        m.push_context(extra, None);
        m.with_context(&b, |m, _| {
            m.pop_context()?;
            m.pop_context()?;
            Ok(())
        })
        .unwrap();
        assert_eq!(m.size(), 1);
    }

    #[test]
    fn conditional_sections_follow_the_branch_rules() {
        let mut m = compat();
        let root = m.current_context();
        let es = m
            .new_execution_state("w", Some(Mode::LocalWorkflowExecution), None, None, None)
            .unwrap();
        let cs = m.new_compilation_state("p", 1, None);
        m.add_node(cs);
        let mut b = m.new_builder(root);
        Model::with_execution_state(&mut b, Some(es));
        Model::with_compilation_state(&mut b, Some(cs));
        m.enter_conditional_section(&mut b);
        let first = b.execution_state.unwrap();
        assert_ne!(first, es, "[COND-3] copies");
        assert_eq!(
            m.execution_state(first).branch_eval_mode,
            Some(Branch::Skipped)
        );
        let new_cs = b.compilation_state.unwrap();
        assert_ne!(new_cs, cs);
        assert_eq!(m.compilation_state(new_cs).prefix, "p");
        assert_eq!(m.node_count(new_cs), 0, "[COND-1] fresh node list");
        // Nested and skipped: a plain copy.
        m.enter_conditional_section(&mut b);
        let second = b.execution_state.unwrap();
        assert_ne!(second, first, "[COND-4]");
        // Nested and active: the same object.
        m.take_branch(second);
        m.enter_conditional_section(&mut b);
        assert_eq!(b.execution_state, Some(second), "[COND-5]");
        assert!(b.in_a_condition);
        assert_eq!(b.level, 1, "[COND-7] level unchanged");
    }

    #[test]
    fn with_params_keeps_falsy_arguments() {
        let mut m = compat();
        let es = m
            .new_execution_state(
                "w1",
                Some(Mode::TaskExecution),
                None,
                Some(Branch::Active),
                None,
            )
            .unwrap();
        let es2 = m.es_with_params(es, Some("w2"), None, Some(""), None, None);
        let s = m.execution_state(es2);
        assert_eq!(
            (s.working_dir.as_str(), s.engine_dir.as_str()),
            ("w2", "w1/engine_dir")
        );
        assert_eq!(s.mode, Some(Mode::TaskExecution));
        assert_eq!(s.branch_eval_mode, Some(Branch::Active));
        let cs = m.new_compilation_state("p", 3, Some(OpaqueId::DefaultTaskResolver));
        let cs2 = m.cs_with_params(cs, None, Some(0), None, Some(cs));
        let s = m.compilation_state(cs2);
        assert_eq!((s.prefix.as_str(), s.mode), ("", 3));
        assert!(!m.share_nodes(cs, cs2), "an empty list is not shared");
        m.add_node(cs);
        let cs3 = m.cs_with_params(cs, Some("q"), None, None, Some(cs));
        assert!(m.share_nodes(cs, cs3));
        m.add_node(cs3);
        assert_eq!(m.node_count(cs), 2);
    }

    #[test]
    fn compat_threads_leak_through_the_default_stack_and_isolated_ones_do_not() {
        for (profile, leaked_size) in [(Profile::Compat, 1), (Profile::Isolated, 0)] {
            let mut m = Model::new(profile);
            let root = m.current_context();
            m.thread_begin();
            assert_eq!(m.size(), 0);
            m.push_context(root, None);
            m.unit_end();
            m.thread_begin();
            assert_eq!(m.size(), leaked_size, "{profile:?}");
            m.unit_end();
            assert_eq!(m.size(), 1);
        }
    }

    #[test]
    fn tasks_share_in_compat_and_copy_in_isolated() {
        for (profile, parent_size) in [(Profile::Compat, 2), (Profile::Isolated, 1)] {
            let mut m = Model::new(profile);
            let root = m.current_context();
            m.task_begin();
            assert_eq!(m.size(), 1);
            m.push_context(root, None);
            m.unit_end();
            assert_eq!(m.size(), parent_size, "{profile:?}");
        }
    }

    #[test]
    fn signal_handlers_are_one_ordered_list_kept_across_initialize() {
        let mut m = compat();
        m.add_signal_handler("a");
        m.thread_begin();
        m.add_signal_handler("b");
        m.initialize();
        m.unit_end();
        m.initialize();
        assert_eq!(m.signal_handlers(), ["a", "b"], "[SIG-1], [SIG-3]");
        let out = m.sigint();
        assert_eq!(
            out.ran,
            vec![("a".to_string(), SIGINT), ("b".to_string(), SIGINT)],
            "[SIG-2]"
        );
        assert_eq!(out.exit_status, 1);
    }

    #[test]
    fn origins_follow_the_last_push_and_the_scope_entry() {
        let mut m = compat();
        let init = line!() + 1;
        m.initialize();
        let root = m.current_context();
        let root_origin = m.context(root).origin.unwrap().0;
        assert_eq!(
            (root_origin.file(), root_origin.line()),
            (file!(), init),
            "[ORIG-3]: the call that caused the initialization"
        );
        let b = m.new_builder(root);
        let c = m.build(&b);
        assert_eq!(m.context(c).origin, None);
        m.push_context(c, None);
        let first = m.context(c).origin.unwrap();
        m.push_context(c, None);
        let second = m.context(c).origin.unwrap();
        assert_eq!(first.0.file(), file!());
        assert_ne!(
            first.0.line(),
            second.0.line(),
            "[ORIG-1] the second push wins"
        );
        let line = line!() + 1;
        let scoped = m.with_enter(&b);
        assert_eq!(m.context(scoped).origin.unwrap().0.line(), line, "[ORIG-2]");
        assert_eq!(m.get_origin_stackframe().0.line(), line!(), "[ORIG-4]");
    }
}
