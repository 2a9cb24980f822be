//! `ExecutionState` and `CompilationState` (spec section 8), and the files a
//! trace makes that engine directories can run into ([ES-2]).

use super::{
    engine_dir_in, CompilationState, CsId, CtxId, EsId, ExecutionState, Failure, Model, NodeListId,
    OpaqueId,
};
use crate::trace::{Branch, Mode, Slot};
use crate::Profile;

impl Model {
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
            _ => engine_dir_in(working_dir),
        };
        self.make_engine_dir(&engine_dir)?;
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

    /// [ES-2] (compat): making the engine directory fails when a component
    /// of its path is a file the trace made ([`Model::make_file`]); the
    /// sandbox holds none. (isolated): nothing is made, nothing fails.
    fn make_engine_dir(&self, engine_dir: &str) -> Result<(), Failure> {
        if self.profile == Profile::Isolated {
            return Ok(());
        }
        let mut path = String::new();
        for component in engine_dir.split('/') {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(component);
            if self.files.contains(&path) {
                return Err(Failure::EngineDirFailed);
            }
        }
        Ok(())
    }

    /// `make_file`: a file named `path` in the scratch directory, replacing
    /// whatever was there ([ES-2]).
    pub fn make_file(&mut self, path: &str) {
        self.files.insert(path.to_string());
    }

    /// [ES-4] (quirk): falsy means keep, so nothing can be reset to none.
    /// Falsy is none or the empty string here; modes and opaque values never
    /// are ([PORT-3]). The copy is a new state, so it makes its engine directory again
    /// ([ES-2]).
    pub fn es_with_params(
        &mut self,
        es: EsId,
        working_dir: Option<&str>,
        mode: Option<Mode>,
        engine_dir: Option<&str>,
        branch_eval_mode: Option<Branch>,
        user_space_params: Option<OpaqueId>,
    ) -> Result<EsId, Failure> {
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
    }

    /// [ES-5]: in place.
    pub fn take_branch(&mut self, es: EsId) {
        self.exec_states[es.0].branch_eval_mode = Some(Branch::Active);
    }

    /// [ES-6]: in place.
    pub fn branch_complete(&mut self, es: EsId) {
        self.exec_states[es.0].branch_eval_mode = Some(Branch::Skipped);
    }

    /// [COND-2]: `es.is_local_execution()`.
    pub fn is_local_execution(&self, es: EsId) -> bool {
        self.execution_state(es).mode.is_some_and(Mode::is_local)
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
            // and none do not ([PORT-4]).
            _ => match self.context(ctx).fields.slot(Slot::FileAccess) {
                Some(OpaqueId::DefaultFileAccess) => self.sandbox_dir(),
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
        self.new_compilation_state_sharing(prefix, mode, task_resolver, None)
    }

    /// [CS-1]: `CompilationState(prefix, mode, task_resolver, nodes)`, the
    /// node list being that of `nodes_of`, shared even when empty; a new one
    /// when none is given.
    pub fn new_compilation_state_sharing(
        &mut self,
        prefix: &str,
        mode: i64,
        task_resolver: Option<OpaqueId>,
        nodes_of: Option<CsId>,
    ) -> CsId {
        let nodes = match nodes_of {
            Some(s) => self.compilation_state(s).nodes,
            None => self.new_node_list(),
        };
        self.add_compilation_state(prefix, mode, task_resolver, nodes)
    }

    fn new_node_list(&mut self) -> NodeListId {
        self.node_lists.push(Vec::new());
        NodeListId(self.node_lists.len() - 1)
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
        // [CS-3]: a falsy mode (none or 0) or resolver keeps the old one
        // ([PORT-3]: -1 is not falsy).
        let mode = match mode {
            Some(m) if m != 0 => m,
            _ => old.mode,
        };
        let task_resolver = task_resolver.or(old.task_resolver);
        // [CS-4]: a non-empty list is shared; otherwise a new empty one.
        let nodes = match nodes_of.map(|s| self.compilation_state(s).nodes) {
            Some(list) if !self.node_lists[list.0].is_empty() => list,
            _ => self.new_node_list(),
        };
        self.add_compilation_state(prefix, mode, task_resolver, nodes)
    }

    /// [CS-6]: the context's `new_compilation_state`, with the default
    /// resolver (before 1.14, none: [REL-3]).
    pub fn ctx_new_compilation_state(&mut self, _ctx: CtxId, prefix: &str) -> CsId {
        let resolver = self
            .release
            .context_cs_has_resolver()
            .then_some(OpaqueId::DefaultTaskResolver);
        self.new_compilation_state(prefix, 1, resolver)
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
}
