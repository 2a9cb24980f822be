//! The Rust API where the spec leaves room to misuse it: each case does what
//! spec.md says, or fails with a typed error; nothing panics.

use flytectx::{ContextManager, Error, PopError, ScopeError};
use std::panic::Location;

#[test]
fn origins_are_the_callers_and_belong_to_the_object() {
    // A test runs on a thread of its own, so this call initializes its stack.
    let lazy = flytectx::current_context();
    let lazy_origin = lazy.origin().unwrap().unwrap();
    assert!(
        lazy_origin.file().starts_with("impl/src/") && lazy_origin.file() != file!(),
        "[ORIG-3]: a lazy initialization records a location inside the library, not {lazy_origin}"
    );
    let mut m = ContextManager::new().unwrap();
    assert_eq!(
        m.current_context().origin().unwrap(),
        Some(lazy_origin),
        "[ORIG-3]: so does a new manager's root, made as at load"
    );
    m.pop_context().unwrap_err();
    assert_eq!(
        m.current_context().origin().unwrap(),
        Some(lazy_origin),
        "[ORIG-3]: and a manager's lazy initialization"
    );
    let init = line!() + 1;
    m.initialize();
    let root_origin = m.current_context().origin().unwrap().unwrap();
    assert_eq!(
        (root_origin.file(), root_origin.line()),
        (file!(), init),
        "[ORIG-3]: an explicit initialize() records its caller"
    );
    let init = line!() + 1;
    flytectx::initialize();
    let root = flytectx::current_context();
    let root_origin = root.origin().unwrap().unwrap();
    assert_eq!(
        (root_origin.file(), root_origin.line()),
        (file!(), init),
        "[ORIG-3]: on the thread's own stack too"
    );
    let c = root.new_builder().unwrap().build().unwrap();
    assert_eq!(c.origin().unwrap(), None, "no origin before the first push");
    let first = line!() + 1;
    flytectx::push_context(&c).unwrap();
    assert_eq!(
        c.origin().unwrap().unwrap().line(),
        first,
        "[PUSH-3], [ORIG-1]: the caller of push_context"
    );
    let second = line!() + 1;
    flytectx::push_context(&c).unwrap();
    assert_eq!(
        c.origin().unwrap().unwrap().line(),
        second,
        "[ORIG-1]: the second push wins"
    );
    let given = Location::caller();
    flytectx::push_context_from(&c, given).unwrap();
    assert_eq!(
        c.origin().unwrap(),
        Some(given),
        "[ORIG-1]: an origin passed in is kept"
    );
    for _ in 0..3 {
        flytectx::pop_context().unwrap();
    }
    let scoped = line!() + 1;
    let level = flytectx::with_context(root.new_builder().unwrap(), |ctx| {
        Ok::<_, ()>(ctx.origin().unwrap().unwrap().line())
    })
    .unwrap();
    assert_eq!(
        level, scoped,
        "[WITH-6], [ORIG-2]: with_context records the code that entered the scope"
    );
    let here = flytectx::get_origin_stackframe();
    assert_eq!(here.line(), line!() - 1, "[ORIG-4]");
}

#[test]
fn stale_handles_are_detected_not_followed() {
    let mut m = ContextManager::new().unwrap();
    let root = m.current_context();
    let c = root.new_builder().unwrap().build().unwrap();
    let weak = c.weak();
    m.push_context(weak).unwrap();
    drop(c);
    assert_eq!(weak.level(), Ok(2), "alive while on the stack");
    drop(m.pop_context().unwrap());
    assert_eq!(weak.level(), Err(Error::Stale));
    assert_eq!(weak.upgrade().err(), Some(Error::Stale));
    assert!(weak.new_builder().is_err());
    assert_eq!(m.push_context(weak), Err(Error::Stale));
    assert_eq!(m.size(), 1, "a refused push changes nothing");
    // A new object in the freed slot is not reachable through the old handle.
    let other = root.new_builder().unwrap().build().unwrap();
    assert!(!weak.is_alive() && other.level() == Ok(2));
}

