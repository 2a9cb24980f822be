//! Execution and compilation states ([ES-1]..[ES-8], [CS-1]..[CS-6]) and the
//! default objects flytekit provides.

use crate::arena::Arena;
use crate::arena::Handle;
use crate::error::Error;
use crate::heap::{release_with, thread_heap, Arenas, HeapRef, Trash};
use crate::Opaque;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::rc::Rc;

/// Execution modes ([ES-3]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    TaskExecution,
    LocalWorkflowExecution,
    LocalTaskExecution,
    DynamicTaskExecution,
    EagerExecution,
    EagerLocalExecution,
    LocalDynamicTaskExecution,
}

impl Mode {
    /// [COND-2]
    pub fn is_local(self) -> bool {
        matches!(
            self,
            Mode::LocalWorkflowExecution
                | Mode::LocalTaskExecution
                | Mode::EagerLocalExecution
                | Mode::LocalDynamicTaskExecution
        )
    }
}

/// Branch evaluation modes ([ES-3]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BranchEvalMode {
    BranchActive,
    BranchSkipped,
}

/// flytekit's default local file-access provider: what a root context carries
/// ([INIT-3]) and where [ES-8] finds a sandbox directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFileAccess {
    pub local_sandbox_dir: PathBuf,
}

impl LocalFileAccess {
    /// The sandbox under the system's temporary directory. Like flytekit,
    /// nothing is created on disk here.
    pub fn default_sandbox() -> LocalFileAccess {
        LocalFileAccess {
            local_sandbox_dir: std::env::temp_dir().join("flytectx").join("sandbox"),
        }
    }
}

/// flytekit's default task resolver ([CS-6]), as an opaque marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultTaskResolver;

/// The user-space parameters `initialize` gives a root ([INIT-4]); a new one
/// each time.
#[derive(Debug, Default)]
pub struct LocalUserSpaceParams;

pub(crate) struct EsData {
    pub(crate) mode: Option<Mode>,
    pub(crate) working_dir: Rc<str>,
    pub(crate) engine_dir: Rc<str>,
    pub(crate) branch_eval_mode: Option<BranchEvalMode>,
    pub(crate) user_space_params: Option<Opaque>,
}

/// A node list: an object of its own, which compilation states may share ([CS-4]).
#[derive(Clone, Default)]
pub struct Nodes(Rc<RefCell<Vec<Opaque>>>);

impl Nodes {
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether this is the only handle to the list.
    pub(crate) fn is_last(&self) -> bool {
        Rc::strong_count(&self.0) == 1
    }
    /// Whether two handles name the same list.
    pub fn same(&self, other: &Nodes) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Nodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Nodes({})", self.len())
    }
}

pub(crate) struct CsData {
    pub(crate) prefix: Rc<str>,
    pub(crate) mode: i64,
    pub(crate) task_resolver: Option<Opaque>,
    pub(crate) nodes: Nodes,
}

/// What tells the two kinds of state apart for [`Strong`]: where they live.
pub(crate) trait StateKind {
    type Data;
    fn arena(a: &Arenas) -> &Arena<Self::Data>;
    fn arena_mut(a: &mut Arenas) -> &mut Arena<Self::Data>;
    fn release(a: &mut Arenas, h: Handle, trash: &mut Trash);
}

pub(crate) enum EsKind {}
pub(crate) enum CsKind {}

impl StateKind for EsKind {
    type Data = EsData;
    fn arena(a: &Arenas) -> &Arena<EsData> {
        &a.exec_states
    }
    fn arena_mut(a: &mut Arenas) -> &mut Arena<EsData> {
        &mut a.exec_states
    }
    fn release(a: &mut Arenas, h: Handle, trash: &mut Trash) {
        a.release_es(h, trash)
    }
}

impl StateKind for CsKind {
    type Data = CsData;
    fn arena(a: &Arenas) -> &Arena<CsData> {
        &a.comp_states
    }
    fn arena_mut(a: &mut Arenas) -> &mut Arena<CsData> {
        &mut a.comp_states
    }
    fn release(a: &mut Arenas, h: Handle, trash: &mut Trash) {
        a.release_cs(h, trash)
    }
}

/// A strong handle to a state: one owner of it, so it is always alive, and
/// it keeps the heap alive too. Both state types are this, with their own
/// methods on top.
pub(crate) struct Strong<K: StateKind> {
    pub(crate) heap: HeapRef,
    pub(crate) h: Handle,
    _kind: KindMarker<K>,
}

