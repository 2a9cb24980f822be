//! Signal handlers ([SIG-1]..[SIG-4]).
//!
//! One process-wide list. The first `initialize` in the process installs a
//! SIGINT hook (signal-hook), which wakes a thread of its own; that thread
//! runs the handlers in order and then exits the process with status 1. So
//! handlers never run inside the signal handler itself and may do anything,
//! the context stack included (on their own thread's stack).

use std::sync::{Arc, Mutex, Once};

type Handler = Arc<dyn Fn(i32) + Send + Sync>;

static HANDLERS: Mutex<Vec<Handler>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// The number of SIGINT.
pub(crate) const SIGINT: i32 = signal_hook::consts::SIGINT;

fn handlers() -> std::sync::MutexGuard<'static, Vec<Handler>> {
    // A handler that panicked while the list was locked cannot leave it
    // half-changed (pushes are atomic), so a poisoned lock is still good.
    HANDLERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// [SIG-1]: add a handler to the process-wide list; it gets the signal number.
pub fn add_signal_handler(handler: impl Fn(i32) + Send + Sync + 'static) {
    handlers().push(Arc::new(handler));
}

/// [SIG-2]: run every handler, in the order added, with `signum`; what a
/// SIGINT does before the process exits with status 1. A handler that panics
/// does not stop the ones after it. Handlers run outside the list's lock, so
/// a handler may add handlers (they run on the next signal). Public only to
/// harnesses (the `harness` feature), which simulate the signal.
pub(crate) fn run_signal_handlers(signum: i32) {
    let list: Vec<Handler> = handlers().clone();
    for h in list {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(signum)));
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

/// [SIG-4] (isolated): install the SIGINT hook once per process.
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        // If the hook cannot be installed (no signal support), SIGINT keeps
        // its default action; nothing else depends on it.
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT]) {
            let _ = std::thread::Builder::new()
                .name("flytectx-sigint".into())
                .spawn(move || {
                    if let Some(signum) = signals.forever().next() {
                        run_signal_handlers(signum);
                        std::process::exit(1);
                    }
                });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    // The only test of this crate's unit tests that touches the handler list.
    #[test]
    fn the_handler_list_is_process_wide_and_resettable_for_harnesses() {
        reset_signal_handlers();
        assert_eq!(signal_handler_count(), 0);
        add_signal_handler(|_| {});
        std::thread::spawn(|| add_signal_handler(|_| {}))
            .join()
            .unwrap();
        assert_eq!(signal_handler_count(), 2, "[SIG-1]");
        crate::initialize();
        assert_eq!(signal_handler_count(), 2, "[SIG-3]");
        reset_signal_handlers();
        assert_eq!(signal_handler_count(), 0);

        // Handlers run on a thread of their own ([SIG-4]); running them the
        // way that thread does shows they may use the context stack, scopes
        // included, and that one panicking does not stop the next.
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        add_signal_handler(|_| panic!("a handler that fails"));
        add_signal_handler(move |signum| {
            let b = crate::current_context().new_builder().unwrap();
            let level = crate::with_context(b, |c| c.level()).unwrap();
            let _ = tx.lock().unwrap().send((signum, level, crate::size()));
        });
        std::thread::spawn(|| run_signal_handlers(SIGINT))
            .join()
            .unwrap();
        let got: Vec<_> = rx.try_iter().collect();
        assert_eq!(got, vec![(2, 2, 1)]);
        reset_signal_handlers();

        // The same, through the hooks harnesses get (the `harness` feature).
        #[cfg(feature = "harness")]
        {
            let (tx, rx) = std::sync::mpsc::channel();
            let tx = std::sync::Mutex::new(tx);
            add_signal_handler(move |signum| {
                let _ = tx.lock().unwrap().send(signum);
            });
            crate::harness::run_signal_handlers(crate::harness::SIGINT);
            crate::harness::reset_signal_handlers();
            crate::harness::run_signal_handlers(crate::harness::SIGINT);
            assert_eq!(
                rx.try_iter().collect::<Vec<_>>(),
                vec![2],
                "run once, then forgotten"
            );
            assert_eq!(signal_handler_count(), 0);
        }
    }
}
