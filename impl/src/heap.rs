//! The per-thread heap: the arena of contexts, the thread's own stack, and
//! the thread locals that reach them.
//!
//! Why per thread: contexts are not thread-safe in flytekit and need not be
//! here; keeping everything of a thread in one place makes every operation a
//! few plain loads and stores, with no atomics and no locks ([THR-3], [THR-4]).
//! Every handle type is `!Send`, so the compiler keeps objects in their thread.
//!
//! Why one constant-initialized thread local with no destructor of its own,
//! reached by every handle: its fields sit at fixed offsets from the thread
//! pointer, so an operation reaches the arena and the stack with no pointer
//! to follow, no reference count to keep (strong handles are one word) and
//! no check that the local is still alive (a local with a destructor is
//! checked at every access). The heap is freed by a second local,
//! [`Teardown`], registered when the arena first grows: when the thread
//! ends it takes the heap out, leaves a *torn-down* one in its place that
//! takes no new context, and drops the old one. From then on every handle's
//! operations fail with `Error::ThreadExiting` (or do nothing, when
//! dropped): the contexts went with the heap. The check for that is on the
//! paths that fail or grow, never on the others.
//!
//! Dropping a context may run user code (an opaque value's `Drop`, through
//! the parts it shares). It must never run during an access to the heap
//! ([`heap_mut`] says why): whoever takes a freed context out of the arena
//! drops it after the access ends ([`release_at`]).

use crate::arena::{Arena, CtxHandle, NewContext};
use crate::data::{DefaultTaskResolver, LocalFileAccess, Opaque};
use std::cell::{Cell, UnsafeCell};
use std::mem::ManuallyDrop;
use std::rc::Rc;

/// Everything of one thread that operations change.
pub(crate) struct Heap {
    pub(crate) contexts: Arena,
    /// The stack of the thread-local facade (`flytectx::push_context`, ...),
    /// as the arena indices of its entries, bottom first. Each entry owns
    /// its context, so an index is enough (half a handle's size).
    pub(crate) thread_stack: Vec<u32>,
    /// The last stack id given out ([`StackId`]).
    last_stack_id: u64,
}

impl Heap {
    const fn new() -> Heap {
        Heap {
            contexts: Arena::new(),
            thread_stack: Vec::new(),
            last_stack_id: StackId::THREAD.0,
        }
    }

    /// An id no other stack of this thread has had.
    pub(crate) fn new_stack_id(&mut self) -> StackId {
        self.last_stack_id += 1;
        StackId(self.last_stack_id)
    }
}

/// Tells the stacks of a thread apart, so that a scope is left only on the
/// stack that entered it. Ids are never reused within a thread, and scopes
/// cannot leave their thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StackId(u64);

impl StackId {
    /// The thread-local facade's stack.
    pub(crate) const THREAD: StackId = StackId(0);
}

/// [OBS-5]: this thread's default file access and task resolver. Objects
/// are per thread, so the defaults are too.
struct Defaults {
    file_access: Opaque,
    task_resolver: Opaque,
}

thread_local! {
    /// The top of the thread stack (`heap.thread_stack`), mirrored in a
    /// thread local of its own: constant-initialized and without a
    /// destructor, reading it is one load, with no lazy-initialization check
    /// and no heap access ([CUR-1]). `None` also while the stack is empty. It
    /// outlives the stack at thread exit; a handle read from it then names
    /// nothing reachable, and using it fails with `Error::ThreadExiting`.
    pub(crate) static CURRENT: Cell<Option<CtxHandle>> = const { Cell::new(None) };

    /// `ManuallyDrop`: no destructor, so no liveness check at each access;
    /// [`Teardown`] frees what it holds. An `UnsafeCell`, not a `RefCell`:
    /// only [`heap_mut`] reaches it (see there why that is sound); a
    /// `RefCell`'s flag, checked and set at every access, was 13 of
    /// push+pop's 75 instructions and about 30 of derive+build+push+pop's
    /// 180.
    static HEAP: UnsafeCell<ManuallyDrop<Heap>> = const { UnsafeCell::new(ManuallyDrop::new(Heap::new())) };

    static TEARDOWN: Teardown = const { Teardown };

    static DEFAULTS: Defaults = Defaults {
        file_access: Rc::new(LocalFileAccess::default_sandbox()),
        task_resolver: Rc::new(DefaultTaskResolver),
    };
}