/// Names the kind without owning one, and keeps handles out of other threads.
type KindMarker<K> = PhantomData<(fn() -> K, *const ())>;

impl<K: StateKind> Strong<K> {
    /// Store a new state with this handle as its one owner.
    pub(crate) fn insert(heap: HeapRef, data: K::Data) -> Strong<K> {
        let h = K::arena_mut(&mut heap.borrow_mut().arenas).insert(data);
        Strong {
            heap,
            h,
            _kind: PhantomData,
        }
    }

    /// A strong handle for `h`, adding an owner.
    pub(crate) fn retained(heap: &HeapRef, h: Handle) -> Strong<K> {
        let alive = K::arena_mut(&mut heap.borrow_mut().arenas).retain(h);
        debug_assert!(alive, "retained a live state");
        Strong {
            heap: Rc::clone(heap),
            h,
            _kind: PhantomData,
        }
    }

    fn read<R>(&self, f: impl FnOnce(&K::Data) -> R) -> R {
        let heap = self.heap.borrow();
        f(K::arena(&heap.arenas)
            .get(self.h)
            .expect("a strong handle keeps its state alive"))
    }

    fn write<R>(&self, f: impl FnOnce(&mut K::Data) -> R) -> R {
        let mut heap = self.heap.borrow_mut();
        f(K::arena_mut(&mut heap.arenas)
            .get_mut(self.h)
            .expect("a strong handle keeps its state alive"))
    }
}

impl<K: StateKind> Clone for Strong<K> {
    fn clone(&self) -> Self {
        Self::retained(&self.heap, self.h)
    }
}

impl<K: StateKind> Drop for Strong<K> {
    fn drop(&mut self) {
        release_with(&self.heap, |a, trash| K::release(a, self.h, trash));
    }
}

impl<K: StateKind> PartialEq for Strong<K> {
    fn eq(&self, other: &Self) -> bool {
        self.h == other.h && Rc::ptr_eq(&self.heap, &other.heap)
    }
}
impl<K: StateKind> Eq for Strong<K> {}

/// A strong handle to an execution state ([ES-7]: identity is the object).
/// Cloning adds an owner; the state lives while any owner does.
#[derive(Clone, PartialEq, Eq)]
pub struct ExecutionState(pub(crate) Strong<EsKind>);

/// A strong handle to a compilation state ([CS-5]).
#[derive(Clone, PartialEq, Eq)]
pub struct CompilationState(pub(crate) Strong<CsKind>);

/// Falsy means "keep" ([ES-4]).
fn keep(given: Option<&str>, old: &Rc<str>) -> Rc<str> {
    match given {
        Some(s) if !s.is_empty() => Rc::from(s),
        _ => Rc::clone(old),
    }
}

impl ExecutionState {
    /// [ES-1], [ES-2]: `ExecutionState(working_dir, mode, engine_dir, branch_eval_mode, user_space_params)`.
    pub fn new(
        working_dir: &str,
        mode: Option<Mode>,
        engine_dir: Option<&str>,
        branch_eval_mode: Option<BranchEvalMode>,
        user_space_params: Option<Opaque>,
    ) -> Result<ExecutionState, Error> {
        let heap = thread_heap().ok_or(Error::ThreadExiting)?;
        if working_dir.is_empty() {
            return Err(Error::InvalidWorkingDir);
        }
        let engine_dir: Rc<str> = match engine_dir {
            Some(e) if !e.is_empty() => Rc::from(e),
            _ => Rc::from(format!("{working_dir}/engine_dir")),
        };
        let data = EsData {
            mode,
            working_dir: Rc::from(working_dir),
            engine_dir,
            branch_eval_mode,
            user_space_params,
        };
        Ok(ExecutionState(Strong::insert(heap, data)))
    }

    fn read<R>(&self, f: impl FnOnce(&EsData) -> R) -> R {
        self.0.read(f)
    }

    /// [ES-4] (quirk): a new state; every `None` or empty argument keeps this
    /// state's value, so nothing can be reset to none through it.
    pub fn with_params(
        &self,
        working_dir: Option<&str>,
        mode: Option<Mode>,
        engine_dir: Option<&str>,
        branch_eval_mode: Option<BranchEvalMode>,
        user_space_params: Option<Opaque>,
    ) -> ExecutionState {
        let data = self.read(|old| EsData {
            mode: mode.or(old.mode),
            working_dir: keep(working_dir, &old.working_dir),
            // The old engine dir is passed on, never derived again.
            engine_dir: keep(engine_dir, &old.engine_dir),
            branch_eval_mode: branch_eval_mode.or(old.branch_eval_mode),
            user_space_params: user_space_params.or_else(|| old.user_space_params.clone()),
        });
        ExecutionState(Strong::insert(Rc::clone(&self.0.heap), data))
    }

