//! Ports of flytekit's own context-manager tests
//! (tests/flytekit/unit/core/test_context_manager.py), in our words, and
//! the model's own rules tried one by one.

use super::*;
use crate::answer::HandlerRun;
use crate::claim::Target;
use crate::release::Release;
use crate::trace::{Branch, Mode, Slot, Then};
use crate::Profile;

fn compat() -> Model {
    Model::new(Profile::Compat)
}

/// [BLD-2]: nested scopes, each built from the one before, reach levels 2,
/// 3, 4; a build from the root is level 2 at any depth. (Not flytekit's
/// `test_levels`, which is ported below.)
#[test]
fn levels_count_builds_not_depth() {
    let mut m = compat();
    let root = m.current_context();
    assert_eq!(m.context(root).fields.level, 1);
    let b = m.new_builder(root);
    m.with_context(&b, |m, c2| {
        assert_eq!(m.context(c2).fields.level, 2);
        let b = m.new_builder(c2);
        m.with_context(&b, |m, c3| {
            assert_eq!(m.context(c3).fields.level, 3);
            let b = m.new_builder(c3);
            m.with_context(&b, |m, c4| {
                assert_eq!(m.context(c4).fields.level, 4);
                assert_eq!(m.size(), 4);
                Ok(())
            })
        })
    })
    .unwrap();
    assert_eq!(m.size(), 1);
    // A build from the root again is level 2, whatever the depth.
    let b = m.new_builder(root);
    let c = m.build(&b);
    m.push_context(c, None);
    m.push_context(c, None);
    assert_eq!(m.context(c).fields.level, 2);
}

#[test]
fn a_leaked_conditional_section_is_cleaned_up_by_the_enclosing_scope() {
    // flytekit's conditional-leak comment in with_context, as a test.
    let mut m = compat();
    let root = m.current_context();
    let b = m.new_builder(root);
    m.with_context(&b, |m, ctx| {
        let mut cond = m.new_builder(ctx);
        m.enter_conditional_section(&mut cond).unwrap();
        let leaked = m.build(&cond);
        m.push_context(leaked, None);
        m.push_context(leaked, None);
        assert_eq!(m.size(), 4);
        Ok(())
    })
    .unwrap();
    assert_eq!(m.size(), 1);
}

#[test]
fn popping_the_root_removes_it_then_fails_and_current_reinitializes() {
    let mut m = compat();
    let root = m.current_context();
    assert_eq!(m.pop_context(), Err(Failure::PoppedRoot));
    assert_eq!(m.size(), 0);
    assert_eq!(m.pop_context(), Err(Failure::EmptyStack));
    assert_eq!(m.size(), 0);
    let new_root = m.current_context();
    assert_ne!(new_root, root);
    assert_eq!(m.size(), 1);
    assert_eq!(m.context(new_root).fields.level, 1);
}

#[test]
fn with_context_from_an_empty_stack_fails_its_cleanup() {
    let mut m = compat();
    let root = m.current_context();
    let _ = m.pop_context();
    let b = m.new_builder(root);
    let r = m.with_context(&b, |m, _| {
        assert_eq!(m.size(), 1);
        Ok(())
    });
    assert_eq!(r, Err(Failure::PoppedRoot));
    assert_eq!(m.size(), 0);
}

#[test]
fn a_body_error_propagates_after_cleanup_unless_cleanup_fails() {
    let mut m = compat();
    let root = m.current_context();
    let b = m.new_builder(root);
    let r: Result<(), _> = m.with_context(&b, |m, c| {
        m.push_context(c, None);
        Err(Failure::Raised("boom".into()))
    });
    assert_eq!(r, Err(Failure::Raised("boom".into())));
    assert_eq!(m.size(), 1);
    // The body popping its own scope and the one below: nothing more popped.
    let extra = m.build(&b);
    m.push_context(extra, None);
    m.with_context(&b, |m, _| {
        m.pop_context()?;
        m.pop_context()?;
        Ok(())
    })
    .unwrap();
    assert_eq!(m.size(), 1);
}

