//! Steady state costs no heap allocation, memory stays bounded, and a live
//! context or stack entry takes at most half the memory the model's does.
//! (Its own test binary: the counting allocator is global to it.)

use flytectx_model::{Model, Profile};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations, and the bytes held, of each thread while it has
/// switched counting on (tests run in parallel: the counts are per thread).
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed while counting.
    static NET_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

fn count(allocations: usize, bytes: isize) {
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + allocations));
    let _ = NET_BYTES.try_with(|b| b.set(b.get() + bytes));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            count(1, layout.size() as isize);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counting() {
            count(0, -(layout.size() as isize));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            count(1, new_size as isize - layout.size() as isize);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.get();
    COUNTING.set(true);
    f();
    COUNTING.set(false);
    ALLOCATIONS.get() - before
}

#[test]
fn push_pop_and_current_allocate_nothing_after_warm_up() {
    let root = flytectx::current_context();
    let built = root.new_builder().unwrap().build().unwrap();
    let cycle = || {
        let c = flytectx::current_context();
        flytectx::push_context(&built).unwrap();
        flytectx::push_context(c).unwrap();
        std::hint::black_box(flytectx::current_context());
        drop(flytectx::pop_context().unwrap());
        drop(flytectx::pop_context().unwrap());
    };
    for _ in 0..1_000 {
        cycle();
    }
    let n = allocations_during(|| {
        for _ in 0..1_000_000 {
            cycle();
        }
    });
    assert_eq!(n, 0, "heap allocations in 10^6 push/pop/current cycles");
    assert_eq!(flytectx::size(), 1);
}

#[test]
fn with_context_allocates_nothing_after_warm_up() {
    let cycle = || {
        let b = flytectx::current_context().new_builder().unwrap();
        flytectx::with_context(b, |c| Ok::<_, ()>(std::hint::black_box(c))).unwrap();
    };
    for _ in 0..1_000 {
        cycle();
    }
    assert_eq!(allocations_during(|| (0..100_000).for_each(|_| cycle())), 0);
}

#[test]
fn the_arena_stays_bounded_over_ten_million_build_push_pop_cycles() {
    // A local execution state makes every conditional section copy it
    // ([COND-3]), so states are made and freed too, not only contexts. Each
    // copy holds the user value: a copy never freed would show in its count.
    let user_value: flytectx::Opaque = std::rc::Rc::new(0u8);
    let es = flytectx::ExecutionState::new(
        "w",
        Some(flytectx::Mode::LocalTaskExecution),
        None,
        None,
        Some(user_value.clone()),
    )
    .unwrap();
    let base = flytectx::current_context()
        .new_builder()
        .unwrap()
        .with_execution_state(Some(&es))
        .build()
        .unwrap();
    for i in 0..10_000_000u32 {
        let mut b = base.new_builder().unwrap();
        if i % 2 == 0 {
            b = b.enter_conditional_section();
        }
        let c = b.build().unwrap();
        flytectx::push_context(&c).unwrap();
        drop(c);
        drop(flytectx::pop_context().unwrap());
    }
    let s = flytectx::arena_stats();
    // Alive: the root, `base`; their states. Slots: a few more for the cycle.
    assert!(s.context_slots <= 4, "{s:?}");
    assert_eq!(s.live_contexts, 2, "{s:?}");
    assert_eq!(
        std::rc::Rc::strong_count(&user_value),
        2,
        "held here and by `es` only: every copied state was freed"
    );
}

/// Net bytes the heap gained while `f` ran on this thread.
fn bytes_during(f: impl FnOnce()) -> isize {
    let before = NET_BYTES.get();
    COUNTING.set(true);
    f();
    COUNTING.set(false);
    NET_BYTES.get() - before
}

/// Per live context: N contexts derived from the current one (the scope's
/// common case: nothing changed) and kept alive, in each crate's own terms
/// (strong handles for the impl, the model's append-only heap). Per stack
/// entry: the root pushed N more times. The holders' own vector is made
/// before counting, so only what each crate allocates is counted.
#[test]
fn a_live_context_and_a_stack_entry_take_at_most_half_the_models_memory() {
    const N: usize = 100_000;
    std::thread::spawn(|| {
        let root = flytectx::current_context();
        let mut held = Vec::with_capacity(N);
        let impl_ctx = bytes_during(|| {
            for _ in 0..N {
                held.push(root.new_builder().unwrap().build().unwrap());
            }
        });
        let impl_entry = bytes_during(|| {
            for _ in 0..N {
                flytectx::push_context(root).unwrap();
            }
        });
        let mut changed = Vec::with_capacity(N);
        let value: flytectx::Opaque = std::rc::Rc::new(());
        let impl_changed = bytes_during(|| {
            for _ in 0..N {
                let b = root.new_builder().unwrap().with_client(Some(value.clone()));
                changed.push(b.build().unwrap());
            }
        });

        let mut m = Model::new(Profile::Isolated);
        let top = m.current_context();
        let mut kept = Vec::with_capacity(N);
        let model_ctx = bytes_during(|| {
            for _ in 0..N {
                kept.push(m.build(&m.new_builder(top)));
            }
        });
        let model_entry = bytes_during(|| {
            for _ in 0..N {
                m.push_context(top, None);
            }
        });
        let per = |b: isize| b as f64 / N as f64;
        println!(
            "bytes per live context: impl {:.1} (with one field changed: {:.1}), model {:.1}",
            per(impl_ctx),
            per(impl_changed),
            per(model_ctx)
        );
        println!(
            "bytes per stack entry: impl {:.1}, model {:.1}",
            per(impl_entry),
            per(model_entry)
        );
        assert!(
            impl_ctx > 0 && impl_entry > 0,
            "the counting allocator counts"
        );
        assert!(
            2 * impl_ctx <= model_ctx,
            "a context: impl {impl_ctx} B, model {model_ctx} B for {N}"
        );
        assert!(
            2 * impl_entry <= model_entry,
            "a stack entry: impl {impl_entry} B, model {model_entry} B for {N}"
        );
        drop((held, changed, kept));
    })
    .join()
    .unwrap();
}

#[test]
fn the_arena_and_the_stack_grow_geometrically() {
    // A new thread: its arena and stack start empty. 10 000 contexts kept
    // alive and pushed make each grow from nothing; doubling takes about
    // log2(10 000) ≈ 13 allocations apiece, growing by a constant would
    // take thousands.
    std::thread::spawn(|| {
        const N: usize = 10_000;
        let root = flytectx::current_context();
        let mut kept = Vec::with_capacity(N);
        let n = allocations_during(|| {
            for _ in 0..N {
                let ctx = root.new_builder().unwrap().build().unwrap();
                flytectx::push_context(&ctx).unwrap();
                kept.push(ctx);
            }
        });
        assert_eq!(flytectx::size(), N + 1);
        assert!(n <= 40, "{n} allocations to hold {N} contexts");
    })
    .join()
    .unwrap();
}
