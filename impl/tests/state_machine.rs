//! The Rust API of `flytectx` against the model, as a proptest state machine.
//!
//! The model (`flytectx-model`, isolated profile) is the reference for every
//! stack operation. On top of it the reference tracks what the spec leaves to
//! a Rust implementation: which contexts are still alive. A context lives
//! while it is on the stack or a strong handle holds it; after that every
//! weak handle to it is stale, and using one must fail with `Error::Stale`
//! (builds from stale contexts, pushes of them, reads through them), never
//! reach another object or panic. Scopes are left in any order, as guards
//! allow.

use flytectx::{Context, ContextGuard, ContextRef, Error, PopError};
use flytectx_model::model::{CtxId, Failure, Model, Origin};
use flytectx_model::Profile;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};

#[derive(Clone, Debug)]
enum Transition {
    Current,
    Size,
    Push(usize),
    /// Pop and drop what was popped.
    Pop,
    /// Pop and keep a strong handle to it.
    PopHold,
    Build {
        from: usize,
        conditional: bool,
    },
    Enter {
        from: usize,
        conditional: bool,
    },
    /// Leave the open scope at this position (any, not only the innermost).
    Exit(usize),
    Release(usize),
    Upgrade(usize),
    ReadWeak(usize),
    Initialize,
}

#[derive(Clone, Debug)]
struct Reference {
    model: Model,
    /// Every context the test has a weak handle to, in order of appearance.
    known: Vec<CtxId>,
    dead: Vec<bool>,
    /// Strong handles the test holds, as indices into `known`.
    held: Vec<usize>,
    /// Open scopes: (index into `known` of the scope's context, mark).
    scopes: Vec<(usize, usize)>,
}

impl Reference {
    fn know(&mut self, c: CtxId) -> usize {
        match self.known.iter().position(|&k| k == c) {
            Some(i) if !self.dead[i] => i,
            _ => {
                self.known.push(c);
                self.dead.push(false);
                self.known.len() - 1
            }
        }
    }

    /// A context dies when nothing owns it any more: no stack entry, no strong handle.
    fn collect(&mut self) {
        let on_stack = self.model.stack_entries().to_vec();
        for i in 0..self.known.len() {
            if !self.dead[i] && !on_stack.contains(&self.known[i]) && !self.held.contains(&i) {
                self.dead[i] = true;
            }
        }
    }

    fn pick(&self, i: usize) -> Option<usize> {
        (!self.known.is_empty()).then(|| i % self.known.len())
    }
}

struct Api;

impl ReferenceStateMachine for Api {
    type State = Reference;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Reference> {
        Just(Reference {
            model: Model::new(Profile::Isolated),
            known: vec![],
            dead: vec![],
            held: vec![],
            scopes: vec![],
        })
        .boxed()
    }

    fn transitions(_: &Reference) -> BoxedStrategy<Transition> {
        let i = 0..64usize;
        prop_oneof![
            4 => Just(Transition::Current),
            2 => Just(Transition::Size),
            4 => i.clone().prop_map(Transition::Push),
            3 => Just(Transition::Pop),
            1 => Just(Transition::PopHold),
            3 => (i.clone(), any::<bool>()).prop_map(|(from, conditional)| Transition::Build { from, conditional }),
            3 => (i.clone(), any::<bool>()).prop_map(|(from, conditional)| Transition::Enter { from, conditional }),
            3 => i.clone().prop_map(Transition::Exit),
            2 => i.clone().prop_map(Transition::Release),
            2 => i.clone().prop_map(Transition::Upgrade),
            3 => i.prop_map(Transition::ReadWeak),
            1 => Just(Transition::Initialize),
        ]
        .boxed()
    }

    fn apply(mut s: Reference, t: &Transition) -> Reference {
        match *t {
            Transition::Current => {
                let c = s.model.current_context();
                s.know(c);
            }
            Transition::Size | Transition::ReadWeak(_) => {}
            Transition::Push(k) => {
                if let Some(k) = s.pick(k).filter(|&k| !s.dead[k]) {
                    s.model.push_context(s.known[k], None);
                }
            }
            Transition::Pop | Transition::PopHold => {
                let top = s.model.stack_entries().last().copied();
                let popped = s.model.pop_context();
                // [POP-2]: a popped root is handed over too.
                let handed_over = matches!(popped, Ok(_) | Err(Failure::PoppedRoot));
                if let (Transition::PopHold, true, Some(c)) = (t, handed_over, top) {
                    let i = s.know(c);
                    s.held.push(i);
                }
            }
            Transition::Build { from, conditional } | Transition::Enter { from, conditional } => {
                if let Some(k) = s.pick(from).filter(|&k| !s.dead[k]) {
                    let mut b = s.model.new_builder(s.known[k]);
                    if conditional {
                        s.model
                            .enter_conditional_section(&mut b)
                            .expect("isolated: no engine directory is made, so nothing fails");
                    }
                    if let Transition::Build { .. } = t {
                        let c = s.model.build(&b);
                        let i = s.know(c);
                        s.held.push(i);
                    } else {
                        let (c, mark) = s.model.enter_scope(&b, Origin::caller());
                        let i = s.know(c);
                        s.scopes.push((i, mark));
                    }
                }
            }
            Transition::Exit(i) => {
                if !s.scopes.is_empty() {
                    let (_, mark) = s.scopes.remove(i % s.scopes.len());
                    let _ = s.model.exit_scope(mark, None);
                }
            }
            Transition::Release(i) => {
                if !s.held.is_empty() {
                    let n = i % s.held.len();
                    s.held.remove(n);
                }
            }
            Transition::Upgrade(k) => {
                if let Some(k) = s.pick(k).filter(|&k| !s.dead[k]) {
                    s.held.push(k);
                }
            }
            Transition::Initialize => s.model.initialize(),
        }
        s.collect();
        s
    }
}

