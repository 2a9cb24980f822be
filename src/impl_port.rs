//! The `flytectx` crate (`impl/`) as a port, in the isolated profile.
//!
//! It is driven the way a Rust program would use it: the trace's main thread
//! is the thread calling [`Port::run`], initialized anew at each `reset`
//! ([INIT-1]); `thread_begin` starts a real thread using the thread-local
//! facade (a new thread's stack starts empty, [THR-3]); `task_begin` forks
//! the current stack into a [`flytectx::ContextManager`] ([TASK-2]);
//! `with_enter` / `with_exit` are the crate's scope tokens. Handles are not
//! `Send`, so each thread keeps the objects it named in a registry of its
//! own; names are shared by all threads through one namer ([OBS-4]).
//!
//! Why the caller's thread: an operation is a few hundred nanoseconds of
//! work, while handing it to another thread and back costs two wake-ups
//! (system calls, and a context switch when the thread slept). Running the
//! main thread in place makes a trace without `thread_begin` free of system
//! calls; only started threads pay for the hand-off.

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

/// The operations the driver answers itself (process-wide or
/// thread-changing) rather than the trace's current thread, as one pattern:
/// [`for_the_driver`] tests for it, and the worker's exhaustive match
/// refuses it.
macro_rules! driver_ops {
    () => {
        Op::Reset
            | Op::Sigint
            | Op::AddSignalHandler { .. }
            | Op::SetProgramHandler { .. }
            | Op::SigintHandler
            | Op::ThreadBegin
            | Op::ThreadEnd
    };
}

mod registry;
mod worker;

use crate::port::{Declaration, FailureKind, Port, PortFailure};
use flytectx::harness::{self, Dispatch};
use flytectx::HandlerError;
use flytectx_model::answer::{Answer, HandlerRun, SigintAnswer};
use flytectx_model::trace::{Op, Then};
use flytectx_model::{Feature, FeatureSet};
use registry::SharedNamer;
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use worker::{Fail, Worker};

/// A panic's message.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

/// Answers to a run of operations on one thread; a panic of the
/// implementation stops the run, with its message.
struct Batch {
    answers: Vec<Result<Answer, Fail>>,
    panic: Option<String>,
}

/// Run `ops` on `worker`, in order, until one panics.
fn run_batch(worker: &mut Worker, ops: &[Op]) -> Batch {
    let mut answers = Vec::with_capacity(ops.len());
    for op in ops {
        match catch_unwind(AssertUnwindSafe(|| worker.apply(op))) {
            Ok(a) => answers.push(a),
            Err(payload) => {
                return Batch {
                    answers,
                    panic: Some(panic_message(payload.as_ref())),
                }
            }
        }
    }
    Batch {
        answers,
        panic: None,
    }
}

/// What the driver asks of a started thread: answer `ops`, in order; first,
/// if `start` says so, become that thread of a new trace (a fresh registry,
/// and an empty stack, [THR-3]: what was left of its last use is dropped).
/// One message per run of operations, so one wake-up.
struct Job {
    start: Option<(u32, SharedNamer)>,
    ops: Vec<Op>,
}

/// A real thread for `thread_begin`, seen from the driver. Kept in a pool
/// across traces: starting a thread per `thread_begin` cost more than all
/// the operations run on it.
struct WorkerThread {
    jobs: Option<Sender<Job>>,
    batches: Receiver<Batch>,
    join: Option<JoinHandle<()>>,
    /// The start to send with the next job: this thread's number in the
    /// trace, and the trace's names.
    start: Option<(u32, SharedNamer)>,
}

/// How long the driver waits for a batch by spinning before it sleeps: a
/// short run of operations is answered well within it, and sleeping (then
/// being woken) costs two system calls and a context switch.
const SPIN: Duration = Duration::from_micros(25);