#[test]
fn popping_past_the_root_gives_typed_errors() {
    let mut m = ContextManager::new().unwrap();
    let root = m.current_context();
    match m.pop_context() {
        // [POP-2]: the root is handed back, and the stack is empty.
        Err(PopError::PoppedRoot(c)) => assert_eq!(c, root),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.size(), 0);
    assert_eq!(m.pop_context(), Err(PopError::Empty), "[POP-3]");
    assert_eq!(m.size(), 0);
    assert_ne!(m.current_context(), root, "[CUR-2]: a new root");
}

#[test]
fn guards_dropped_out_of_order_follow_the_marks() {
    flytectx::initialize();
    let root = flytectx::current_context();
    let outer = flytectx::enter_context(root.new_builder().unwrap());
    let inner = flytectx::enter_context(outer.context().new_builder().unwrap());
    let inner_ctx = inner.context();
    assert_eq!(flytectx::size(), 3);
    // Leaving the outer scope first pops both ([WITH-2]) ...
    drop(outer);
    assert_eq!(flytectx::size(), 1);
    assert_eq!(
        inner_ctx.level(),
        Err(Error::Stale),
        "the inner context was freed with its entry"
    );
    // ... and the inner one then finds the stack below its mark ([WITH-3]).
    assert_eq!(inner.exit(), Ok(()));
    assert_eq!(flytectx::size(), 1);
    assert_eq!(flytectx::current_context(), root);
}

#[test]
fn a_scope_entered_on_an_empty_stack_fails_its_cleanup_with_the_root() {
    let mut m = ContextManager::new().unwrap();
    let root = m.current_context();
    // Keep the popped root: dropped, it would be freed and `root` stale.
    let _popped = m.pop_context();
    let r = m.with_context(root.new_builder().unwrap(), |_, _| Err::<(), _>("body"));
    // [WITH-4]: the cleanup's error replaces the body's.
    assert!(
        matches!(r, Err(ScopeError::Cleanup(PopError::PoppedRoot(_)))),
        "{r:?}"
    );
    assert_eq!(m.size(), 0);
    let mut m = ContextManager::new().unwrap();
    let root = m.current_context();
    let r = m.with_context(root.new_builder().unwrap(), |m, _| {
        m.push_context(root).unwrap();
        Err::<(), _>("body")
    });
    assert_eq!(r, Err(ScopeError::Body("body")));
    assert_eq!(m.size(), 1);
}

#[test]
fn a_panic_in_a_scope_on_another_thread_cleans_up_that_thread_only() {
    flytectx::initialize();
    let main_root = flytectx::current_context();
    let handle = std::thread::spawn(|| {
        let root = flytectx::current_context();
        let extra = root.new_builder().unwrap().build().unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = flytectx::enter_context(root.new_builder().unwrap());
            flytectx::push_context(&extra).unwrap();
            assert_eq!(flytectx::size(), 3);
            panic!("in the body");
        }));
        assert!(result.is_err());
        // Unwinding left the scope: its leak was cleaned up too.
        flytectx::size()
    });
    assert_eq!(handle.join().unwrap(), 1);
    assert_eq!(
        flytectx::current_context(),
        main_root,
        "[THR-3]: the main thread's stack was never touched"
    );
    // A thread that panics outright does not disturb this one either.
    let r = std::thread::spawn(|| {
        let _g = flytectx::enter_context(flytectx::current_context().new_builder().unwrap());
        panic!("uncaught");
    })
    .join();
    assert!(r.is_err());
    assert_eq!(flytectx::size(), 1);
}

#[test]
fn tasks_fork_a_copy_of_the_stack() {
    flytectx::initialize();
    let root = flytectx::current_context();
    let mut task = flytectx::fork().unwrap();
    assert_eq!(task.current_context(), root, "[TASK-2]: the same entries");
    task.push_context(root).unwrap();
    assert_eq!((task.size(), flytectx::size()), (2, 1));
    task.initialize();
    assert_ne!(task.current_context(), root, "[TASK-3]");
    assert_eq!(flytectx::current_context(), root);
}