/// The system under test: the thread-local facade, and the handles the test holds.
struct Sut {
    known: Vec<ContextRef>,
    held: Vec<Context>,
    scopes: Vec<ContextGuard>,
}

impl StateMachineTest for Api {
    type SystemUnderTest = Sut;
    type Reference = Api;

    fn init_test(_: &Reference) -> Sut {
        // Each case starts from a fresh stack, like the reference's new model.
        flytectx::initialize();
        Sut {
            known: vec![],
            held: vec![],
            scopes: vec![],
        }
    }

    fn apply(mut sut: Sut, r: &Reference, t: Transition) -> Sut {
        // `r` is the reference *after* the transition.
        let expect_known = |sut: &mut Sut, got: ContextRef| {
            // A new entry of `known` in the reference means a new object here.
            while sut.known.len() < r.known.len() {
                sut.known.push(got);
            }
        };
        match t {
            Transition::Current => {
                let c = flytectx::current_context();
                let top = r.model.stack_entries().last().copied();
                let i = (0..r.known.len())
                    .find(|&i| !r.dead[i] && Some(r.known[i]) == top)
                    .expect("current is known");
                expect_known(&mut sut, c);
                assert_eq!(
                    sut.known[i], c,
                    "current_context names the object the model names"
                );
                assert_eq!(c.level(), Ok(r.model.context(r.known[i]).fields.level));
            }
            Transition::Size => assert_eq!(flytectx::size(), r.model.size()),
            Transition::Push(k) => {
                if !sut.known.is_empty() {
                    let k = k % sut.known.len();
                    let got = flytectx::push_context(sut.known[k]);
                    if r.dead[k] {
                        assert_eq!(got, Err(Error::Stale), "pushing a freed context");
                    } else {
                        assert_eq!(got, Ok(sut.known[k]), "push returns the object itself");
                    }
                }
            }
            Transition::Pop | Transition::PopHold => {
                let got = flytectx::pop_context();
                match (&got, r.model.size()) {
                    (Err(PopError::Empty), 0) => {}
                    (Err(PopError::PoppedRoot(_)), 0) => {}
                    (Ok(_), n) => assert!(n >= 1),
                    (other, n) => panic!("pop gave {other:?} with {n} left in the model"),
                }
                if let (Transition::PopHold, Ok(c) | Err(PopError::PoppedRoot(c))) = (&t, got) {
                    expect_known(&mut sut, c.weak());
                    sut.held.push(c);
                }
            }
            Transition::Build { from, conditional } | Transition::Enter { from, conditional } => {
                if !sut.known.is_empty() {
                    let k = from % sut.known.len();
                    match sut.known[k].new_builder() {
                        Err(e) => assert!(
                            r.dead[k] && e == Error::Stale,
                            "new_builder: {e:?}, dead: {}",
                            r.dead[k]
                        ),
                        Ok(mut b) => {
                            assert!(!r.dead[k], "a freed context gave a builder");
                            if conditional {
                                b = b.enter_conditional_section();
                            }
                            let made = if let Transition::Build { .. } = t {
                                let c = b.build().expect("a live thread can build");
                                let weak = c.weak();
                                sut.held.push(c);
                                weak
                            } else {
                                let g = flytectx::enter_context(b);
                                let weak = g.context();
                                sut.scopes.push(g);
                                weak
                            };
                            expect_known(&mut sut, made);
                            let model_level =
                                r.model.context(*r.known.last().unwrap()).fields.level;
                            assert_eq!(made.level(), Ok(model_level));
                        }
                    }
                }
            }
            Transition::Exit(i) => {
                if !sut.scopes.is_empty() {
                    let g = sut.scopes.remove(i % sut.scopes.len());
                    let _ = g.exit();
                    assert_eq!(
                        flytectx::size(),
                        r.model.size(),
                        "size after leaving a scope"
                    );
                }
            }
            Transition::Release(i) => {
                if !sut.held.is_empty() {
                    let n = i % sut.held.len();
                    sut.held.remove(n);
                }
            }
            Transition::Upgrade(k) => {
                if !sut.known.is_empty() {
                    let k = k % sut.known.len();
                    match sut.known[k].upgrade() {
                        Ok(c) => {
                            assert!(!r.dead[k]);
                            sut.held.push(c);
                        }
                        Err(e) => assert!(r.dead[k] && e == Error::Stale, "{e:?}"),
                    }
                }
            }
            Transition::ReadWeak(k) => {
                if !sut.known.is_empty() {
                    let k = k % sut.known.len();
                    match sut.known[k].level() {
                        Ok(level) => {
                            assert!(!r.dead[k], "a freed context was read");
                            assert_eq!(level, r.model.context(r.known[k]).fields.level);
                        }
                        Err(e) => assert!(r.dead[k] && e == Error::Stale, "{e:?}"),
                    }
                }
            }
            Transition::Initialize => flytectx::initialize(),
        }
        // Liveness agrees after every step.
        for (k, weak) in sut.known.iter().enumerate() {
            assert_eq!(
                weak.is_alive(),
                !r.dead[k],
                "liveness of known context {k} after {t:?}"
            );
        }
        assert_eq!(flytectx::size(), r.model.size(), "size after {t:?}");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { max_shrink_iters: 10_000, ..ProptestConfig::default() })]
    #[test]
    fn the_rust_api_follows_the_model_and_detects_stale_handles(sequential 1..200 => Api);
}
