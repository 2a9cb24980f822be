//! When a thread ends, its contexts are freed with everything they hold,
//! and code that still runs in the thread's last moments (a user value's
//! drop, another thread local's destructor) gets typed errors, never a
//! panic or a leak. (Its own test binary: it watches thread-local
//! destructors, whose order is the platform's: on Linux, the reverse of
//! their registration.)

use flytectx::{Context, Error, PopError};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
static VALUES_DROPPED: AtomicUsize = AtomicUsize::new(0);

fn see(what: String) {
    SEEN.lock().unwrap().push(what);
}

/// A user value held by a context: its drop uses the stack.
struct Value;

impl Drop for Value {
    fn drop(&mut self) {
        VALUES_DROPPED.fetch_add(1, Ordering::SeqCst);
        let level = flytectx::current_context().level();
        see(format!(
            "value: current {level:?}, size {}",
            flytectx::size()
        ));
    }
}

/// A thread local of the program's, holding a strong handle and destroyed
/// after the heap (it was registered before the heap's teardown).
struct Late(RefCell<Option<Context>>);

impl Drop for Late {
    fn drop(&mut self) {
        let Some(c) = self.0.borrow_mut().take() else {
            return;
        };
        see(format!("late: level {:?}", c.level()));
        see(format!("late: builder {:?}", c.new_builder().err()));
        see(format!("late: upgrade {:?}", c.upgrade().err()));
        see(format!("late: push {:?}", flytectx::push_context(&c).err()));
        see(format!("late: pop {:?}", flytectx::pop_context().err()));
        see(format!(
            "late: current {:?}",
            flytectx::current_context().level()
        ));
        see(format!("late: fork {:?}", flytectx::fork().err()));
        see(format!(
            "late: manager {:?}",
            flytectx::ContextManager::new().err()
        ));
        let built = flytectx::Builder::new(None).build();
        see(format!("late: build {:?}", built.err()));
        let scope = flytectx::enter_scope(flytectx::Builder::new(None));
        see(format!("late: scope {:?}", scope.err()));
        let guard = flytectx::enter_context(flytectx::Builder::new(None));
        see(format!("late: guard {:?}", guard.exit().err()));
        // Dropping the strong handle finds nothing to release.
        drop(c);
        see("late: dropped".into());
    }
}

thread_local! {
    static LATE: Late = const { Late(RefCell::new(None)) };
}

#[test]
fn a_threads_contexts_are_freed_when_it_ends_and_later_uses_fail_with_thread_exiting() {
    std::thread::spawn(|| {
        // Registered first, so destroyed last: after the heap's teardown.
        LATE.with(|_| ());
        let value: flytectx::Opaque = std::rc::Rc::new(Value);
        let c = flytectx::current_context()
            .new_builder()
            .unwrap()
            .with_client(Some(value))
            .build()
            .unwrap();
        flytectx::push_context(&c).unwrap();
        LATE.with(|l| *l.0.borrow_mut() = Some(c.clone()));
        assert_eq!(flytectx::size(), 2);
    })
    .join()
    .unwrap();
    assert_eq!(
        VALUES_DROPPED.load(Ordering::SeqCst),
        1,
        "the user value went with the heap"
    );
    let exiting = Some(Error::ThreadExiting);
    let pop_exiting = Some(PopError::ThreadExiting);
    assert_eq!(
        *SEEN.lock().unwrap(),
        [
            // The value's drop runs once the heap is taken out: the stack
            // is torn down, and a lazy initialization is refused.
            format!(
                "value: current {:?}, size 0",
                Err::<i64, _>(Error::ThreadExiting)
            ),
            format!("late: level {:?}", Err::<i64, _>(Error::ThreadExiting)),
            format!("late: builder {exiting:?}"),
            format!("late: upgrade {exiting:?}"),
            format!("late: push {exiting:?}"),
            format!("late: pop {pop_exiting:?}"),
            format!("late: current {:?}", Err::<i64, _>(Error::ThreadExiting)),
            format!("late: fork {exiting:?}"),
            format!("late: manager {exiting:?}"),
            format!("late: build {exiting:?}"),
            format!("late: scope {exiting:?}"),
            format!("late: guard {pop_exiting:?}"),
            "late: dropped".to_string(),
        ]
    );
}