#[test]
fn conditional_sections_follow_the_branch_rules() {
    let mut m = compat();
    let root = m.current_context();
    let es = m
        .new_execution_state("w", Some(Mode::LocalWorkflowExecution), None, None, None)
        .unwrap();
    let cs = m.new_compilation_state("p", 1, None);
    m.add_node(cs);
    let mut b = m.new_builder(root);
    Model::with_execution_state(&mut b, Some(es));
    Model::with_compilation_state(&mut b, Some(cs));
    m.enter_conditional_section(&mut b).unwrap();
    let first = b.execution_state.unwrap();
    assert_ne!(first, es, "[COND-3] copies");
    assert_eq!(
        m.execution_state(first).branch_eval_mode,
        Some(Branch::Skipped)
    );
    let new_cs = b.compilation_state.unwrap();
    assert_ne!(new_cs, cs);
    assert_eq!(m.compilation_state(new_cs).prefix, "p");
    assert_eq!(m.node_count(new_cs), 0, "[COND-1] fresh node list");
    // Nested and skipped: a plain copy.
    m.enter_conditional_section(&mut b).unwrap();
    let second = b.execution_state.unwrap();
    assert_ne!(second, first, "[COND-4]");
    // Nested and active: the same object.
    m.take_branch(second);
    m.enter_conditional_section(&mut b).unwrap();
    assert_eq!(b.execution_state, Some(second), "[COND-5]");
    assert!(b.in_a_condition);
    assert_eq!(b.level, 1, "[COND-7] level unchanged");
}

/// flytekit's `test_levels`: clients set on builders are seen in the scopes
/// (1, 2, then 1 again), and the third scope, built from the outer one by
/// the context's `with_new_compilation_state` ([BLD-5]), is level 3 like
/// the second: levels 2, 3, 3, sizes 2, 3, 3.
#[test]
fn flytekit_test_levels() {
    let mut m = compat();
    let root = m.current_context();
    let (client1, client2) = (m.new_opaque(), m.new_opaque());
    let mut b = m.new_builder(root);
    // [BLD-8]: flytekit assigns the field; the setter is the same.
    Model::with_slot(&mut b, Slot::FlyteClient, Some(client1));
    m.with_context(&b, |m, outer| {
        assert_eq!((m.context(outer).fields.level, m.size()), (2, 2));
        let mut b = m.new_builder(outer);
        Model::with_slot(&mut b, Slot::FlyteClient, Some(client2));
        m.with_context(&b, |m, inner| {
            let f = m.context(inner).fields;
            assert_eq!((f.level, m.size()), (3, 3));
            assert_eq!(f.slot(Slot::FlyteClient), Some(client2));
            Ok(())
        })?;
        let b = m.ctx_with_new_compilation_state(outer);
        m.with_context(&b, |m, third| {
            let f = m.context(third).fields;
            assert_eq!((f.level, m.size()), (3, 3));
            assert_eq!(f.slot(Slot::FlyteClient), Some(client1));
            let cs = m.compilation_state(f.compilation_state.unwrap());
            assert_eq!(cs.task_resolver, Some(OpaqueId::DefaultTaskResolver));
            Ok(())
        })
    })
    .unwrap();
}

#[test]
fn with_params_keeps_falsy_arguments() {
    let mut m = compat();
    let es = m
        .new_execution_state(
            "w1",
            Some(Mode::TaskExecution),
            None,
            Some(Branch::Active),
            None,
        )
        .unwrap();
    let es2 = m
        .es_with_params(es, Some("w2"), None, Some(""), None, None)
        .unwrap();
    let s = m.execution_state(es2);
    assert_eq!(
        (s.working_dir.as_str(), s.engine_dir.as_str()),
        ("w2", "w1/engine_dir")
    );
    assert_eq!(s.mode, Some(Mode::TaskExecution));
    assert_eq!(s.branch_eval_mode, Some(Branch::Active));
    let cs = m.new_compilation_state("p", 3, Some(OpaqueId::DefaultTaskResolver));
    let cs2 = m.cs_with_params(cs, None, Some(0), None, Some(cs));
    let s = m.compilation_state(cs2);
    assert_eq!((s.prefix.as_str(), s.mode), ("", 3));
    assert!(!m.share_nodes(cs, cs2), "an empty list is not shared");
    m.add_node(cs);
    let cs3 = m.cs_with_params(cs, Some("q"), None, None, Some(cs));
    assert!(m.share_nodes(cs, cs3));
    m.add_node(cs3);
    assert_eq!(m.node_count(cs), 2);
}

/// [THR-2], [THR-3], on units the model simulates ([PORT-6]).
#[test]
fn compat_threads_leak_through_the_default_stack_and_isolated_ones_do_not() {
    for (profile, leaked_size) in [(Profile::Compat, 1), (Profile::Isolated, 0)] {
        let mut m = Model::new(profile);
        let root = m.current_context();
        m.thread_begin();
        assert_eq!(m.size(), 0);
        m.push_context(root, None);
        m.unit_end();
        m.thread_begin();
        assert_eq!(m.size(), leaked_size, "{profile:?}");
        m.unit_end();
        assert_eq!(m.size(), 1);
    }
}

