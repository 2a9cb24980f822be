//! The semantics of spec.md, sections 1 to 11, as plainly as they can be
//! written: every object lives in a vector of the [`Model`] and is addressed
//! by its index; nothing is ever freed; every rule cites its clause.
//!
//! This module holds the heap and `FlyteContextManager`'s own operations;
//! `builder` has contexts and builders, `states` the two kinds of state,
//! `signals` the handler list and SIGINT, `origin` where things happened.

mod builder;
mod origin;
mod signals;
mod states;
#[cfg(test)]
mod tests;

pub use origin::Origin;
pub use signals::{Installed, SigintEnd, SigintOutcome, SIGINT};

use crate::claim::Target;
use crate::release::Release;
use crate::trace::{Branch, Mode, Slot};
use crate::Profile;
use std::collections::BTreeSet;

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

/// The fields of a context a builder can set ([CTX-1], [BLD-1]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextFields {
    /// Its level ([BLD-2]).
    pub level: i64,
    /// Whether it is in a conditional section ([COND-7]).
    pub in_a_condition: bool,
    /// Its compilation state, or none.
    pub compilation_state: Option<CsId>,
    /// Its execution state, or none.
    pub execution_state: Option<EsId>,
    /// The five opaque fields, in [`Slot::ALL`] order.
    pub slots: [Option<OpaqueId>; 5],
}

impl ContextFields {
    /// The opaque value in `slot`.
    pub fn slot(&self, slot: Slot) -> Option<OpaqueId> {
        self.slots[slot as usize]
    }
}

/// A `FlyteContext.Builder`: plain fields, changed in place by its methods.
pub type Builder = ContextFields;

/// A context: its fields, origin and thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// Its fields ([CTX-1]).
    pub fields: ContextFields,
    /// [ORIG-1]: the only part of a context that changes after it is built.
    pub origin: Option<Origin>,
    /// [THR-4]: the thread that built it.
    pub thread: ThreadId,
}

/// An execution state ([ES-1]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionState {
    /// Its mode ([ES-3] for an execution state, an integer for a compilation state).
    pub mode: Option<Mode>,
    /// Its working directory.
    pub working_dir: String,
    /// Its engine directory ([ES-2]).
    pub engine_dir: String,
    /// Its branch mode ([ES-3]).
    pub branch_eval_mode: Option<Branch>,
    /// Its user-space parameters.
    pub user_space_params: Option<OpaqueId>,
    /// The thread that made it ([THR-4]).
    pub thread: ThreadId,
}

/// A compilation state ([CS-1]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompilationState {
    /// Its prefix.
    pub prefix: String,
    /// Its mode ([ES-3] for an execution state, an integer for a compilation state).
    pub mode: i64,
    /// Its task resolver.
    pub task_resolver: Option<OpaqueId>,
    /// Its node list ([CS-4]); in summaries, how many nodes it holds.
    pub nodes: NodeListId,
    /// The thread that made it ([THR-4]).
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
    /// [ES-8], [BLD-6]
    NoSandboxDir,
    /// [ES-2]: an engine directory could not be made.
    EngineDirFailed,
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
            Failure::EngineDirFailed => "engine_dir_failed",
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
            "engine_dir_failed" => Failure::EngineDirFailed,
            other => Failure::Raised(other.to_string()),
        }
    }
}

pub use crate::answer::{RANDOM_DIR, SANDBOX_DIR};

/// [ES-2]: the engine directory derived from a working directory: its
/// `engine_dir`, joined as a path (a trailing `/` is not doubled).
pub fn engine_dir_in(working_dir: &str) -> String {
    format!(
        "{}/engine_dir",
        working_dir.strip_suffix('/').unwrap_or(working_dir)
    )
}