impl WorkerThread {
    fn spawn() -> WorkerThread {
        let (jobs, job_rx) = channel::<Job>();
        let (batch_tx, batches) = channel();
        let join = std::thread::Builder::new()
            .name("flytectx-impl-port".into())
            .spawn(move || {
                let mut worker = None;
                for job in job_rx {
                    if let Some((thread, namer)) = job.start {
                        drop(worker.take());
                        empty_this_threads_stack();
                        worker = Some(Worker::new(thread, namer));
                    }
                    let batch = match worker.as_mut() {
                        Some(w) => run_batch(w, &job.ops),
                        None => Batch {
                            answers: Vec::new(),
                            panic: Some("a thread ran before it started".into()),
                        },
                    };
                    if batch_tx.send(batch).is_err() {
                        break;
                    }
                }
            })
            .expect("a thread can be started");
        WorkerThread {
            jobs: Some(jobs),
            batches,
            join: Some(join),
            start: None,
        }
    }

    /// Run `ops` on this thread, in one hand-off.
    fn run(&mut self, ops: &[Op]) -> Batch {
        let job = Job {
            start: self.start.take(),
            ops: ops.to_vec(),
        };
        if self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok()) {
            if let Some(batch) = self.receive() {
                return batch;
            }
        }
        let why = self
            .stop()
            .err()
            .unwrap_or_else(|| "the thread ended".to_string());
        Batch {
            answers: Vec::new(),
            panic: Some(why),
        }
    }

    /// The answer to the job just sent.
    fn receive(&self) -> Option<Batch> {
        spin_then_wait(&self.batches)
    }

    /// End the thread and report a panic, if it had one.
    fn stop(&mut self) -> Result<(), String> {
        self.jobs = None;
        match self.join.take().map(JoinHandle::join) {
            Some(Err(payload)) => Err(panic_message(payload.as_ref())),
            _ => Ok(()),
        }
    }
}

/// The next message: first poll it in a busy loop for [`SPIN`] (a started
/// thread usually answers within it when a core is free, and nothing then
/// costs a system call), then for as long again yield the processor (to the
/// thread that will send it, when the two share a core), then sleep until
/// it comes.
fn spin_then_wait<T>(rx: &Receiver<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match rx.try_recv() {
                Ok(message) => return Some(message),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        let waited = start.elapsed();
        if waited >= 2 * SPIN {
            return rx.recv().ok();
        }
        if waited >= SPIN {
            std::thread::yield_now();
        }
    }
}

impl Drop for WorkerThread {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Pop every entry of this thread's stack: what a new thread has.
fn empty_this_threads_stack() {
    while let Ok(_) | Err(flytectx::PopError::PoppedRoot(_)) = flytectx::pop_context() {}
}

/// The handlers that ran during a SIGINT's dispatch, in order.
type HandlerLog = Arc<Mutex<Vec<HandlerRun>>>;

/// The error a trace's handler fails with: `{"raise": kind}` ([SIG-2]).
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a handler raised {}", self.0)
    }
}

impl std::error::Error for Raised {}

/// [SIG-1], [SIG-2]: add a handler that records its tag and signal number,
/// then does what `then` says: nothing, fail, or add a handler that only
/// records (which the dispatch then runs in the same pass).
fn add_recording_handler(log: &HandlerLog, tag: &str, then: Option<&Then>) {
    let (log, tag, then) = (Arc::clone(log), tag.to_string(), then.cloned());
    flytectx::add_signal_handler(move |signum| -> Result<(), HandlerError> {
        log.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(HandlerRun::handler(&tag, signum));
        match &then {
            None => Ok(()),
            Some(Then::Raise(kind)) => Err(Box::new(Raised(kind.clone()))),
            Some(Then::Add(added)) => {
                add_recording_handler(&log, added, None);
                Ok(())
            }
        }
    });
}

/// A SIGINT handler of the trace's program ([SIG-4]), which this port plays:
/// the program's own code, not the library's. The library's part is when it
/// installs its hook, which would replace the program's handler: so the
/// program's stays installed as long as the library has not installed its
/// hook since (the harness counts the library's installs).
struct ProgramHandler {
    tag: String,
    library_installs_then: u32,
}