#[test]
fn tasks_share_in_compat_and_copy_in_isolated() {
    for (profile, parent_size) in [(Profile::Compat, 2), (Profile::Isolated, 1)] {
        let mut m = Model::new(profile);
        let root = m.current_context();
        m.task_begin();
        assert_eq!(m.size(), 1);
        m.push_context(root, None);
        m.unit_end();
        assert_eq!(m.size(), parent_size, "{profile:?}");
    }
}

#[test]
fn signal_handlers_are_one_ordered_list_kept_across_initialize() {
    let mut m = compat();
    m.add_signal_handler("a", None);
    m.thread_begin();
    m.add_signal_handler("b", None);
    m.initialize();
    m.unit_end();
    m.initialize();
    assert_eq!(m.signal_handlers(), ["a", "b"], "[SIG-1], [SIG-3]");
    let out = m.sigint();
    assert_eq!(
        out.ran,
        vec![
            HandlerRun::handler("a", SIGINT),
            HandlerRun::handler("b", SIGINT)
        ],
        "[SIG-2]"
    );
    assert_eq!(out.end, SigintEnd::Exit(1));
}

/// [SIG-2]: a handler added during the dispatch runs in the same pass; a
/// failing one stops the dispatch, with no exit.
#[test]
fn a_dispatch_reads_the_live_list_and_stops_at_a_failure() {
    let mut m = compat();
    m.add_signal_handler("a", Some(Then::Add("late".into())));
    m.add_signal_handler("b", None);
    let out = m.sigint();
    let tags: Vec<_> = out.ran.iter().map(|r| r.tag.clone().unwrap()).collect();
    assert_eq!(tags, ["a", "b", "late"]);
    assert_eq!(out.end, SigintEnd::Exit(1));

    let mut m = compat();
    m.add_signal_handler("a", None);
    m.add_signal_handler("b", Some(Then::Raise("oops".into())));
    m.add_signal_handler("c", None);
    let out = m.sigint();
    assert_eq!(out.ran.len(), 2, "c never runs");
    assert_eq!(out.end, SigintEnd::Raised("oops".into()));
    assert_eq!(
        compat().sigint().end,
        SigintEnd::Exit(1),
        "no handlers: exit 1"
    );
}

/// [SIG-4]: compat replaces the program's handler at every main-thread
/// initialize (explicit or lazy), never in another thread; isolated
/// installs its hook once.
#[test]
fn initialize_replaces_the_program_s_sigint_handler_in_compat_only() {
    let mut m = compat();
    assert_eq!(m.sigint_handler(), &Installed::Hook, "installed at load");
    m.set_program_handler("p");
    let out = m.sigint();
    assert_eq!(out.ran, vec![HandlerRun::program("p", SIGINT)]);
    assert_eq!(out.end, SigintEnd::Returned);
    m.thread_begin();
    m.initialize();
    m.unit_end();
    assert_eq!(m.sigint_handler(), &Installed::Program("p".into()));
    let _ = m.pop_context();
    m.current_context(); // a lazy initialize, on the main thread
    assert_eq!(m.sigint_handler(), &Installed::Hook);

    let mut m = Model::new(Profile::Isolated);
    m.set_program_handler("p");
    m.initialize();
    assert_eq!(m.sigint_handler(), &Installed::Program("p".into()));
}

/// [ES-2] (compat): an engine directory through a file fails, wherever an
/// execution state is made; [COND-8]: so does a conditional section's copy.
/// (isolated): no file system, no failure.
#[test]
fn engine_directories_run_into_files_in_compat_only() {
    let mut m = compat();
    m.make_file("f");
    let fails = |m: &mut Model, wd: &str, engine: Option<&str>| {
        m.new_execution_state(wd, None, engine, None, None)
    };
    assert_eq!(fails(&mut m, "f", None), Err(Failure::EngineDirFailed));
    assert!(
        fails(&mut m, "f", Some("e")).is_ok(),
        "the working dir is not checked"
    );
    assert_eq!(fails(&mut m, "w", Some("f")), Err(Failure::EngineDirFailed));
    let local = m
        .new_execution_state("w", Some(Mode::LocalTaskExecution), Some("e2"), None, None)
        .unwrap();
    m.make_file("e2");
    let again = m.es_with_params(local, None, None, None, None, None);
    assert_eq!(again, Err(Failure::EngineDirFailed), "the kept engine dir");
    let root = m.current_context();
    let mut b = m.new_builder(root);
    Model::with_execution_state(&mut b, Some(local));
    assert_eq!(
        m.enter_conditional_section(&mut b),
        Err(Failure::EngineDirFailed)
    );
    assert_eq!(b.execution_state, Some(local), "[COND-8]");
    assert!(!b.in_a_condition, "[COND-8]");

    let mut m = Model::new(Profile::Isolated);
    m.make_file("f");
    assert!(fails(&mut m, "f", None).is_ok());
}