/// Frees the heap when the thread ends (see the module's documentation).
struct Teardown;

impl Drop for Teardown {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(None));
        let mut torn_down = Heap::new();
        torn_down.contexts.tear_down();
        let old = HEAP.with(|h| heap_mut(h, |heap| std::mem::replace(&mut **heap, torn_down)));
        // After the access: what the contexts held may run code that uses
        // the stack, which finds it torn down.
        drop(old);
    }
}

/// Why a heap access stored nothing. Nothing is allocated inside an access
/// (see [`heap_mut`]): an access that would have to grow a vector says so
/// instead, and its caller grows it outside ([`make_room_in_arena`],
/// `StackHost::make_room`) and tries again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoRoom {
    /// The arena has no free slot and no spare capacity.
    Arena,
    /// The stack to push on is full.
    Stack,
    /// The thread is torn down: its heap takes no context.
    TornDown,
}

/// Store a new context with one owner (its caller's): in a free slot, or in
/// a new one within the arena's capacity. On failure `new` is as it was.
#[inline]
pub(crate) fn insert(arena: &mut Arena, new: &mut NewContext) -> Result<CtxHandle, NoRoom> {
    match arena.insert_free(new) {
        Some(h) => Ok(h),
        None => insert_in_spare(arena, new),
    }
}

/// [`insert`] when no slot is free.
#[cold]
#[inline(never)]
fn insert_in_spare(arena: &mut Arena, new: &mut NewContext) -> Result<CtxHandle, NoRoom> {
    if arena.is_torn_down() {
        return Err(NoRoom::TornDown);
    }
    arena.push_within_capacity(new).ok_or(NoRoom::Arena)
}

/// Store `new` in its own access, in a free slot; when there is none, in a
/// new one, the arena grown as often as needed. None only while the thread
/// is torn down.
#[inline]
pub(crate) fn insert_context(mut new: NewContext) -> Option<CtxHandle> {
    match with_heap(|h| h.contexts.insert_free(&mut new)) {
        Some(h) => Some(h),
        None => insert_context_growing(new),
    }
}

/// [`insert_context`] with no free slot. `new` comes by value, so that on
/// the usual path it never leaves the registers for a call's sake.
#[cold]
#[inline(never)]
fn insert_context_growing(mut new: NewContext) -> Option<CtxHandle> {
    // At most one growth is needed.
    for _ in 0..2 {
        match with_heap(|h| insert(&mut h.contexts, &mut new)) {
            Ok(h) => return Some(h),
            Err(NoRoom::TornDown) => return None,
            Err(_) => make_room_in_arena(),
        }
    }
    room_not_made()
}

/// Grow the arena, allocating outside any heap access; with its first
/// growth the thread's teardown is registered (which may allocate too).
#[cold]
#[inline(never)]
pub(crate) fn make_room_in_arena() {
    TEARDOWN.with(|_| ());
    make_room(|h| h.contexts.slots_to_grow());
}

/// Grow the thread's stack, allocating outside any heap access.
#[cold]
#[inline(never)]
pub(crate) fn make_room_in_thread_stack() {
    make_room(|h| &mut h.thread_stack);
}

/// Give the vector `reach` finds in the heap room for twice its entries:
/// the new buffer is allocated, and the old one freed, outside any heap
/// access; only the move of the entries happens inside one. (Nothing runs
/// between the two accesses, so the length the first reads holds in the
/// second, and the move never allocates.)
fn make_room<T>(reach: impl Fn(&mut Heap) -> &mut Vec<T>) {
    let wanted = with_heap(|h| {
        let v = reach(h);
        (v.len() == v.capacity()).then(|| (2 * v.len()).max(4))
    });
    let Some(wanted) = wanted else { return };
    let mut bigger = Vec::with_capacity(wanted);
    let emptied = with_heap(|h| {
        let v = reach(h);
        bigger.append(v);
        std::mem::swap(v, &mut bigger);
        bigger
    });
    drop(emptied);
}

