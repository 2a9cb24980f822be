//! Signal handlers ([SIG-1]..[SIG-4]).
//!
//! One process-wide list. The first `initialize` in the process installs a
//! SIGINT hook (signal-hook), which wakes a thread of its own; that thread
//! dispatches to the handlers ([SIG-2]) and then exits the process with
//! status 1. So handlers never run inside the signal handler itself and may
//! do anything, the context stack included (on their own thread's stack).
//!
//! A handler may fail (return an error, or panic): the dispatch stops there,
//! the process does not exit, and the hook thread reports the error on the
//! standard error (there is no caller to hand it to) and waits for the next
//! SIGINT.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};

/// What a failing signal handler returns: any error (`?` converts one).
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

type Handler = Arc<dyn Fn(i32) -> Result<(), HandlerError> + Send + Sync>;

static HANDLERS: Mutex<Vec<Handler>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();
/// How many times this process installed the hook: 0, then 1 for good.
static HOOK_INSTALLS: AtomicU32 = AtomicU32::new(0);

/// The number of SIGINT.
pub(crate) const SIGINT: i32 = signal_hook::consts::SIGINT;

fn handlers() -> std::sync::MutexGuard<'static, Vec<Handler>> {
    // A handler that panicked while the list was locked cannot leave it
    // half-changed (pushes are atomic), so a poisoned lock is still good.
    HANDLERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// [SIG-1]: add a handler to the process-wide list. On SIGINT it gets the
/// signal number; returning an error stops the dispatch ([SIG-2]).
///
/// ```
/// flytectx::add_signal_handler(|signum| {
///     eprintln!("interrupted by signal {signum}");
///     Ok(())
/// });
/// ```
pub fn add_signal_handler(
    handler: impl Fn(i32) -> Result<(), HandlerError> + Send + Sync + 'static,
) {
    handlers().push(Arc::new(handler));
}

/// A handler that panicked, as the error that stopped the dispatch.
#[derive(Debug)]
struct HandlerPanicked(String);

impl std::fmt::Display for HandlerPanicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a signal handler panicked: {}", self.0)
    }
}

impl std::error::Error for HandlerPanicked {}

/// [SIG-2]: call the handlers in order with `signum`, reading the list as it
/// is at each step (a handler added meanwhile runs in this pass, after the
/// others), until one fails. `Ok` means every handler ran and the process is
/// to exit with status 1. The list is not locked while a handler runs, so a
/// handler may add handlers.
pub(crate) fn dispatch(signum: i32) -> Result<(), HandlerError> {
    let mut next = 0;
    loop {
        let Some(handler) = handlers().get(next).cloned() else {
            return Ok(());
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(signum))) {
            Ok(Ok(())) => next += 1,
            Ok(Err(e)) => return Err(e),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                return Err(Box::new(HandlerPanicked(message)));
            }
        }
    }
}

/// How many handlers are registered.
#[cfg(test)]
fn signal_handler_count() -> usize {
    handlers().len()
}

/// Forget every handler: what a new process starts with ([SIG-3]). For
/// conformance ports that simulate a new process (the `harness` feature);
/// the context stack itself never calls it.
#[cfg(any(test, feature = "harness"))]
pub(crate) fn reset_signal_handlers() {
    handlers().clear();
}

/// How many times this process installed its SIGINT hook ([SIG-4]).
#[cfg(any(test, feature = "harness"))]
pub(crate) fn hook_installs() -> u32 {
    HOOK_INSTALLS.load(Ordering::SeqCst)
}