/// [WITH-8]: a dropped scope cleans up, and its cleanup's error reaches no one.
#[test]
fn a_dropped_scope_cleans_up_silently() {
    let mut m = compat();
    let root = m.current_context();
    let b = m.new_builder(root);
    let c = m.with_enter(&b);
    m.push_context(c, None);
    m.with_drop();
    assert_eq!(m.size(), 1);
    let _ = m.pop_context();
    m.initialize();
    let _ = m.pop_context();
    m.with_enter(&b); // mark 1
    m.with_drop(); // pops the root: popped_root, swallowed
    assert_eq!(m.size(), 0);
}

/// [BLD-6], [BLD-7], [COND-2], [CS-1]
#[test]
fn builders_make_states_and_constructors_share_node_lists() {
    let mut m = compat();
    let root = m.current_context();
    let b = m.new_builder(root);
    let e1 = m.builder_new_execution_state(&b, None).unwrap();
    let e2 = m.builder_new_execution_state(&b, None).unwrap();
    assert_ne!(e1, e2);
    let s = m.execution_state(e1);
    assert_eq!(s.working_dir, format!("{SANDBOX_DIR}/{RANDOM_DIR}"));
    assert_eq!((s.mode, s.user_space_params), (None, None), "[BLD-6]");
    let mut other = b;
    Model::with_slot(&mut other, Slot::FileAccess, None);
    assert_eq!(
        m.builder_new_execution_state(&other, None),
        Err(Failure::NoSandboxDir)
    );
    assert!(m.builder_new_execution_state(&other, Some("w")).is_ok());
    let cs = m.builder_new_compilation_state("p");
    let st = m.compilation_state(cs);
    assert_eq!(
        (st.prefix.as_str(), st.mode, st.task_resolver),
        ("p", 1, None)
    );
    assert!(!m.is_local_execution(e1));
    let local = m
        .new_execution_state("w", Some(Mode::EagerLocalExecution), None, None, None)
        .unwrap();
    assert!(m.is_local_execution(local));
    let empty = m.new_compilation_state("a", 1, None);
    let sharing = m.new_compilation_state_sharing("b", 0, None, Some(empty));
    assert!(m.share_nodes(empty, sharing), "[CS-1]: even an empty list");
    assert_eq!(m.compilation_state(sharing).mode, 0, "no falsy rule");
}

/// [ORIG-1]..[ORIG-4]
#[test]
fn origins_follow_the_last_push_the_scope_entry_and_the_caller_of_initialize() {
    let at = |o: Option<Origin>| match o {
        Some(Origin::At(l)) => (l.file(), l.line()),
        other => panic!("not a location: {other:?}"),
    };
    let mut m = compat();
    let root = m.current_context();
    assert_eq!(
        m.context(root).origin,
        Some(Origin::Library),
        "[ORIG-3]: made at load"
    );
    let init = line!() + 1;
    m.initialize();
    let root = m.current_context();
    assert_eq!(
        at(m.context(root).origin),
        (file!(), init),
        "[ORIG-3]: explicit"
    );
    let _ = m.pop_context();
    let lazy = m.current_context();
    assert_eq!(
        m.context(lazy).origin,
        Some(Origin::Library),
        "[ORIG-3]: lazy"
    );
    let b = m.new_builder(root);
    let c = m.build(&b);
    assert_eq!(m.context(c).origin, None);
    m.push_context(c, None);
    let first = at(m.context(c).origin);
    m.push_context(c, Some(Origin::Op(7)));
    assert_eq!(first.0, file!());
    assert_eq!(
        m.context(c).origin,
        Some(Origin::Op(7)),
        "[ORIG-1] the second push wins"
    );
    let line = line!() + 1;
    let scoped = m.with_enter(&b);
    assert_eq!(at(m.context(scoped).origin).1, line, "[ORIG-2]");
    assert_eq!(at(Some(m.get_origin_stackframe())).1, line!(), "[ORIG-4]");
    let op = Origin::Op(3);
    assert_eq!(
        (
            m.origin_frame(0, op),
            m.origin_frame(1, op),
            m.origin_frame(2, op)
        ),
        (Origin::Library, op, Origin::Outside),
        "[ORIG-4]"
    );
}

