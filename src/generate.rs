//! Random traces, as proptest strategies.
//!
//! A strategy produces a list of *moves*: operations whose object arguments
//! are selectors, not names. [`concretize`] turns moves into a valid trace by
//! running the model alongside: a selector picks, modulo their number, among
//! the names usable at that point ([TRACE-7]); a closer that matches no open
//! bracket is dropped; open brackets are closed at the end. Because any list
//! of moves gives a valid trace, proptest can shrink the list freely (drop
//! moves, lower selectors) and every candidate is still a trace.

use crate::run::Expected;
use flytectx_model::names::AnyName;
use flytectx_model::port::UsableNames;
use flytectx_model::trace::{Bracket, Branch, DirName, Mode, Slot, Step, Then, MAX_ORIGIN_LIMIT};
use flytectx_model::unwind::{DrivenStep, Outcome, Unwinder};
use flytectx_model::{Answer, Claim, Feature, ModelPort, Op, Release};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng};

/// A builder step with selectors.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum StepMove {
    /// `context_with_new_compilation_state`; kept only as the first step.
    CtxNewCs,
    Cond,
    NewCs,
    Es(Option<u8>),
    Cs(Option<u8>),
    Slot(u8, Option<u8>),
}

/// One move: an operation with selectors for its arguments.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Move {
    Initialize,
    Current,
    Size,
    Push(u8),
    Pop,
    NewContext(Option<u8>),
    Build(u8, Vec<StepMove>),
    WithOpen(u8, Vec<StepMove>),
    /// Close the innermost `with`, raising when true.
    WithClose(bool),
    Observe(u8, u8),
    UserSpaceParams(u8),
    NewOpaque,
    NewEs {
        wd: u8,
        mode: Option<u8>,
        engine: Option<u8>,
        branch: Option<bool>,
        usp: Option<u8>,
    },
    EsWithParams {
        es: u8,
        wd: Option<u8>,
        mode: Option<u8>,
        engine: Option<u8>,
        branch: Option<bool>,
        usp: Option<u8>,
    },
    CtxNewEs(u8, Option<u8>),
    TakeBranch(u8),
    BranchComplete(u8),
    NewCs {
        prefix: u8,
        mode: u8,
        resolver: Option<u8>,
        nodes_of: Option<u8>,
    },
    CsWithParams {
        cs: u8,
        prefix: Option<u8>,
        mode: Option<u8>,
        resolver: Option<u8>,
        nodes_of: Option<u8>,
    },
    CtxNewCs(u8, u8),
    AddNode(u8),
    AddSignalHandler(u8, Option<ThenMove>),
    SetProgramHandler(u8),
    SigintHandler,
    /// A `sigint` before the end; if it ends the process, so does the trace.
    Sigint,
    Origin(u8),
    OriginFrame(u8),
    /// A context, and which earlier operation is its origin.
    PushWithOrigin(u8, u8),
    WithDrop,
    MakeFile(u8),
    IsLocal(u8),
    BuilderNewEs(u8, Vec<StepMove>, Option<u8>),
    BuilderNewCs(u8, Vec<StepMove>, u8),
    ThreadOpen,
    ThreadClose,
    TaskOpen,
    TaskClose,
    Reset,
}

/// What a signal handler does after it records itself.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ThenMove {
    Raise,
    Add(u8),
}

/// Small pools, so that values repeat and collide: empty strings exercise
/// the falsy rules ([ES-4], [CS-3]).
const WORKING_DIRS: [&str; 4] = ["", "w0", "w1", "w2"];
const ENGINE_DIRS: [&str; 3] = ["", "e0", "e1"];
const PREFIXES: [&str; 3] = ["", "p", "q"];
/// Files a trace makes: the directory names above, so that engine
/// directories run into them ([ES-2]).
const FILES: [&str; 4] = ["w0", "w1", "e0", "e1"];
/// `origin_frame` limits: each case of [ORIG-4], and the largest.
const LIMITS: [u8; 5] = [0, 1, 2, 3, MAX_ORIGIN_LIMIT];
const CS_MODES: [i64; 5] = [0, 1, 2, 3, -1];
/// How deep brackets may nest in a random trace.
const MAX_OPEN: usize = 6;