#[test]
fn builders_follow_the_states_rules() {
    let root = flytectx::current_context();
    let es = flytectx::ExecutionState::new(
        "w",
        Some(flytectx::Mode::LocalWorkflowExecution),
        None,
        None,
        None,
    )
    .unwrap();
    let b = root
        .new_builder()
        .unwrap()
        .with_execution_state(Some(&es))
        .enter_conditional_section();
    let first = b.execution_state().unwrap();
    assert_ne!(first, es, "[COND-3]");
    assert_eq!(
        first.branch_eval_mode(),
        Some(flytectx::BranchEvalMode::BranchSkipped)
    );
    first.take_branch();
    let b = b.enter_conditional_section();
    assert_eq!(b.execution_state().unwrap(), first, "[COND-5]");
    let c = b.build().unwrap();
    assert_eq!((c.level().unwrap(), c.in_a_condition().unwrap()), (2, true));
    assert_eq!(
        flytectx::ExecutionState::new("", None, None, None, None).err(),
        Some(Error::InvalidWorkingDir),
        "[ES-1]"
    );
    let bare = flytectx::Context::new(None).unwrap();
    assert_eq!(
        bare.new_execution_state(None).err(),
        Some(Error::NoSandboxDir),
        "[ES-8]"
    );
    assert_eq!(
        root.upgrade()
            .unwrap()
            .new_execution_state(None)
            .unwrap()
            .working_dir()
            .as_ref(),
        flytectx::LocalFileAccess::default_sandbox()
            .local_sandbox_dir
            .to_str()
            .unwrap()
    );
}

#[test]
fn a_builder_makes_states_of_its_own_and_a_compilation_state_may_share_a_given_list() {
    let root = flytectx::current_context();
    let sandbox = flytectx::LocalFileAccess::default_sandbox()
        .local_sandbox_dir
        .to_string_lossy()
        .into_owned();
    let b = root.new_builder().unwrap();
    let es = b.new_execution_state(None).unwrap();
    let again = b.new_execution_state(Some("")).unwrap();
    let dir = es.working_dir();
    let random = dir
        .strip_prefix(&format!("{sandbox}/"))
        .expect("[BLD-6]: in the sandbox of the builder's file access");
    assert!(!random.is_empty() && !random.contains('/'), "{dir}");
    assert_ne!(again.working_dir(), dir, "[BLD-6]: a new name each call");
    assert_eq!(&*es.engine_dir(), format!("{dir}/engine_dir"), "[ES-2]");
    assert_eq!(
        (
            es.mode(),
            es.branch_eval_mode(),
            es.user_space_params().is_none()
        ),
        (None, None, true),
        "[BLD-6]: nothing of the context's state, unlike [ES-8]"
    );
    let given = b.new_execution_state(Some("w")).unwrap();
    assert_eq!(
        (&*given.working_dir(), &*given.engine_dir()),
        ("w", "w/engine_dir")
    );
    assert!(
        b.execution_state().is_some_and(|e| e != es && e != given),
        "[BLD-6]: the builder is left as it was"
    );
    let bare = flytectx::Builder::new(None);
    assert_eq!(
        bare.new_execution_state(None).err(),
        Some(Error::NoSandboxDir),
        "[BLD-6]"
    );
    assert!(
        bare.new_execution_state(Some("w")).is_ok(),
        "no sandbox needed"
    );

    let cs = b.new_compilation_state("p");
    assert_eq!(
        (
            &*cs.prefix(),
            cs.mode(),
            cs.task_resolver().is_none(),
            cs.nodes().len()
        ),
        ("p", 1, true, 0),
        "[BLD-7]"
    );
    assert!(
        b.compilation_state().is_none(),
        "[BLD-7]: the builder is left as it was"
    );
    assert_ne!(b.new_compilation_state("p"), cs, "a new state each call");
    let set = b.with_new_compilation_state().compilation_state().unwrap();
    assert_eq!(
        (&*set.prefix(), set.mode(), set.task_resolver().is_none()),
        ("", 1, true),
        "[BLD-4]"
    );

    let empty = flytectx::Nodes::default();
    let a = flytectx::CompilationState::with_nodes("a", 0, None, empty.clone());
    let shared = flytectx::CompilationState::with_nodes("b", 3, None, a.nodes());
    assert!(
        a.nodes().same(&empty) && shared.nodes().same(&empty),
        "[CS-1]: even an empty list is shared"
    );
    assert_eq!(a.mode(), 0, "[CS-1]: no falsy rule in the constructor");
    a.add_node(std::rc::Rc::new(()));
    assert_eq!((shared.nodes().len(), empty.len()), (1, 1), "[CS-2]");
    assert!(!flytectx::CompilationState::new("c", 1, None)
        .nodes()
        .same(&empty));
}

