//! The plain data of contexts and states: what the arena and the shared
//! parts hold, with no behaviour beyond construction. Every other module
//! builds on this one; it imports nothing of the crate.
//!
//! Sharing, not copying: a context holds its level, its flag and its origin,
//! and one counted reference to [`Shared`], the parts a builder takes over
//! unchanged ([BLD-1]): the two states and the five opaque slots. Deriving a
//! context therefore copies two words and adds one count; a builder copies
//! `Shared` only when one of its methods changes it. States are plain
//! counted objects (their identity is the object, [ES-7], [CS-5]); only
//! contexts need an arena, for their weak handles.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;

/// A value flytekit only carries along (file access, client, serialization
/// settings, ...): kept and compared by identity ([CTX-1]).
pub type Opaque = Rc<dyn std::any::Any>;

/// Execution modes ([ES-3]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // flytekit's names, one for one
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
    /// [COND-2]: the modes that run on the local machine.
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
    /// The branch being compiled is taken.
    BranchActive,
    /// The branch being compiled is skipped.
    BranchSkipped,
}

/// flytekit's default local file-access provider: what a root context carries
/// ([INIT-3]) and where [ES-8] finds a sandbox directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFileAccess {
    /// Where local execution states work by default ([ES-8]).
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

/// The five fields flytekit only carries along ([CTX-1]).
#[derive(Clone, Default)]
pub struct Slots {
    /// `file_access`
    pub file_access: Option<Opaque>,
    /// `flyte_client`
    pub flyte_client: Option<Opaque>,
    /// `serialization_settings`
    pub serialization_settings: Option<Opaque>,
    /// `output_metadata_tracker`
    pub output_metadata_tracker: Option<Opaque>,
    /// `worker_queue`
    pub worker_queue: Option<Opaque>,
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<Opaque>| o.is_some();
        f.debug_struct("Slots")
            .field("file_access", &set(&self.file_access))
            .field("flyte_client", &set(&self.flyte_client))
            .field("serialization_settings", &set(&self.serialization_settings))
            .field(
                "output_metadata_tracker",
                &set(&self.output_metadata_tracker),
            )
            .field("worker_queue", &set(&self.worker_queue))
            .finish()
    }
}

/// An execution state's fields ([ES-1]..[ES-6]). Only the branch mode
/// changes after construction ([ES-5], [ES-6]), in place.
pub(crate) struct EsData {
    pub(crate) mode: Option<Mode>,
    pub(crate) working_dir: Rc<str>,
    pub(crate) engine_dir: Rc<str>,
    pub(crate) branch_eval_mode: Cell<Option<BranchEvalMode>>,
    pub(crate) user_space_params: Option<Opaque>,
}

/// A node list: an object of its own, which compilation states may share
/// ([CS-4]); appended to in place ([CS-2]).
#[derive(Clone, Default)]
pub struct Nodes(pub(crate) Rc<RefCell<Vec<Opaque>>>);

impl Nodes {
    /// How many nodes the list holds.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }
    /// Whether the list holds no node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

/// A compilation state's fields ([CS-1]..[CS-6]); immutable but for the
/// node list's contents.
pub(crate) struct CsData {
    pub(crate) prefix: Rc<str>,
    pub(crate) mode: i64,
    pub(crate) task_resolver: Option<Opaque>,
    pub(crate) nodes: Nodes,
}

/// What a context shares with the contexts derived from it until one of
/// them changes it ([BLD-1], [BLD-3]).
#[derive(Clone, Default)]
pub(crate) struct Shared {
    pub(crate) execution_state: Option<Rc<EsData>>,
    pub(crate) compilation_state: Option<Rc<CsData>>,
    pub(crate) slots: Slots,
}

/// A yes/no field kept as a byte, not a `bool`. A `bool` lends its spare
/// values to the `Option`s and `Result`s around the structs holding it (a
/// builder, a context in its slot): their tag becomes a byte written inside
/// the struct, and moving the struct reads that byte back within a wider
/// load, which stalls store forwarding. A byte has no spare values, so they
/// use the null of the struct's counted reference instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flag(u8);

impl Flag {
    pub(crate) const fn new(yes: bool) -> Flag {
        Flag(yes as u8)
    }
    pub(crate) fn get(self) -> bool {
        self.0 != 0
    }
}