fn step_move() -> impl Strategy<Value = StepMove> {
    prop_oneof![
        1 => Just(StepMove::CtxNewCs),
        4 => Just(StepMove::Cond),
        1 => Just(StepMove::NewCs),
        2 => proptest::option::of(any::<u8>()).prop_map(StepMove::Es),
        2 => proptest::option::of(any::<u8>()).prop_map(StepMove::Cs),
        1 => (any::<u8>(), proptest::option::of(any::<u8>())).prop_map(|(s, o)| StepMove::Slot(s, o)),
    ]
}

fn steps() -> impl Strategy<Value = Vec<StepMove>> {
    proptest::collection::vec(step_move(), 0..4)
}

fn then_move() -> impl Strategy<Value = ThenMove> {
    prop_oneof![
        1 => Just(ThenMove::Raise),
        1 => any::<u8>().prop_map(ThenMove::Add),
    ]
}

fn sel() -> impl Strategy<Value = Option<u8>> {
    proptest::option::of(any::<u8>())
}

/// One move, weighted towards the stack operations.
pub fn a_move() -> impl Strategy<Value = Move> {
    let u = any::<u8>;
    prop_oneof![
        2 => Just(Move::Initialize),
        6 => Just(Move::Current),
        4 => Just(Move::Size),
        6 => u().prop_map(Move::Push),
        6 => Just(Move::Pop),
        1 => sel().prop_map(Move::NewContext),
        6 => (u(), steps()).prop_map(|(c, s)| Move::Build(c, s)),
        6 => (u(), steps()).prop_map(|(c, s)| Move::WithOpen(c, s)),
        6 => proptest::bool::weighted(0.2).prop_map(Move::WithClose),
        3 => (u(), u()).prop_map(|(k, s)| Move::Observe(k, s)),
        1 => u().prop_map(Move::UserSpaceParams),
        1 => Just(Move::NewOpaque),
        3 => (u(), sel(), sel(), proptest::option::of(any::<bool>()), sel())
            .prop_map(|(wd, mode, engine, branch, usp)| Move::NewEs { wd, mode, engine, branch, usp }),
        2 => (u(), sel(), sel(), sel(), proptest::option::of(any::<bool>()), sel())
            .prop_map(|(es, wd, mode, engine, branch, usp)| Move::EsWithParams { es, wd, mode, engine, branch, usp }),
        1 => (u(), sel()).prop_map(|(c, wd)| Move::CtxNewEs(c, wd)),
        2 => u().prop_map(Move::TakeBranch),
        2 => u().prop_map(Move::BranchComplete),
        2 => (u(), u(), sel(), proptest::option::weighted(0.2, u()))
            .prop_map(|(prefix, mode, resolver, nodes_of)| Move::NewCs { prefix, mode, resolver, nodes_of }),
        2 => (u(), sel(), sel(), sel(), sel())
            .prop_map(|(cs, prefix, mode, resolver, nodes_of)| Move::CsWithParams { cs, prefix, mode, resolver, nodes_of }),
        1 => (u(), u()).prop_map(|(c, p)| Move::CtxNewCs(c, p)),
        2 => u().prop_map(Move::AddNode),
        2 => (u(), proptest::option::weighted(0.3, then_move()))
            .prop_map(|(t, then)| Move::AddSignalHandler(t, then)),
        1 => u().prop_map(Move::SetProgramHandler),
        1 => Just(Move::SigintHandler),
        1 => Just(Move::Sigint),
        3 => u().prop_map(Move::Origin),
        1 => u().prop_map(Move::OriginFrame),
        2 => (u(), u()).prop_map(|(c, o)| Move::PushWithOrigin(c, o)),
        2 => Just(Move::WithDrop),
        1 => u().prop_map(Move::MakeFile),
        1 => u().prop_map(Move::IsLocal),
        1 => (u(), steps(), sel()).prop_map(|(c, s, wd)| Move::BuilderNewEs(c, s, wd)),
        1 => (u(), steps(), u()).prop_map(|(c, s, p)| Move::BuilderNewCs(c, s, p)),
        2 => Just(Move::ThreadOpen),
        2 => Just(Move::ThreadClose),
        2 => Just(Move::TaskOpen),
        2 => Just(Move::TaskClose),
        1 => Just(Move::Reset),
    ]
}

