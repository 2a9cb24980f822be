//! What a thread of the implementation port has named, and how it shows
//! those objects to the namer ([OBS-2]..[OBS-6]): registries of strong
//! handles, and the conversions between the crate's enums and the trace's.

use flytectx::{
    BranchEvalMode, CompilationState, Context, ExecutionState, LocalFileAccess, Mode as ImplMode,
    Opaque,
};
use flytectx_model::answer::{ContextView, CsView, EsView, Namer, ObjectView};
use flytectx_model::names::OpaqueName;
use flytectx_model::trace::{Branch, Mode};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};

/// Keys naming objects across threads: the thread's number and the object's
/// identity there (a handle's raw id, or an opaque value's address).
pub(super) type Key = (u32, u64);

/// The port's view of objects, for the shared [`Namer`].
pub(super) struct View<'r> {
    pub(super) thread: u32,
    pub(super) registry: &'r Registry,
}

/// The names of one trace, shared by all its threads ([OBS-4]).
pub(super) type SharedNamer = Arc<Mutex<Namer<Key, Key, Key, Key>>>;

/// The objects a thread has named: strong handles keep them alive and
/// resolvable, as the trace may name them again.
#[derive(Default)]
pub(super) struct Registry {
    pub(super) contexts: Kept<Context>,
    pub(super) exec_states: Kept<ExecutionState>,
    pub(super) comp_states: Kept<CompilationState>,
    pub(super) opaques: Kept<Opaque>,
}

/// Objects of one kind, by their identity in this thread.
pub(super) struct Kept<T>(RefCell<HashMap<u64, T>>);

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept(RefCell::default())
    }
}

impl<T: Clone> Kept<T> {
    /// Keep `value` (once) under `id`; returns `id`.
    pub(super) fn keep(&self, id: u64, value: &T) -> u64 {
        self.0
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| value.clone());
        id
    }
    pub(super) fn get(&self, id: u64) -> Option<T> {
        self.0.borrow().get(&id).cloned()
    }
}

fn opaque_id(o: &Opaque) -> u64 {
    Rc::as_ptr(o) as *const () as usize as u64
}

impl Registry {
    pub(super) fn context(&self, c: &Context) -> u64 {
        self.contexts.keep(c.id(), c)
    }
    pub(super) fn exec_state(&self, e: &ExecutionState) -> u64 {
        self.exec_states.keep(e.id(), e)
    }
    pub(super) fn comp_state(&self, s: &CompilationState) -> u64 {
        self.comp_states.keep(s.id(), s)
    }
    pub(super) fn opaque(&self, o: &Opaque) -> u64 {
        self.opaques.keep(opaque_id(o), o)
    }
}

/// The default sandbox directory, read from the environment once (it is
/// needed for every execution state answered).
fn sandbox() -> &'static str {
    static SANDBOX: OnceLock<String> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        LocalFileAccess::default_sandbox()
            .local_sandbox_dir
            .to_string_lossy()
            .into_owned()
    })
}

/// [OBS-6]
fn sandboxed(dir: &str) -> String {
    flytectx_model::answer::report_dir(dir, sandbox())
}

fn mode_to_spec(m: ImplMode) -> Mode {
    match m {
        ImplMode::TaskExecution => Mode::TaskExecution,
        ImplMode::LocalWorkflowExecution => Mode::LocalWorkflowExecution,
        ImplMode::LocalTaskExecution => Mode::LocalTaskExecution,
        ImplMode::DynamicTaskExecution => Mode::DynamicTaskExecution,
        ImplMode::EagerExecution => Mode::EagerExecution,
        ImplMode::EagerLocalExecution => Mode::EagerLocalExecution,
        ImplMode::LocalDynamicTaskExecution => Mode::LocalDynamicTaskExecution,
    }
}

pub(super) fn mode_to_impl(m: Mode) -> ImplMode {
    match m {
        Mode::TaskExecution => ImplMode::TaskExecution,
        Mode::LocalWorkflowExecution => ImplMode::LocalWorkflowExecution,
        Mode::LocalTaskExecution => ImplMode::LocalTaskExecution,
        Mode::DynamicTaskExecution => ImplMode::DynamicTaskExecution,
        Mode::EagerExecution => ImplMode::EagerExecution,
        Mode::EagerLocalExecution => ImplMode::EagerLocalExecution,
        Mode::LocalDynamicTaskExecution => ImplMode::LocalDynamicTaskExecution,
    }
}

fn branch_to_spec(b: BranchEvalMode) -> Branch {
    match b {
        BranchEvalMode::BranchActive => Branch::Active,
        BranchEvalMode::BranchSkipped => Branch::Skipped,
    }
}

pub(super) fn branch_to_impl(b: Branch) -> BranchEvalMode {
    match b {
        Branch::Active => BranchEvalMode::BranchActive,
        Branch::Skipped => BranchEvalMode::BranchSkipped,
    }
}

impl ObjectView for View<'_> {
    type Ctx = Key;
    type Es = Key;
    type Cs = Key;
    type Opaque = Key;

    fn context(&self, c: Key) -> ContextView<Key, Key, Key> {
        let ctx = self
            .registry
            .contexts
            .get(c.1)
            .expect("a named context is kept");
        let f = ctx.fields().expect("a context kept by its thread is alive");
        let t = self.thread;
        let opaque = |o: &Option<Opaque>| o.as_ref().map(|o| (t, self.registry.opaque(o)));
        ContextView {
            level: f.level,
            in_a_condition: f.in_a_condition,
            compilation_state: f
                .compilation_state
                .as_ref()
                .map(|s| (t, self.registry.comp_state(s))),
            execution_state: f
                .execution_state
                .as_ref()
                .map(|e| (t, self.registry.exec_state(e))),
            slots: [
                opaque(&f.slots.file_access),
                opaque(&f.slots.flyte_client),
                opaque(&f.slots.serialization_settings),
                opaque(&f.slots.output_metadata_tracker),
                opaque(&f.slots.worker_queue),
            ],
        }
    }

    fn execution_state(&self, e: Key) -> EsView<Key> {
        let es = self
            .registry
            .exec_states
            .get(e.1)
            .expect("a named state is kept");
        EsView {
            mode: es.mode().map(mode_to_spec),
            branch_eval_mode: es.branch_eval_mode().map(branch_to_spec),
            working_dir: sandboxed(&es.working_dir()),
            engine_dir: sandboxed(&es.engine_dir()),
            user_space_params: es
                .user_space_params()
                .map(|o| (self.thread, self.registry.opaque(&o))),
        }
    }

    fn compilation_state(&self, s: Key) -> CsView<Key> {
        let cs = self
            .registry
            .comp_states
            .get(s.1)
            .expect("a named state is kept");
        CsView {
            prefix: cs.prefix().to_string(),
            mode: cs.mode(),
            task_resolver: cs
                .task_resolver()
                .map(|o| (self.thread, self.registry.opaque(&o))),
            nodes: cs.nodes().len(),
        }
    }

    fn fixed_name(&self, o: Key) -> Option<OpaqueName> {
        let value = self.registry.opaques.get(o.1)?;
        let same = |d: Option<Opaque>| d.is_some_and(|d| Rc::ptr_eq(&d, &value));
        if same(flytectx::default_file_access()) {
            Some(OpaqueName::DefaultFileAccess)
        } else if same(flytectx::default_task_resolver()) {
            Some(OpaqueName::DefaultTaskResolver)
        } else {
            None
        }
    }
}