/// A thread or a task ([THR-1]).
#[derive(Clone, Debug)]
struct Unit {
    thread: ThreadId,
    /// Its own stack, or None: it uses the process default stack ([THR-1]).
    binding: Option<StackId>,
    /// The marks of the `with` scopes this unit has open, innermost last ([WITH-1]).
    marks: Vec<usize>,
}

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
    handlers: Vec<signals::Handler>,
    /// [SIG-4]: the SIGINT handler the process has now.
    sigint_handler: Installed,
    /// [SIG-4] (isolated): whether an `initialize()` has installed the hook.
    hook_installed_once: bool,
    /// [ES-2]: the names the trace made files of in the scratch directory.
    files: BTreeSet<String>,
}

impl Model {
    /// A new process: the main thread initialized ([INIT-1]).
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
            // Start-up installs the hook in both profiles ([SIG-4]).
            sigint_handler: Installed::Hook,
            hook_installed_once: false,
            files: BTreeSet::new(),
        };
        // [INIT-1]: loading the library initializes the main thread, from
        // the library's own code ([ORIG-3]).
        m.initialize_from(Origin::Library);
        m
    }

    /// The profile the rules follow.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The release whose behaviour this model follows ([REL-1]).
    pub fn release(&self) -> Release {
        self.release
    }

    // ----- reading the heap -----

    /// The context `c`.
    pub fn context(&self, c: CtxId) -> &Context {
        &self.contexts[c.0]
    }
    /// The execution state `e`.
    pub fn execution_state(&self, e: EsId) -> &ExecutionState {
        &self.exec_states[e.0]
    }
    /// The compilation state `s`.
    pub fn compilation_state(&self, s: CsId) -> &CompilationState {
        &self.comp_states[s.0]
    }
    /// How many nodes the node list of `s` holds ([CS-2]).
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
    /// The thread operations run on now.
    pub fn current_thread(&self) -> ThreadId {
        self.unit().thread
    }
    /// The entries of the active unit's stack, bottom first.
    pub fn stack_entries(&self) -> &[CtxId] {
        &self.stacks[self.unit_stack().0]
    }
    /// The tags of the signal handlers, in the order added ([SIG-1]).
    pub fn signal_handlers(&self) -> Vec<&str> {
        self.handlers.iter().map(|h| h.tag.as_str()).collect()
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

    /// [INIT-2]..[INIT-5]: a new root on a new stack, bound to the unit; the
    /// root's origin is the caller ([ORIG-3]).
    #[track_caller]
    pub fn initialize(&mut self) {
        self.initialize_from(Origin::caller());
    }

    /// [INIT-2]..[INIT-5], with the root's origin given ([ORIG-3]): the code
    /// that called `initialize()` directly.
    pub fn initialize_from(&mut self, origin: Origin) {
        // [INIT-5]: on the main thread, the hook first ([SIG-4]).
        self.install_hook_on_initialize();
        let thread = self.current_thread();
        // [INIT-4]: fresh user-space parameters and a fresh execution state
        // in the default provider's sandbox (whose engine directory is never
        // a trace's file, so making it cannot fail here).
        let user_space_params = self.new_opaque_value();
        let working_dir = self.sandbox_dir();
        self.exec_states.push(ExecutionState {
            mode: None,
            engine_dir: engine_dir_in(&working_dir),
            working_dir,
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
        if self.shares_one_stack() {
            // [THR-1] before 1.1: the one stack of every unit is replaced.
            self.default_stack = stack;
        } else {
            self.unit_mut().binding = Some(stack);
        }
        // [INIT-5]: the handler list is not touched ([SIG-3]).
    }

    /// [INIT-4], [ES-8]: the directory the default provider gives: its
    /// sandbox, or before 0.22 a new random directory in it ([REL-3]).
    pub(super) fn sandbox_dir(&self) -> String {
        if self.release.random_sandbox_dirs() {
            format!("{SANDBOX_DIR}/{RANDOM_DIR}/")
        } else {
            SANDBOX_DIR.to_string()
        }
    }

    /// [THR-1] before 1.1 ([REL-3]): one stack serves every thread and task
    /// (compat; the isolated profile keeps each thread's own).
    fn shares_one_stack(&self) -> bool {
        self.profile == Profile::Compat && !self.release.stack_per_unit()
    }

    /// [SIZE-1]
    pub fn size(&self) -> usize {
        self.stacks[self.unit_stack().0].len()
    }

    /// [CUR-1], [CUR-2], as the release does ([REL-3]): before 1.1 an empty
    /// stack gives none and stays empty.
    pub fn current_context_of_release(&mut self) -> Option<CtxId> {
        if self.size() == 0 && !self.release.current_initializes() {
            return None;
        }
        Some(self.current_context())
    }

    /// [CUR-1], [CUR-2] (from 1.1). ([CUR-3]: `FlyteContext.current_context()`
    /// is this same call.)
    pub fn current_context(&mut self) -> CtxId {
        if self.size() == 0 {
            // [CUR-2]: an empty stack initializes first, from the library's
            // own code ([ORIG-3]).
            self.initialize_from(Origin::Library);
        }
        *self.stacks[self.unit_stack().0]
            .last()
            .expect("non-empty after initialize")
    }

    /// [PUSH-1]..[PUSH-3]. ([STK-1] is withdrawn: the unit keeps using the
    /// stack it used, whether its own or the default one.)
    #[track_caller]
    pub fn push_context(&mut self, ctx: CtxId, origin: Option<Origin>) -> CtxId {
        // [PUSH-3], [ORIG-1]: the origin is recorded on the object itself.
        let here = Origin::caller();
        self.contexts[ctx.0].origin = Some(origin.unwrap_or(here));
        let stack = self.unit_stack();
        // [PUSH-1], [PUSH-2]: the object itself, any number of times.
        self.stacks[stack.0].push(ctx);
        ctx
    }

    /// [POP-1]..[POP-3]
    pub fn pop_context(&mut self) -> Result<CtxId, Failure> {
        let stack = self.unit_stack();
        // [POP-3]: an empty stack fails and nothing changes.
        let ctx = self.stacks[stack.0].pop().ok_or(Failure::EmptyStack)?;
        if self.stacks[stack.0].is_empty() {
            // [POP-2] (quirk): the removal stands, then the call fails.
            return Err(Failure::PoppedRoot);
        }
        Ok(ctx)
    }

    /// [WITH-1]: build, push, record the mark. The scope stays open until
    /// [`Model::with_exit`]. ([WITH-7]: this is the scope's entry; a
    /// builder handed over earlier is read now.)
    #[track_caller]
    pub fn with_enter(&mut self, builder: &Builder) -> CtxId {
        self.with_enter_from(builder, Origin::caller())
    }

    /// [WITH-1] with the code that entered the scope given ([ORIG-2]).
    pub fn with_enter_from(&mut self, builder: &Builder, origin: Origin) -> CtxId {
        let (ctx, mark) = self.enter_scope(builder, origin);
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

    /// [WITH-8]: the innermost open scope of the active unit is dropped
    /// without being left: its cleanup runs ([WITH-2]) and an error of the
    /// cleanup reaches no one.
    ///
    /// Panics if the unit has no open scope ([TRACE-5]).
    pub fn with_drop(&mut self) {
        let mark = self
            .unit_mut()
            .marks
            .pop()
            .expect("with_drop with no open scope");
        let _ = self.exit_scope(mark, None);
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

    // ----- threads and tasks -----

    /// [THR-2] (compat: no stack of its own) / [THR-3] (isolated: a new
    /// empty stack). The model simulates its units, as a port may ([PORT-6]).
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

    /// [TASK-1] (compat: the creator's stack) / [TASK-2] (isolated: a copy).
    pub fn task_begin(&mut self) {
        let creator = self.unit().clone();
        let binding = match self.profile {
            Profile::Compat => creator.binding,
            Profile::Isolated => {
                let entries = self.stacks[self.unit_stack().0].clone();
                Some(self.new_stack(entries))
            }
        };
        // [TASK-3]: what the task's `initialize()` does is its own.
        self.active.push(Unit {
            thread: creator.thread,
            binding,
            marks: Vec::new(),
        });
    }

    /// Ends the innermost thread or task; the creator's stack is untouched.
    pub fn unit_end(&mut self) {
        assert!(self.active.len() > 1, "the main thread never ends");
        self.active.pop();
    }
}
