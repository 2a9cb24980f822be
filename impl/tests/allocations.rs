//! Steady state costs no heap allocation, and memory stays bounded.
//! (Its own test binary: the counting allocator is global to it.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Counts allocations made by the thread that switched counting on.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Relaxed) - before
}

#[test]
fn push_pop_and_current_allocate_nothing_after_warm_up() {
    let root = flytectx::current_context();
    let built = root.new_builder().unwrap().build();
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
    // ([COND-3]), so states are made and freed too, not only contexts.
    let es = flytectx::ExecutionState::new(
        "w",
        Some(flytectx::Mode::LocalTaskExecution),
        None,
        None,
        None,
    )
    .unwrap();
    let base = flytectx::current_context()
        .new_builder()
        .unwrap()
        .with_execution_state(Some(&es))
        .build();
    for i in 0..10_000_000u32 {
        let mut b = base.new_builder();
        if i % 2 == 0 {
            b = b.enter_conditional_section();
        }
        let c = b.build();
        flytectx::push_context(&c).unwrap();
        drop(c);
        drop(flytectx::pop_context().unwrap());
    }
    let s = flytectx::arena_stats();
    // Alive: the root, `base`; their states. Slots: a few more for the cycle.
    assert!(s.context_slots <= 4, "{s:?}");
    assert!(s.execution_state_slots <= 4, "{s:?}");
    assert_eq!(s.live_contexts, 2, "{s:?}");
}