/// A value whose drop records itself and uses the context stack, as a user's
/// value may: it must be dropped (no leak), and never while the heap is
/// borrowed (which would make its use of the stack fail).
struct Noisy(std::rc::Rc<std::cell::Cell<u32>>);

impl Drop for Noisy {
    fn drop(&mut self) {
        // Uses the stack from inside a drop: reads, and a whole scope.
        let level = flytectx::current_context().level().unwrap();
        let b = flytectx::current_context().new_builder().unwrap();
        flytectx::with_context(b, |_| Ok::<_, ()>(())).unwrap();
        assert!(level >= 1);
        self.0.set(self.0.get() + 1);
    }
}

fn noisy(counter: &std::rc::Rc<std::cell::Cell<u32>>) -> flytectx::Opaque {
    std::rc::Rc::new(Noisy(std::rc::Rc::clone(counter)))
}

#[test]
fn user_values_are_dropped_when_their_last_holder_goes_and_may_use_the_stack() {
    flytectx::initialize();
    let dropped = std::rc::Rc::new(std::cell::Cell::new(0));
    let root = flytectx::current_context();
    // Each of the places a user value can sit: a slot, user-space params, a
    // task resolver, a node list; each freed when its context is.
    for round in 1..=3u32 {
        let es =
            flytectx::ExecutionState::new("w", None, None, None, Some(noisy(&dropped))).unwrap();
        let cs = flytectx::CompilationState::new("p", 1, Some(noisy(&dropped)));
        cs.add_node(noisy(&dropped));
        let b = root
            .new_builder()
            .unwrap()
            .with_client(Some(noisy(&dropped)))
            .with_execution_state(Some(&es))
            .with_compilation_state(Some(&cs));
        drop((es, cs));
        // Two scopes freed by one cleanup, the outer leaving first.
        let outer = flytectx::enter_context(b);
        let inner_builder = outer
            .context()
            .new_builder()
            .unwrap()
            .with_worker_queue(Some(noisy(&dropped)));
        let _inner = flytectx::enter_context(inner_builder);
        assert_eq!(dropped.get(), 5 * (round - 1), "nothing dropped while held");
        outer.exit().unwrap();
        assert_eq!(
            dropped.get(),
            5 * round,
            "all five dropped when the contexts were freed"
        );
    }
    assert_eq!(flytectx::size(), 1);
}