/// A whole random trace: up to `max_len` moves, and whether it ends with
/// `sigint` ([TRACE-6]).
pub fn moves(max_len: usize) -> impl Strategy<Value = (Vec<Move>, bool)> {
    (
        proptest::collection::vec(a_move(), 0..=max_len),
        proptest::bool::weighted(0.05),
    )
}

fn pick<T: Copy>(from: &[T], s: u8) -> Option<T> {
    (!from.is_empty()).then(|| from[s as usize % from.len()])
}

fn pick_opt<T: Copy>(from: &[T], s: Option<u8>) -> Option<Option<T>> {
    match s {
        None => Some(None),
        Some(s) => pick(from, s).map(Some),
    }
}

fn dir(pool: &[&str], s: u8) -> DirName {
    DirName::new(pool[s as usize % pool.len()]).expect("pool entries are valid directory names")
}

/// [REL-2]: a mode the release has (the three oldest modes are in every release).
fn mode(s: u8, release: Release) -> Mode {
    let modes: Vec<Mode> = Mode::ALL
        .into_iter()
        .filter(|&m| release.has_mode(m))
        .collect();
    modes[s as usize % modes.len()]
}

/// [REL-2]: a slot whose builder setter the release has (`with_file_access`
/// is in every release).
fn slot(s: u8, release: Release) -> Slot {
    let slots: Vec<Slot> = Slot::ALL
        .into_iter()
        .filter(|&s| release.has_setter(s))
        .collect();
    slots[s as usize % slots.len()]
}

fn branch(active: bool) -> Branch {
    if active {
        Branch::Active
    } else {
        Branch::Skipped
    }
}

/// The step a step move stands for; Some(None) when the claim has no such
/// step (it is left out of the builder), None when it needs a name of a kind
/// there is none of yet.
fn step(m: &StepMove, names: &UsableNames, claim: &Claim) -> Option<Option<Step>> {
    let allowed = |f: Feature| claim.features.contains(f);
    Some(Some(match m {
        StepMove::CtxNewCs if allowed(Feature::CompilationStates) => {
            Step::ContextWithNewCompilationState
        }
        StepMove::Cond if allowed(Feature::Conditionals) => Step::EnterConditionalSection,
        StepMove::NewCs if allowed(Feature::CompilationStates) => Step::WithNewCompilationState,
        StepMove::Es(s) if allowed(Feature::ExecutionStates) => {
            Step::WithExecutionState(pick_opt(&names.exec_states, *s)?)
        }
        StepMove::Cs(s) if allowed(Feature::CompilationStates) => {
            Step::WithCompilationState(pick_opt(&names.comp_states, *s)?)
        }
        StepMove::Slot(which, s) if allowed(Feature::Builders) => Step::WithSlot(
            slot(*which, claim.target.release),
            pick_opt(&names.opaques, *s)?,
        ),
        _ => return Some(None),
    }))
}