/// A copy of the thread's stack, allocated outside any heap access (filled
/// in one, within its capacity: see [`make_room`] why it fits).
pub(crate) fn copy_of_thread_stack() -> Vec<u32> {
    let mut copy = Vec::with_capacity(read_heap(|h| h.thread_stack.len()));
    read_heap(|h| copy.extend_from_slice(&h.thread_stack));
    copy
}

/// A retry loop found no room after making it: a bug of this crate.
#[cold]
#[inline(never)]
pub(crate) fn room_not_made() -> ! {
    unreachable!("room was made for a context or a stack entry, and then not found")
}

/// Run `f` on this thread's heap. `f` must drop no context (see the
/// module's documentation).
#[inline]
pub(crate) fn with_heap<R>(f: impl FnOnce(&mut Heap) -> R) -> R {
    match HEAP.try_with(|h| heap_mut(h, |heap| f(heap))) {
        Ok(r) => r,
        Err(_) => unreachable!("a thread local without a destructor is always there"),
    }
}

/// Read this thread's heap, in an access like [`with_heap`]'s.
#[inline]
pub(crate) fn read_heap<R>(f: impl FnOnce(&Heap) -> R) -> R {
    match HEAP.try_with(|h| heap_mut(h, |heap| f(heap))) {
        Ok(r) => r,
        Err(_) => unreachable!("a thread local without a destructor is always there"),
    }
}

/// The one place that turns the thread's heap cell into a reference.
///
/// Sound because while `f` runs nothing reaches the heap again: every `f`
/// is a closure of this crate (through [`with_heap`], [`read_heap`] and
/// the teardown) that works on the arena and the stacks only, and runs no
/// code but this crate's and the standard library's plain data moves:
/// - no callback, and no value of the user's is dropped: what a freed
///   context shared is handed out and dropped after `f` returns (cloning a
///   counted reference runs no user code);
/// - no allocation or deallocation (the global allocator is the program's
///   code, and may be anything): a vector that must grow is grown outside
///   ([`NoRoom`]), and whatever a closure frees is dropped after it;
/// - no panic (the panic hook is the program's code too): the one
///   impossible-but-reachable failure inside, 2^32 owners of a context,
///   aborts the process, as `Rc` does on the same overflow;
/// - no function of this crate that reaches the heap.
///
/// The cell is a thread local and every handle is `!Send`, so no other
/// thread reaches it. Debug builds (fuzzing too) and the crate's unit tests
/// check the rule: a second access during an access panics, and
/// `heap::tests` fails on an allocation or free during one.
#[inline(always)]
#[allow(unsafe_code)]
fn heap_mut<R>(
    cell: &UnsafeCell<ManuallyDrop<Heap>>,
    f: impl FnOnce(&mut ManuallyDrop<Heap>) -> R,
) -> R {
    let _access = Access::begin();
    // SAFETY: the only reference to the heap while `f` runs: see above.
    f(unsafe { &mut *cell.get() })
}

/// Debug and test builds: marks a heap access under way, to catch a second
/// one. (Other builds keep no mark: the rule above holds by construction.)
struct Access;

#[cfg(any(debug_assertions, test))]
thread_local! {
    static IN_ACCESS: Cell<bool> = const { Cell::new(false) };
}

impl Access {
    #[inline(always)]
    fn begin() -> Access {
        #[cfg(any(debug_assertions, test))]
        if IN_ACCESS.replace(true) {
            panic!("the thread's heap was reached during an access to it");
        }
        Access
    }

    /// Whether a heap access is under way on this thread.
    #[cfg(test)]
    fn under_way() -> bool {
        IN_ACCESS.get()
    }
}

impl Drop for Access {
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(any(debug_assertions, test))]
        IN_ACCESS.set(false);
    }
}

/// Remove the owner of the context in slot `index` (a strong handle, a
/// stack entry); if it was the last, free it and drop what it shared after
/// the heap access has ended. (After the teardown, nothing is found: the
/// context went with the heap.)
#[inline(always)]
pub(crate) fn release_at(index: u32) {
    let freed = with_heap(|h| h.contexts.release_at(index));
    drop(freed);
}