#[test]
fn accessors_and_identity() {
    let mut m = ContextManager::new().unwrap();
    let root = m.current_context();
    let c = root
        .new_builder()
        .unwrap()
        .enter_conditional_section()
        .build()
        .unwrap();
    let d = root.new_builder().unwrap().build().unwrap();
    assert_eq!(
        (c.in_a_condition().unwrap(), d.in_a_condition().unwrap()),
        (true, false)
    );
    assert_eq!(
        (c.weak().in_a_condition(), root.in_a_condition()),
        (Ok(true), Ok(false))
    );
    assert_eq!(c.clone(), c, "the same context");
    assert_ne!(c, d);
    let distinct: std::collections::HashSet<_> = [root, c.weak(), d.weak(), c.weak()].into();
    assert_eq!(distinct.len(), 3, "weak handles hash by what they name");
    let hash = |r: flytectx::ContextRef| {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(r)
    };
    assert_eq!(hash(c.weak()), hash(c.weak()));
    assert_ne!(hash(c.weak()), hash(d.weak()), "what they name is hashed");
    assert!(c == c.weak() && !(c == d.weak()));
    assert_eq!(c.weak().id(), c.id());
    assert_ne!(c.id(), d.id());
    let b = c.new_builder().unwrap();
    assert_eq!((b.level(), b.in_a_condition()), (2, true));
    assert_eq!(
        (
            d.new_builder().unwrap().level(),
            d.new_builder().unwrap().in_a_condition()
        ),
        (2, false)
    );
    let with_cs = root
        .upgrade()
        .unwrap()
        .with_new_compilation_state()
        .unwrap()
        .build()
        .unwrap();
    assert!(with_cs.compilation_state().unwrap().is_some(), "[BLD-5]");
    assert!(c.compilation_state().unwrap().is_none());
    assert_eq!(m.entries(), vec![root]);
    m.push_context(&c).unwrap();
    assert_eq!(m.entries(), vec![root, c.weak()]);
    let token = m.enter_scope(d.new_builder().unwrap()).unwrap();
    assert_eq!(token.mark(), 3);
    assert_eq!(m.exit_scope(token), Ok(()));
    assert_eq!(m.size(), 2);
    // Node lists are objects: shared or not.
    let cs = c
        .new_builder()
        .unwrap()
        .with_new_compilation_state()
        .compilation_state()
        .unwrap();
    let same = cs.nodes();
    assert!(same.same(&cs.nodes()));
    assert_eq!(cs.clone(), cs, "[CS-5]: identity is the object");
    assert_ne!(cs.with_params(None, None, None, None), cs);
    assert!(!same.same(&cs.with_params(Some("p"), None, None, None).nodes()));
}

#[test]
fn pop_errors_compare_by_what_they_hold() {
    let mut a = ContextManager::new().unwrap();
    let root = a.current_context().upgrade().unwrap();
    let other = root.new_builder().unwrap().build().unwrap();
    let popped = a.pop_context();
    assert_eq!(popped, Err(PopError::PoppedRoot(root.clone())));
    assert_ne!(popped, Err(PopError::PoppedRoot(other)));
    assert_ne!(popped, Err(PopError::Empty));
    assert_eq!(a.pop_context(), Err(PopError::Empty));
}

#[test]
fn a_guard_on_an_emptied_stack_reports_its_cleanup_failure() {
    std::thread::spawn(|| {
        let root = flytectx::current_context().upgrade().unwrap();
        let _ = flytectx::pop_context();
        let guard = flytectx::enter_context(root.new_builder().unwrap());
        assert!(
            matches!(guard.exit(), Err(PopError::PoppedRoot(_))),
            "[WITH-4]"
        );
        assert_eq!(flytectx::size(), 0);
    })
    .join()
    .unwrap();
}

#[test]
fn dropping_builders_managers_and_scopes_releases_what_they_hold() {
    let root = flytectx::current_context().upgrade().unwrap();
    let before = flytectx::arena_stats();
    for _ in 0..1000 {
        // Made and dropped each round: any owner a builder forgets to give
        // back keeps it alive, and shows in the live count below.
        let es = flytectx::ExecutionState::new("w", None, None, None, None).unwrap();
        // A builder holding states, never built.
        drop(
            root.new_builder()
                .unwrap()
                .with_execution_state(Some(&es))
                .with_new_compilation_state(),
        );
        drop(root.new_builder().unwrap().with_new_compilation_state());
        // Builders holding only one of the two states.
        drop(flytectx::Builder::new(None).with_execution_state(Some(&es)));
        drop(flytectx::Builder::new(None).with_new_compilation_state());
        // A manager with entries, and a scope left by dropping it.
        let mut m = ContextManager::new().unwrap();
        let r = m.current_context();
        m.push_context(r).unwrap();
        {
            let scope = m.enter_context(root.new_builder().unwrap());
            assert_eq!(scope.size(), 3);
        }
        assert_eq!(m.size(), 2, "the scope was left when dropped");
    }
    let after = flytectx::arena_stats();
    assert_eq!(after.live_contexts, before.live_contexts);
    assert!(
        after.context_slots <= before.context_slots + 4,
        "{before:?} {after:?}"
    );
}