/// The operation a move stands for, given the usable names and the claim
/// ([FEAT-3], [REL-2]), or None when it needs a name of a kind there is
/// none of yet, or a feature the claim does not have.
fn operation(m: &Move, names: &UsableNames, claim: &Claim, sent: u32) -> Option<Op> {
    let release = claim.target.release;
    let steps = |s: &[StepMove]| -> Option<Vec<Step>> {
        let resolved = s
            .iter()
            .map(|m| step(m, names, claim))
            .collect::<Option<Vec<_>>>()?;
        let mut steps: Vec<Step> = resolved.into_iter().flatten().collect();
        // [TRACE-3]: the context's own `with_new_compilation_state` only first.
        let mut first = true;
        steps.retain(|s| {
            let keep = first || *s != Step::ContextWithNewCompilationState;
            first = false;
            keep
        });
        Some(steps)
    };
    let mode = |s: u8| mode(s, release);
    let op = Some(match m {
        Move::Initialize => Op::Initialize,
        Move::Current => Op::Current,
        Move::Size => Op::Size,
        Move::Push(c) => Op::Push {
            ctx: pick(&names.contexts, *c)?,
        },
        Move::Pop => Op::Pop,
        Move::NewContext(o) => Op::NewContext {
            file_access: pick_opt(&names.opaques, *o)?,
        },
        Move::Build(c, s) => Op::Build {
            from: pick(&names.contexts, *c)?,
            steps: steps(s)?,
        },
        Move::WithOpen(c, s) => Op::WithEnter {
            from: pick(&names.contexts, *c)?,
            steps: steps(s)?,
        },
        Move::WithClose(raise) => Op::WithExit {
            raise: raise.then(|| "user_error".to_string()),
        },
        Move::Observe(kind, s) => Op::Observe {
            target: match kind % 4 {
                0 => AnyName::Ctx(pick(&names.contexts, *s)?),
                1 => AnyName::Es(pick(&names.exec_states, *s)?),
                2 => AnyName::Cs(pick(&names.comp_states, *s)?),
                _ => AnyName::Opaque(pick(&names.opaques, *s)?),
            },
        },
        Move::UserSpaceParams(c) => Op::UserSpaceParams {
            ctx: pick(&names.contexts, *c)?,
        },
        Move::NewOpaque => Op::NewOpaque,
        Move::NewEs {
            wd,
            mode: m,
            engine,
            branch: b,
            usp,
        } => Op::NewEs {
            working_dir: dir(&WORKING_DIRS, *wd),
            mode: m.map(mode),
            engine_dir: engine.map(|e| dir(&ENGINE_DIRS, e)),
            branch_eval_mode: b.map(branch),
            user_space_params: pick_opt(&names.opaques, *usp)?,
        },
        Move::EsWithParams {
            es,
            wd,
            mode: m,
            engine,
            branch: b,
            usp,
        } => Op::EsWithParams {
            es: pick(&names.exec_states, *es)?,
            working_dir: wd.map(|w| dir(&WORKING_DIRS, w)),
            mode: m.map(mode),
            engine_dir: engine.map(|e| dir(&ENGINE_DIRS, e)),
            branch_eval_mode: b.map(branch),
            user_space_params: pick_opt(&names.opaques, *usp)?,
        },
        Move::CtxNewEs(c, wd) => Op::CtxNewEs {
            ctx: pick(&names.contexts, *c)?,
            working_dir: wd.map(|w| dir(&WORKING_DIRS, w)),
        },
        Move::TakeBranch(e) => Op::TakeBranch {
            es: pick(&names.exec_states, *e)?,
        },
        Move::BranchComplete(e) => Op::BranchComplete {
            es: pick(&names.exec_states, *e)?,
        },
        Move::NewCs {
            prefix,
            mode: m,
            resolver,
            nodes_of,
        } => Op::NewCs {
            prefix: PREFIXES[*prefix as usize % PREFIXES.len()].to_string(),
            mode: CS_MODES[*m as usize % CS_MODES.len()],
            task_resolver: pick_opt(&names.opaques, *resolver)?,
            nodes_of: pick_opt(&names.comp_states, *nodes_of)?,
        },
        Move::CsWithParams {
            cs,
            prefix,
            mode: m,
            resolver,
            nodes_of,
        } => Op::CsWithParams {
            cs: pick(&names.comp_states, *cs)?,
            prefix: prefix.map(|p| PREFIXES[p as usize % PREFIXES.len()].to_string()),
            mode: m.map(|m| CS_MODES[m as usize % CS_MODES.len()]),
            task_resolver: pick_opt(&names.opaques, *resolver)?,
            nodes_of: pick_opt(&names.comp_states, *nodes_of)?,
        },
        Move::CtxNewCs(c, p) => Op::CtxNewCs {
            ctx: pick(&names.contexts, *c)?,
            prefix: PREFIXES[*p as usize % PREFIXES.len()].to_string(),
        },
        Move::AddNode(s) => Op::AddNode {
            cs: pick(&names.comp_states, *s)?,
        },
        Move::AddSignalHandler(t, then) => Op::AddSignalHandler {
            tag: format!("h{}", t % 8),
            then: then.as_ref().map(|t| match t {
                ThenMove::Raise => Then::Raise("handler_error".to_string()),
                ThenMove::Add(t) => Then::Add(format!("h{}", t % 8)),
            }),
        },
        Move::SetProgramHandler(t) => Op::SetProgramHandler {
            tag: format!("p{}", t % 4),
        },
        Move::SigintHandler => Op::SigintHandler,
        Move::Sigint => Op::Sigint,
        Move::Origin(c) => Op::OriginOf {
            ctx: pick(&names.contexts, *c)?,
        },
        Move::OriginFrame(l) => Op::OriginFrame {
            limit: LIMITS[*l as usize % LIMITS.len()],
        },
        // [TRACE-4]: an operation up to this one, which is number `sent + 1`.
        Move::PushWithOrigin(c, o) => Op::PushWithOrigin {
            ctx: pick(&names.contexts, *c)?,
            origin: 1 + u32::from(*o) % (sent + 1),
        },
        Move::WithDrop => Op::WithDrop,
        Move::MakeFile(f) => Op::MakeFile {
            path: dir(&FILES, *f),
        },
        Move::IsLocal(e) => Op::IsLocalExecution {
            es: pick(&names.exec_states, *e)?,
        },
        Move::BuilderNewEs(c, s, wd) => Op::BuilderNewEs {
            from: pick(&names.contexts, *c)?,
            steps: steps(s)?,
            working_dir: wd.map(|w| dir(&WORKING_DIRS, w)),
        },
        Move::BuilderNewCs(c, s, p) => Op::BuilderNewCs {
            from: pick(&names.contexts, *c)?,
            steps: steps(s)?,
            prefix: PREFIXES[*p as usize % PREFIXES.len()].to_string(),
        },
        Move::ThreadOpen => Op::ThreadBegin,
        Move::ThreadClose => Op::ThreadEnd,
        Move::TaskOpen => Op::TaskBegin,
        Move::TaskClose => Op::TaskEnd,
        Move::Reset => Op::Reset,
    })?;
    claim.unavailable(&op).is_none().then_some(op)
}