    /// [ES-5]: in place, seen by every context holding this state.
    pub fn take_branch(&self) {
        self.set_branch(BranchEvalMode::BranchActive)
    }

    /// [ES-6]: in place.
    pub fn branch_complete(&self) {
        self.set_branch(BranchEvalMode::BranchSkipped)
    }

    fn set_branch(&self, b: BranchEvalMode) {
        self.0.write(|d| d.branch_eval_mode = Some(b));
    }

    pub fn mode(&self) -> Option<Mode> {
        self.read(|d| d.mode)
    }
    pub fn branch_eval_mode(&self) -> Option<BranchEvalMode> {
        self.read(|d| d.branch_eval_mode)
    }
    pub fn working_dir(&self) -> Rc<str> {
        self.read(|d| Rc::clone(&d.working_dir))
    }
    pub fn engine_dir(&self) -> Rc<str> {
        self.read(|d| Rc::clone(&d.engine_dir))
    }
    pub fn user_space_params(&self) -> Option<Opaque> {
        self.read(|d| d.user_space_params.clone())
    }
    /// [COND-2]
    pub fn is_local_execution(&self) -> bool {
        self.mode().is_some_and(Mode::is_local)
    }
    /// A number that identifies this state among the live objects of its thread.
    pub fn id(&self) -> u64 {
        self.0.h.raw()
    }
}

impl std::fmt::Debug for ExecutionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.read(|d| {
            f.debug_struct("ExecutionState")
                .field("id", &self.id())
                .field("mode", &d.mode)
                .field("branch_eval_mode", &d.branch_eval_mode)
                .field("working_dir", &d.working_dir)
                .field("engine_dir", &d.engine_dir)
                .finish()
        })
    }
}

impl CompilationState {
    /// [CS-1]: `CompilationState(prefix, mode, task_resolver)` with an empty node list.
    pub fn new(
        prefix: &str,
        mode: i64,
        task_resolver: Option<Opaque>,
    ) -> Result<CompilationState, Error> {
        let heap = thread_heap().ok_or(Error::ThreadExiting)?;
        Ok(CompilationState(Strong::insert(
            heap,
            CsData {
                prefix: Rc::from(prefix),
                mode,
                task_resolver,
                nodes: Nodes::default(),
            },
        )))
    }

    fn read<R>(&self, f: impl FnOnce(&CsData) -> R) -> R {
        self.0.read(f)
    }

    /// [CS-3], [CS-4] (quirks): a falsy prefix becomes `""`; a falsy mode (none
    /// or 0) or resolver keeps this state's; a non-empty `nodes` list is shared,
    /// anything else gives a new empty list.
    pub fn with_params(
        &self,
        prefix: Option<&str>,
        mode: Option<i64>,
        task_resolver: Option<Opaque>,
        nodes: Option<Nodes>,
    ) -> CompilationState {
        let data = self.read(|old| CsData {
            prefix: Rc::from(prefix.unwrap_or("")),
            mode: mode.filter(|&m| m != 0).unwrap_or(old.mode),
            task_resolver: task_resolver.or_else(|| old.task_resolver.clone()),
            nodes: nodes.filter(|n| !n.is_empty()).unwrap_or_default(),
        });
        CompilationState(Strong::insert(Rc::clone(&self.0.heap), data))
    }

    /// [CS-2]: append in place; every state sharing the list sees it.
    pub fn add_node(&self, node: Opaque) {
        let nodes = self.nodes();
        nodes.0.borrow_mut().push(node);
    }

    pub fn prefix(&self) -> Rc<str> {
        self.read(|d| Rc::clone(&d.prefix))
    }
    pub fn mode(&self) -> i64 {
        self.read(|d| d.mode)
    }
    pub fn task_resolver(&self) -> Option<Opaque> {
        self.read(|d| d.task_resolver.clone())
    }
    /// The node list itself (shared, not copied).
    pub fn nodes(&self) -> Nodes {
        self.read(|d| d.nodes.clone())
    }
    pub fn id(&self) -> u64 {
        self.0.h.raw()
    }
}

impl std::fmt::Debug for CompilationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.read(|d| {
            f.debug_struct("CompilationState")
                .field("id", &self.id())
                .field("prefix", &d.prefix)
                .field("mode", &d.mode)
                .field("nodes", &d.nodes)
                .finish()
        })
    }
}