#[test]
fn a_scope_token_is_refused_by_every_stack_but_its_own_and_nothing_changes() {
    let mut a = ContextManager::new().unwrap();
    let mut b = ContextManager::new().unwrap();
    let (root_a, root_b) = (a.current_context(), b.current_context());
    let token = a.enter_scope(root_a.new_builder().unwrap()).unwrap();
    let scope_ctx = token.context();
    let inner_b = b.enter_scope(root_b.new_builder().unwrap()).unwrap();
    assert_eq!((a.size(), b.size()), (2, 2));
    // The bug this pins: `b.exit_scope(token_from_a)` used to return Ok and
    // pop b's entry (the marks happened to match).
    let refused = b.exit_scope(token);
    #[allow(clippy::eq_op)] // the error compares by the token it holds
    let same = refused == refused;
    assert!(same && refused != Err(PopError::Empty));
    let token = match refused {
        Err(PopError::ForeignScope(t)) => *t,
        other => panic!("a foreign token must be refused, got {other:?}"),
    };
    assert_eq!((a.size(), b.size()), (2, 2), "nothing popped anywhere");
    assert_eq!(b.entries()[1], inner_b.context(), "b's scope is intact");
    assert!(scope_ctx.is_alive());
    // Nor does the thread's own stack take it, nor a fork of `a`.
    flytectx::initialize();
    let token = match flytectx::exit_scope(token) {
        Err(PopError::ForeignScope(t)) => *t,
        other => panic!("{other:?}"),
    };
    let mut fork = a.fork().unwrap();
    let token = match fork.exit_scope_with(token, Ok::<(), ()>(())) {
        Err(ScopeError::Cleanup(PopError::ForeignScope(t))) => *t,
        other => panic!("{other:?}"),
    };
    assert_eq!((fork.size(), flytectx::size()), (2, 1));
    // Given back to its own stack, it leaves the scope as ever.
    assert_eq!(a.exit_scope(token), Ok(()));
    assert_eq!(a.size(), 1);
    assert_eq!(b.exit_scope(inner_b), Ok(()));
    assert_eq!(b.size(), 1);
    // A facade token is foreign to a manager, too.
    let facade = flytectx::enter_scope(flytectx::current_context().new_builder().unwrap()).unwrap();
    let facade = match a.exit_scope(facade) {
        Err(PopError::ForeignScope(t)) => *t,
        other => panic!("{other:?}"),
    };
    assert_eq!(flytectx::size(), 2);
    assert_eq!(flytectx::exit_scope(facade), Ok(()));
    assert_eq!(flytectx::size(), 1);
}

#[test]
fn a_panic_in_a_managers_with_context_body_leaves_the_scope() {
    let mut m = ContextManager::new().unwrap();
    let root = m.current_context();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: Result<(), ScopeError<()>> = m.with_context(root.new_builder().unwrap(), |m, _| {
            m.push_context(root).unwrap();
            assert_eq!(m.size(), 3);
            panic!("in the body");
        });
    }));
    assert!(result.is_err());
    assert_eq!(
        m.size(),
        1,
        "the scope and what its body pushed were popped"
    );
    assert_eq!(m.current_context(), root);
}

#[test]
fn a_builder_shares_what_it_did_not_change_and_copies_on_change() {
    let root = flytectx::current_context().upgrade().unwrap();
    let es = root
        .execution_state()
        .unwrap()
        .expect("[INIT-4]: a root has a state");
    let plain = root.new_builder().unwrap().build().unwrap();
    assert_eq!(
        plain.execution_state().unwrap(),
        Some(es.clone()),
        "[BLD-1]"
    );
    let client: flytectx::Opaque = std::rc::Rc::new(1u8);
    let changed = root
        .new_builder()
        .unwrap()
        .with_client(Some(client.clone()))
        .build()
        .unwrap();
    let f = changed.fields().unwrap();
    assert!(std::rc::Rc::ptr_eq(
        f.slots.flyte_client.as_ref().unwrap(),
        &client
    ));
    assert_eq!(
        f.execution_state,
        Some(es),
        "the unchanged state is the same object"
    );
    assert!(
        root.fields().unwrap().slots.flyte_client.is_none(),
        "the source is untouched"
    );
    assert!(plain.fields().unwrap().slots.flyte_client.is_none());
}