/// What the usable names depend on: the `reset`s sent, and
/// [`ModelPort::usable_names_key`].
type NamesKey = (u32, (usize, usize));

/// The model, kept in step with the trace being written, so that moves can
/// pick names that exist.
/// As it writes the trace it drives it as a runner would ([RUN-1]..[RUN-4]),
/// so what it writes comes with what to send and what to expect: the same
/// [`Expected`] that [`crate::run::expect`] would compute again.
struct Writer {
    port: ModelPort,
    unwinder: Unwinder,
    open: Vec<Bracket>,
    ops: Vec<Op>,
    expected: Expected,
    /// `reset`s sent.
    resets: u32,
    /// The usable names last computed, and the key they were computed at:
    /// most operations name nothing new, and computing them again for
    /// each was a large part of the cost of writing a trace.
    usable: Option<(NamesKey, UsableNames)>,
}

impl Writer {
    fn usable_names(&mut self) -> &UsableNames {
        let key: NamesKey = (self.resets, self.port.usable_names_key());
        if self.usable.as_ref().is_none_or(|(k, _)| *k != key) {
            self.usable = Some((key, self.port.usable_names()));
        }
        &self.usable.as_ref().expect("just computed").1
    }

    fn emit(&mut self, op: Op) {
        if let Some(b) = op.opens() {
            self.open.push(b);
        } else if op.closes().is_some() {
            self.open.pop();
        }
        let index = self.ops.len();
        let (sent, outcome) = match self.unwinder.plan(&op) {
            Some(sent) => {
                let answer = self
                    .port
                    .apply(&sent)
                    .expect("moves only pick usable names");
                self.unwinder.answered(&sent, &answer);
                if let Op::Reset = sent {
                    self.resets += 1;
                }
                self.expected.wire.push(sent.clone());
                self.expected.answers.push(answer.clone());
                self.expected.source_of.push(index);
                (Some(sent), Outcome::Answered(answer))
            }
            None => (None, Outcome::Skipped),
        };
        self.expected.steps.push(DrivenStep {
            index,
            sent,
            outcome,
        });
        self.ops.push(op);
    }
}

