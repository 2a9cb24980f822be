//! Execution and compilation states ([ES-1]..[ES-8], [CS-1]..[CS-6]): counted
//! objects whose identity is the object ([ES-7], [CS-5]). A handle keeps its
//! state alive; contexts and builders holding it are owners too.

use crate::data::{BranchEvalMode, CsData, EsData, Mode, Nodes, Opaque};
use crate::error::Error;
use std::cell::Cell;
use std::rc::Rc;

/// A handle to an execution state. Cloning adds an owner; the state lives
/// while any owner does. Two handles are equal when they name the same state.
#[derive(Clone)]
pub struct ExecutionState(pub(crate) Rc<EsData>);

/// A handle to a compilation state, like [`ExecutionState`].
#[derive(Clone)]
pub struct CompilationState(pub(crate) Rc<CsData>);

impl PartialEq for ExecutionState {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for ExecutionState {}

impl PartialEq for CompilationState {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for CompilationState {}

/// Falsy means "keep" ([ES-4]).
fn keep(given: Option<&str>, old: &Rc<str>) -> Rc<str> {
    match given {
        Some(s) if !s.is_empty() => Rc::from(s),
        _ => Rc::clone(old),
    }
}

/// The identity of a counted object, as a number.
fn address<T>(rc: &Rc<T>) -> u64 {
    Rc::as_ptr(rc) as usize as u64
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
        if working_dir.is_empty() {
            return Err(Error::InvalidWorkingDir);
        }
        let engine_dir: Rc<str> = match engine_dir {
            Some(e) if !e.is_empty() => Rc::from(e),
            _ => Rc::from(format!("{working_dir}/engine_dir")),
        };
        Ok(ExecutionState::from_data(EsData {
            mode,
            working_dir: Rc::from(working_dir),
            engine_dir,
            branch_eval_mode: Cell::new(branch_eval_mode),
            user_space_params,
        }))
    }

    pub(crate) fn from_data(data: EsData) -> ExecutionState {
        ExecutionState(Rc::new(data))
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
        let old = &self.0;
        ExecutionState::from_data(EsData {
            mode: mode.or(old.mode),
            working_dir: keep(working_dir, &old.working_dir),
            // The old engine dir is passed on, never derived again.
            engine_dir: keep(engine_dir, &old.engine_dir),
            branch_eval_mode: Cell::new(branch_eval_mode.or(old.branch_eval_mode.get())),
            user_space_params: user_space_params.or_else(|| old.user_space_params.clone()),
        })
    }

    /// [ES-5]: in place, seen by every context holding this state.
    pub fn take_branch(&self) {
        self.0
            .branch_eval_mode
            .set(Some(BranchEvalMode::BranchActive));
    }

    /// [ES-6]: in place.
    pub fn branch_complete(&self) {
        self.0
            .branch_eval_mode
            .set(Some(BranchEvalMode::BranchSkipped));
    }

    /// The execution mode ([ES-3]).
    pub fn mode(&self) -> Option<Mode> {
        self.0.mode
    }
    /// The branch evaluation mode ([ES-3], [ES-5], [ES-6]).
    pub fn branch_eval_mode(&self) -> Option<BranchEvalMode> {
        self.0.branch_eval_mode.get()
    }
    /// The working directory ([ES-1]).
    pub fn working_dir(&self) -> Rc<str> {
        Rc::clone(&self.0.working_dir)
    }
    /// The engine directory ([ES-2]).
    pub fn engine_dir(&self) -> Rc<str> {
        Rc::clone(&self.0.engine_dir)
    }
    /// The user-space parameters ([CTX-3]).
    pub fn user_space_params(&self) -> Option<Opaque> {
        self.0.user_space_params.clone()
    }
    /// [COND-2]
    pub fn is_local_execution(&self) -> bool {
        self.mode().is_some_and(Mode::is_local)
    }
    /// A number that identifies this state among the live objects of its thread.
    pub fn id(&self) -> u64 {
        address(&self.0)
    }
}

impl std::fmt::Debug for ExecutionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.0;
        f.debug_struct("ExecutionState")
            .field("id", &self.id())
            .field("mode", &d.mode)
            .field("branch_eval_mode", &d.branch_eval_mode.get())
            .field("working_dir", &d.working_dir)
            .field("engine_dir", &d.engine_dir)
            .finish()
    }
}

impl CompilationState {
    /// [CS-1]: `CompilationState(prefix, mode, task_resolver)` with an empty node list.
    pub fn new(prefix: &str, mode: i64, task_resolver: Option<Opaque>) -> CompilationState {
        CompilationState::with_nodes(prefix, mode, task_resolver, Nodes::default())
    }

    /// [CS-1]: `CompilationState(prefix, mode, task_resolver, nodes)`: it
    /// holds `nodes` itself, shared with whoever else holds that list, even
    /// an empty one (unlike [`CompilationState::with_params`], [CS-4]).
    pub fn with_nodes(
        prefix: &str,
        mode: i64,
        task_resolver: Option<Opaque>,
        nodes: Nodes,
    ) -> CompilationState {
        CompilationState::from_data(CsData {
            prefix: Rc::from(prefix),
            mode,
            task_resolver,
            nodes,
        })
    }

    pub(crate) fn from_data(data: CsData) -> CompilationState {
        CompilationState(Rc::new(data))
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
        let old = &self.0;
        CompilationState::from_data(CsData {
            prefix: Rc::from(prefix.unwrap_or("")),
            mode: mode.filter(|&m| m != 0).unwrap_or(old.mode),
            task_resolver: task_resolver.or_else(|| old.task_resolver.clone()),
            nodes: nodes.filter(|n| !n.is_empty()).unwrap_or_default(),
        })
    }

    /// [CS-2]: append in place; every state sharing the list sees it.
    pub fn add_node(&self, node: Opaque) {
        self.0.nodes.0.borrow_mut().push(node);
    }

    /// The prefix ([CS-1]).
    pub fn prefix(&self) -> Rc<str> {
        Rc::clone(&self.0.prefix)
    }
    /// The compilation mode ([CS-1]).
    pub fn mode(&self) -> i64 {
        self.0.mode
    }
    /// The task resolver ([CS-1], [CS-6]).
    pub fn task_resolver(&self) -> Option<Opaque> {
        self.0.task_resolver.clone()
    }
    /// The node list itself (shared, not copied).
    pub fn nodes(&self) -> Nodes {
        self.0.nodes.clone()
    }
    /// A number that identifies this state among the live objects of its thread.
    pub fn id(&self) -> u64 {
        address(&self.0)
    }
}

impl std::fmt::Debug for CompilationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.0;
        f.debug_struct("CompilationState")
            .field("id", &self.id())
            .field("prefix", &d.prefix)
            .field("mode", &d.mode)
            .field("nodes", &d.nodes)
            .finish()
    }
}