/// One trace's worth of state: the threads and the names.
struct Session {
    /// The trace's main thread: the caller's.
    main: Worker,
    /// Threads started by `thread_begin`, the innermost (current) last.
    threads: Vec<WorkerThread>,
    namer: SharedNamer,
    handler_log: HandlerLog,
    program_handler: Option<ProgramHandler>,
    next_thread: u32,
}

impl Session {
    fn new() -> Session {
        let namer: SharedNamer = Arc::default();
        // [INIT-1]: a process starts with its main thread initialized: the
        // caller's stack is made anew, which also releases what an earlier
        // trace left on it.
        flytectx::initialize();
        Session {
            main: Worker::new(0, Arc::clone(&namer)),
            threads: Vec::new(),
            namer,
            handler_log: Arc::default(),
            program_handler: None,
            next_thread: 1,
        }
    }

    /// [SIG-4]: the program's handler, while it is the installed one.
    fn installed_program_handler(&self) -> Option<&str> {
        self.program_handler
            .as_ref()
            .filter(|p| p.library_installs_then == harness::sigint_hook_installs())
            .map(|p| p.tag.as_str())
    }

    /// [SIG-2]: SIGINT arrives: the program's own handler runs and returns,
    /// or the library's hook dispatches to the handler list.
    fn sigint(&mut self) -> SigintAnswer {
        if let Some(tag) = self.installed_program_handler() {
            return SigintAnswer {
                ran: vec![HandlerRun::program(tag, harness::SIGINT)],
                exit: None,
                raised: None,
            };
        }
        let end = harness::dispatch_sigint();
        let ran = std::mem::take(&mut *self.handler_log.lock().unwrap_or_else(|p| p.into_inner()));
        let (exit, raised) = match end {
            Dispatch::Exit(status) => (Some(status), None),
            Dispatch::Failed(e) => match e.downcast::<Raised>() {
                Ok(r) => (None, Some(r.0)),
                Err(other) => (None, Some(other.to_string())),
            },
        };
        SigintAnswer { ran, exit, raised }
    }

    /// Run `ops` on the trace's current thread.
    fn run(&mut self, ops: &[Op]) -> Batch {
        match self.threads.last_mut() {
            Some(t) => t.run(ops),
            None => run_batch(&mut self.main, ops),
        }
    }
}

/// Traces share the process-wide signal handlers, so they run one at a time.
static ONE_TRACE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The implementation as a [`Port`]. Its traces' main thread is the thread
/// that calls [`Port::run`] (see the module's documentation).
#[derive(Default)]
pub struct ImplPort {
    session: Option<Session>,
    /// Started threads between uses.
    pool: Vec<WorkerThread>,
}

/// Whether the driver answers `op` itself (process-wide or thread-changing
/// operations) rather than the trace's current thread.
fn for_the_driver(op: &Op) -> bool {
    matches!(op, driver_ops!())
}

impl std::fmt::Debug for ImplPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImplPort")
            .field("in_a_trace", &self.session.is_some())
            .field("pooled_threads", &self.pool.len())
            .finish()
    }
}

impl ImplPort {
    /// A port with no trace begun; the first operation begins one.
    pub fn new() -> ImplPort {
        ImplPort::default()
    }

    /// Put a trace's thread back in the pool. It is emptied when it next
    /// starts: what it holds until then no trace can name.
    fn retire(&mut self, mut t: WorkerThread) {
        t.start = None;
        self.pool.push(t);
    }

    /// End the current trace; its threads go back to the pool.
    fn end_session(&mut self) {
        if let Some(s) = self.session.take() {
            for t in s.threads {
                self.retire(t);
            }
        }
    }

    fn session(&mut self) -> &mut Session {
        self.session.get_or_insert_with(Session::new)
    }