/// Turn moves into a valid trace of what `claim` allows (see the module comment).
pub fn concretize(claim: impl Into<Claim>, moves: &[Move], sigint: bool) -> Vec<Op> {
    concretize_expected(claim, moves, sigint).0
}

/// [`concretize`], with what a runner sends and expects for the trace (as
/// [`crate::run::expect`] would say, without driving the model again).
pub fn concretize_expected(
    claim: impl Into<Claim>,
    moves: &[Move],
    sigint: bool,
) -> (Vec<Op>, Expected) {
    let claim = claim.into();
    let mut w = Writer {
        port: ModelPort::new(claim.target),
        unwinder: Unwinder::default(),
        open: Vec::new(),
        ops: Vec::new(),
        expected: Expected {
            steps: Vec::new(),
            wire: vec![Op::Reset],
            answers: vec![Answer::Ok(serde_json::Value::Null)],
            source_of: Vec::new(),
        },
        resets: 0,
        usable: None,
    };
    for m in moves {
        let sent = w.port.sent();
        let Some(op) = operation(m, w.usable_names(), &claim, sent) else {
            continue;
        };
        let fits = match (&op, op.opens(), op.closes()) {
            (_, Some(_), _) => w.open.len() < MAX_OPEN,
            (_, _, Some(b)) => w.open.last() == Some(&b),
            // [TRACE-6]: `reset` and `sigint` only outside every bracket.
            (Op::Reset | Op::Sigint, _, _) => w.open.is_empty(),
            _ => true,
        };
        if fits {
            w.emit(op);
            if w.port.exited() {
                // [TRACE-6]: a `sigint` ended the process, and the trace.
                return (w.ops, w.expected);
            }
        }
    }
    while let Some(b) = w.open.last().copied() {
        w.emit(match b {
            Bracket::With => Op::WithExit { raise: None },
            Bracket::Thread => Op::ThreadEnd,
            Bracket::Task => Op::TaskEnd,
        });
    }
    if sigint && claim.features.contains(Feature::Signals) && !w.port.exited() {
        w.emit(Op::Sigint);
    }
    (w.ops, w.expected)
}

/// The proptest random source of a `--seed`.
pub fn seed_rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// `count` random traces of what `claim` allows, from `seed`, as
/// `flytectx conform` makes them.
pub fn sample(claim: impl Into<Claim>, seed: u64, max_len: usize, count: u32) -> Vec<Vec<Op>> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let claim = claim.into();
    let strategy = moves(max_len);
    let mut runner = TestRunner::new_with_rng(Config::default(), seed_rng(seed));
    (0..count)
        .map(|_| {
            let (mv, sigint) = strategy
                .new_tree(&mut runner)
                .expect("moves always generate")
                .current();
            concretize(claim, &mv, sigint)
        })
        .collect()
}

/// The clauses a list of operations exercises, each once, in order of appearance.
pub fn clauses_of(ops: &[Op]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for op in ops {
        for c in op.clauses() {
            if !out.iter().any(|x| x == c) {
                out.push(c.to_string());
            }
        }
    }
    out
}