/// [SIG-4] (isolated): install the SIGINT hook once per process, never
/// again, so a handler the program installs later stays.
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        // If the hook cannot be installed (no signal support), SIGINT keeps
        // its default action; nothing else depends on it.
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT]) {
            let started = std::thread::Builder::new()
                .name("flytectx-sigint".into())
                .spawn(move || {
                    for signum in signals.forever() {
                        match dispatch(signum) {
                            Ok(()) => std::process::exit(1),
                            Err(e) => eprintln!(
                                "flytectx: SIGINT: a handler failed, the process goes on: {e}"
                            ),
                        }
                    }
                });
            if started.is_ok() {
                HOOK_INSTALLS.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on_a_thread_of_its_own() -> Result<(), HandlerError> {
        std::thread::spawn(|| dispatch(SIGINT)).join().unwrap()
    }

    // The only test of this crate's unit tests that touches the handler list.
    #[test]
    fn the_handler_list_is_process_wide_and_the_dispatch_stops_at_a_failure() {
        reset_signal_handlers();
        assert_eq!(signal_handler_count(), 0);
        assert!(dispatch(SIGINT).is_ok(), "[SIG-2]: none: exit 1");
        add_signal_handler(|_| Ok(()));
        std::thread::spawn(|| add_signal_handler(|_| Ok(())))
            .join()
            .unwrap();
        assert_eq!(signal_handler_count(), 2, "[SIG-1]");
        crate::initialize();
        assert_eq!(signal_handler_count(), 2, "[SIG-3]");
        assert_eq!(hook_installs(), 1, "[SIG-4]: the first initialize");
        crate::initialize();
        assert_eq!(hook_installs(), 1, "[SIG-4]: and never again");
        reset_signal_handlers();
        assert_eq!(signal_handler_count(), 0);

        // Handlers run on a thread of their own ([SIG-4]); running them the
        // way that thread does shows they may use the context stack, scopes
        // included; one added meanwhile runs in the same pass, after the
        // others; one failing stops the dispatch.
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        let say = move |s: String| {
            let _ = tx.lock().unwrap().send(s);
        };
        let say = Arc::new(say);
        let (s1, s2, s3) = (say.clone(), say.clone(), say.clone());
        add_signal_handler(move |signum| {
            let b = crate::current_context().new_builder()?;
            let level = crate::with_context(b, |c| c.level()).map_err(|e| e.to_string())?;
            s1(format!("a {signum} {level} {}", crate::size()));
            let s = s3.clone();
            add_signal_handler(move |_| {
                s("late".into());
                Ok(())
            });
            Ok(())
        });
        add_signal_handler(move |_| {
            s2("b".into());
            Ok(())
        });
        assert!(run_on_a_thread_of_its_own().is_ok());
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["a 2 2 1", "b", "late"]);

        reset_signal_handlers();
        let s = say.clone();
        add_signal_handler(move |_| {
            s("first".into());
            Ok(())
        });
        add_signal_handler(|_| Err("refused".into()));
        let s = say.clone();
        add_signal_handler(move |_| {
            s("never".into());
            Ok(())
        });
        let e = run_on_a_thread_of_its_own().unwrap_err();
        assert_eq!(e.to_string(), "refused");
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["first"]);

        // A panic is a failure like an error.
        reset_signal_handlers();
        add_signal_handler(|_| panic!("a handler that panics"));
        add_signal_handler(move |_| {
            say("never".into());
            Ok(())
        });
        let e = run_on_a_thread_of_its_own().unwrap_err();
        assert_eq!(
            e.to_string(),
            "a signal handler panicked: a handler that panics"
        );
        assert!(rx.try_iter().next().is_none());
        reset_signal_handlers();

        // The same, through the hooks harnesses get (the `harness` feature).
        #[cfg(feature = "harness")]
        {
            use crate::harness::{dispatch_sigint, Dispatch};
            add_signal_handler(|signum| Err(format!("no {signum}").into()));
            match dispatch_sigint() {
                Dispatch::Failed(e) => assert_eq!(e.to_string(), "no 2"),
                Dispatch::Exit(s) => panic!("exit {s}"),
            }
            crate::harness::reset_signal_handlers();
            assert!(matches!(dispatch_sigint(), Dispatch::Exit(1)));
            assert_eq!(crate::harness::sigint_hook_installs(), 1);
        }
    }
}