    /// Answer an operation the driver handles itself.
    fn answer(&mut self, op: &Op) -> Answer {
        let null = Answer::Ok(Value::Null);
        match op {
            Op::Reset => {
                // [INIT-1], [SIG-3]: a new process: no handlers, fresh threads.
                self.end_session();
                harness::reset_signal_handlers();
                self.session = Some(Session::new());
                null
            }
            Op::AddSignalHandler { tag, then } => {
                add_recording_handler(&self.session().handler_log, tag, then.as_ref());
                null
            }
            Op::SetProgramHandler { tag } => {
                self.session().program_handler = Some(ProgramHandler {
                    tag: tag.clone(),
                    library_installs_then: harness::sigint_hook_installs(),
                });
                null
            }
            Op::SigintHandler => {
                let s = self.session();
                Answer::Ok(match s.installed_program_handler() {
                    Some(tag) => serde_json::json!({ "program": tag }),
                    None if harness::sigint_hook_installs() > 0 => Value::from("library"),
                    // The runtime's default: never, as every process of a
                    // trace initializes at load ([INIT-1]).
                    None => Value::from("default"),
                })
            }
            Op::Sigint => Answer::ok(self.session().sigint()),
            Op::ThreadBegin => {
                // [THR-3]: a new thread starts with an empty stack of its own.
                let mut t = self.pool.pop().unwrap_or_else(WorkerThread::spawn);
                let s = self.session();
                t.start = Some((s.next_thread, Arc::clone(&s.namer)));
                s.next_thread += 1;
                s.threads.push(t);
                null
            }
            Op::ThreadEnd => {
                if let Some(t) = self.session().threads.pop() {
                    self.retire(t);
                }
                null
            }
            _ => Answer::Err(format!(
                "bad_request: `{}` is for the trace's threads",
                op.name()
            )),
        }
    }
}

impl Port for ImplPort {
    fn name(&self) -> String {
        format!("flytectx {} (impl/, in-process)", env!("CARGO_PKG_VERSION"))
    }

    /// [FEAT-3]: every feature but `origins`. The crate records origins as
    /// Rust locations (`#[track_caller]`), which name the caller and nothing
    /// further out, so `get_origin_stackframe(limit)` has no answer for a
    /// limit above 1 ([ORIG-4]); and a location names this port's code, not
    /// a trace operation ([OBS-7]).
    fn declaration(&self) -> Declaration {
        Declaration {
            features: FeatureSet::ALL.difference([Feature::Origins].into_iter().collect()),
            ..Declaration::default()
        }
    }

    fn run(&mut self, ops: &[Op]) -> Result<Vec<Answer>, PortFailure> {
        let _one = ONE_TRACE_AT_A_TIME
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut answers = Vec::with_capacity(ops.len());
        let mut rest = ops;
        while let Some(op) = rest.first() {
            if for_the_driver(op) {
                answers.push(self.answer(op));
                rest = &rest[1..];
                continue;
            }
            // The operations up to the next driver's one all go to the
            // current thread: one hand-off for all of them.
            let n = rest.iter().position(for_the_driver).unwrap_or(rest.len());
            let batch = self.session().run(&rest[..n]);
            let done = batch.answers.len();
            answers.extend(batch.answers.into_iter().map(|a| match a {
                Ok(a) => a,
                Err(Fail::Kind(k)) => Answer::Err(k),
                Err(Fail::BadRequest(why)) => Answer::Err(format!("bad_request: {why}")),
            }));
            if let Some(panic) = batch.panic {
                // The session's threads may be in any state: none goes back
                // to the pool.
                self.session = None;
                let mut f = PortFailure::new(
                    FailureKind::Exited,
                    format!(
                        "the implementation panicked on `{}`: {panic}",
                        rest[done.min(n - 1)].to_line()
                    ),
                );
                f.answered = answers.iter().map(Answer::to_value).collect();
                return Err(f);
            }
            rest = &rest[n..];
        }
        Ok(answers)
    }
}