fn of(major: u16, minor: u16, patch: u16) -> Model {
    Model::new(Target {
        profile: Profile::Compat,
        release: Release::new(major, minor, patch),
    })
}

/// [REL-3]: releases before 0.22 root their stack in a random directory of
/// the sandbox, and name a builder's random directory with a trailing `/`;
/// before 1.1 an empty stack's current context is none.
#[test]
fn older_releases_initialize_and_read_the_root_as_they_did() {
    let mut m = of(0, 21, 5);
    let root = m.current_context();
    let es = m.execution_state(m.context(root).fields.execution_state.unwrap());
    assert_eq!(es.working_dir, "<sandbox>/<random>/", "[INIT-4]");
    assert_eq!(es.engine_dir, "<sandbox>/<random>/engine_dir");
    let made = m.ctx_new_execution_state(root, None).unwrap();
    assert_eq!(
        m.execution_state(made).working_dir,
        "<sandbox>/<random>/",
        "[ES-8]"
    );
    let builder = m.new_builder(root);
    let made = m.builder_new_execution_state(&builder, None).unwrap();
    let made = m.execution_state(made);
    assert_eq!(
        made.working_dir, "<sandbox>/<random>/",
        "[BLD-6] before 0.22"
    );
    assert_eq!(made.engine_dir, "<sandbox>/<random>/engine_dir");
    let mut later = of(0, 22, 4);
    let root = later.current_context();
    let builder = later.new_builder(root);
    let made = later.builder_new_execution_state(&builder, None).unwrap();
    assert_eq!(
        later.execution_state(made).working_dir,
        "<sandbox>/<random>",
        "[BLD-6]"
    );
    let _ = m.pop_context();
    assert_eq!(m.current_context_of_release(), None, "[CUR-2] before 1.1");
    assert_eq!(m.size(), 0);
    let mut m = of(1, 1, 3);
    let _ = m.pop_context();
    assert!(m.current_context_of_release().is_some());
    assert_eq!(m.size(), 1);
}

/// [REL-3], [THR-1]: before 1.1 one stack serves every thread and task.
#[test]
fn before_1_1_every_unit_shares_one_stack() {
    let mut m = of(1, 0, 5);
    let root = m.current_context();
    m.thread_begin();
    assert_eq!(m.size(), 1, "the thread sees the main thread's stack");
    m.initialize();
    m.unit_end();
    assert_ne!(
        m.current_context(),
        root,
        "initialize in the thread replaced it"
    );
    m.task_begin();
    m.push_context(root, None);
    m.unit_end();
    assert_eq!(m.size(), 2);
    let mut m = of(1, 1, 3);
    m.current_context();
    m.thread_begin();
    assert_eq!(m.size(), 0, "from 1.1, a thread of its own");
}

/// [REL-3]: before 1.9 a conditional section leaves a LOCAL_TASK_EXECUTION
/// state alone (a flytekit bug); before 1.14 a context's new compilation
/// state has no resolver.
#[test]
fn older_releases_copy_fewer_states_and_give_no_resolver() {
    let mut m = of(1, 8, 3);
    let root = m.current_context();
    let es = m
        .new_execution_state("w", Some(Mode::LocalTaskExecution), None, None, None)
        .unwrap();
    let mut b = m.new_builder(root);
    Model::with_execution_state(&mut b, Some(es));
    m.enter_conditional_section(&mut b).unwrap();
    assert_eq!(b.execution_state, Some(es), "kept, [COND-6]");
    let mut m = of(1, 9, 1);
    let root = m.current_context();
    let es = m
        .new_execution_state("w", Some(Mode::LocalTaskExecution), None, None, None)
        .unwrap();
    let mut b = m.new_builder(root);
    Model::with_execution_state(&mut b, Some(es));
    m.enter_conditional_section(&mut b).unwrap();
    assert_ne!(b.execution_state, Some(es), "copied, [COND-3]");
    let mut m = of(1, 13, 15);
    let root = m.current_context();
    let cs = m.ctx_new_compilation_state(root, "p");
    assert_eq!(
        m.compilation_state(cs).task_resolver,
        None,
        "[CS-6] before 1.14"
    );
}