/// This thread's default file-access provider ([OBS-5]), a [`LocalFileAccess`].
pub fn default_file_access() -> Option<Opaque> {
    DEFAULTS.try_with(|d| Rc::clone(&d.file_access)).ok()
}

/// This thread's default task resolver ([OBS-5], [CS-6]).
pub fn default_task_resolver() -> Option<Opaque> {
    DEFAULTS.try_with(|d| Rc::clone(&d.task_resolver)).ok()
}

/// How much of this thread's context arena is in use; for tests and
/// monitoring. (States are counted objects, freed with their last holder.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaStats {
    /// Contexts alive: on a stack or held by a strong handle.
    pub live_contexts: usize,
    /// Slots allocated, alive or free: the arena's memory, in contexts.
    pub context_slots: usize,
}

/// The arena sizes of this thread's heap ([`ArenaStats`]).
pub fn arena_stats() -> ArenaStats {
    read_heap(|h| ArenaStats {
        live_contexts: h.contexts.live(),
        context_slots: h.contexts.capacity(),
    })
}

/// The rule of [`heap_mut`], checked: no heap access allocates or frees,
/// even while the arena and the stacks grow, in any operation of the
/// crate, up to the thread's teardown. (A second access during one is
/// checked by [`Access`] itself, in every debug or test build.)
#[cfg(test)]
mod tests {
    use super::Access;
    use crate::{
        enter_context, fork, initialize, pop_context, push_context, with_context, CompilationState,
        ContextManager, ExecutionState, Mode,
    };
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The system allocator, counting what it does during a heap access.
    struct WatchingAccesses;

    /// Allocations and frees during a heap access, on any thread.
    static DURING_ACCESS: AtomicUsize = AtomicUsize::new(0);

    fn watch() {
        if Access::under_way() {
            DURING_ACCESS.fetch_add(1, Ordering::Relaxed);
        }
    }

    // The test's allocator: the one unsafe trait this crate implements.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for WatchingAccesses {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            watch();
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            watch();
            // SAFETY: the caller's contract, passed on.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            watch();
            // SAFETY: the caller's contract, passed on.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: WatchingAccesses = WatchingAccesses;

    /// Every operation, on a new thread (so the arena and the stacks start
    /// empty and grow several times), then the thread's end.
    fn every_operation() {
        let root = crate::current_context();
        let kept: Vec<_> = (0..100)
            .map(|_| root.new_builder().unwrap().build().unwrap())
            .collect();
        for ctx in &kept {
            push_context(ctx).unwrap();
        }
        let es =
            ExecutionState::new("/w", Some(Mode::LocalTaskExecution), None, None, None).unwrap();
        let cs = CompilationState::new("p", 1, None);
        let builder = root
            .new_builder()
            .unwrap()
            .with_execution_state(Some(&es))
            .with_compilation_state(Some(&cs))
            .enter_conditional_section();
        with_context(builder, |ctx| {
            let guards: Vec<_> = (0..50)
                .map(|_| enter_context(ctx.new_builder().unwrap()))
                .collect();
            drop(guards);
            Ok::<_, ()>(())
        })
        .unwrap();
        let mut m = ContextManager::new().unwrap();
        for ctx in &kept {
            m.push_context(ctx).unwrap();
        }
        let scope = m.enter_context(root.new_builder().unwrap());
        drop(scope);
        let forked = m.fork().unwrap();
        assert_eq!(forked.entries().len(), 101);
        let thread_fork = fork().unwrap();
        assert_eq!(thread_fork.size(), 101);
        drop((m, forked, thread_fork));
        for _ in &kept {
            pop_context().unwrap();
        }
        drop(kept);
        initialize();
        assert!(pop_context().is_err(), "the root goes, with an error");
        let _ = crate::current_context();
    }

    #[test]
    fn no_heap_access_allocates_or_frees() {
        std::thread::spawn(every_operation).join().unwrap();
        assert_eq!(
            DURING_ACCESS.load(Ordering::Relaxed),
            0,
            "allocations or frees during a heap access"
        );
    }
}
