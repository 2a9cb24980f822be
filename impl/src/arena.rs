//! The slab where the contexts of a thread live: generational slots with
//! owner counts, and a context's fields written straight into its slot.
//!
//! Invariants:
//! - A slot's generation is odd while the slot is occupied and even while it
//!   is vacant. Handles are made from occupied slots only, so every handle's
//!   generation is odd, and a handle names a live context exactly while its
//!   slot's generation equals the handle's: one compare says both "this
//!   context" and "still alive". Vacating moves the generation on, so every
//!   old handle is *stale*: every lookup with it fails.
//! - Generations only grow. A slot whose generation would overflow is
//!   retired: left vacant (generation 0, even) and off the free list, so no
//!   handle can come back to life. Memory stays bounded by the most contexts
//!   alive at once (plus one retired slot per 2^31 reuses of a slot).
//! - Occupied: `link` is the number of owners (stack entries and strong
//!   handles), at least 1, and `shared` is set. Vacant: `link` names the
//!   next free slot (`END` ends the list; `free_head` starts it), and
//!   `shared` is empty: the parts a context shared were handed out when it
//!   was freed, to be dropped after the heap access ([`Freed`]).
//! - An owner may hold a bare slot index instead of a handle (a stack entry,
//!   to be half the size; a strong handle): the slot it owns cannot be
//!   vacated under it, so no generation check is needed.
//!
//! Why fields in the slot, not an `Option` of a context value: a context is
//! written and freed field by field, with plain stores; moving a whole value
//! in and out made the compiler build it on the stack and copy it with wide
//! loads that could not be forwarded from the narrow stores before them.
//!
//! No `unsafe`: a lookup is a bounds-checked index and a generation compare.

use crate::data::{Flag, Shared};
use crate::error::Error;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::panic::Location;
use std::rc::Rc;

/// Names a `T` in its arena: slot index (high half) and generation (low
/// half) in one word, so that copying one is a single load and store. The
/// type parameter keeps a handle of one kind from naming another kind.
pub(crate) struct Handle<T> {
    bits: NonZeroU64,
    _names: PhantomData<fn() -> T>,
}

// Derives would bound these on `T`; a handle is a number whatever it names.
impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}
impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}
impl<T> Eq for Handle<T> {}
impl<T> std::hash::Hash for Handle<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits.hash(state)
    }
}
impl<T> std::fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handle({}v{})", self.index(), self.generation())
    }
}

impl<T> Handle<T> {
    /// The handle of slot `index` at an odd (occupied) `generation`. The
    /// low bit set makes the word non-zero with no check.
    #[inline]
    pub(crate) fn new(index: u32, generation: u32) -> Handle<T> {
        Handle::from_stamp(stamp(index, generation))
    }
    /// The handle whose bits are an occupied slot's stamp.
    #[inline]
    fn from_stamp(stamp: u64) -> Handle<T> {
        Handle {
            bits: NonZeroU64::MIN | stamp,
            _names: PhantomData,
        }
    }
    #[inline]
    pub(crate) fn index(self) -> u32 {
        (self.bits.get() >> 32) as u32
    }
    #[inline]
    fn generation(self) -> u32 {
        self.bits.get() as u32
    }
    /// A plain-number identity: equal for the same value, never the same for
    /// another value of the arena while it lives.
    pub(crate) fn raw(self) -> u64 {
        self.bits.get()
    }
}

/// A slot's index (high half) and generation (low half) in one word: while
/// the slot is occupied, the bits of every handle to it. (A sum, not an
/// or: the halves do not overlap, so the two give the same word, but an
/// or's mutant, an exclusive or, would give it too and survive
/// `scripts/mutants.sh`; a sum's mutants do not.)
#[inline]
fn stamp(index: u32, generation: u32) -> u64 {
    (u64::from(index) << 32) + u64::from(generation)
}

/// Ends the free list; also the index no slot ever has.
const END: u32 = u32::MAX;

/// What of a freed context may run user code when dropped: the parts it
/// shared (its level, flag and origin are plain data). One word, so that
/// handing it out of the heap access costs a register.
pub(crate) type Freed = Option<Rc<Shared>>;

/// A context's slot: its fields, and the slot's own bookkeeping. Laid out
/// in this order on purpose (see [`NewContext`]).
#[repr(C)]
pub(crate) struct CtxSlot {
    /// The slot's index and its generation, odd while occupied (see the
    /// module's invariants): kept as a handle's bits, so that making a
    /// handle to the slot is one load.
    stamp: u64,
    /// How deep the context was built ([BLD-2]).
    pub(crate) level: i64,
    /// What it shares with the contexts derived from it ([BLD-1]); `None`
    /// only while the slot is vacant.
    pub(crate) shared: Option<Rc<Shared>>,
    /// [ORIG-1]: set by each push; with the owner count, the only part of a
    /// context that changes.
    pub(crate) origin: Option<&'static Location<'static>>,
    /// Occupied: the number of owners. Vacant: the next free slot.
    link: u32,
    pub(crate) in_a_condition: Flag,
}

impl CtxSlot {
    fn generation(&self) -> u32 {
        self.stamp as u32
    }
}

/// What names a context in its thread's arena.
pub(crate) type CtxHandle = Handle<CtxSlot>;

/// A new context's fields ([BLD-2]), lent to [`Arena::insert_free`] (and
/// the growth path's inserts), which take `shared` out when they store it.
/// Lent inside a heap access, read field by field; handed by value to the
/// cold growth paths (`heap::insert_context`, `stack::enter_on`), since a
/// reference passed to any call keeps the fields in memory on every path.
///
/// Its fields are in another order than the slot's, so that no two of them
/// sit side by side in both: the compiler would copy such a pair with one
/// wide load of what two narrow stores just wrote, which stalls.
#[repr(C)]
pub(crate) struct NewContext {
    pub(crate) origin: Option<&'static Location<'static>>,
    pub(crate) level: i64,
    pub(crate) in_a_condition: Flag,
    pub(crate) shared: Option<Rc<Shared>>,
}

/// An owner count would overflow: 2^32 owners of one context (strong
/// handles forgotten, or pushes, by the billion). Aborts, as `Rc` does on
/// the same overflow: this runs during a heap access, where a panic would
/// run the program's panic hook (see `heap::heap_mut`).
#[cold]
#[inline(never)]
fn too_many_owners() -> ! {
    abort_with(b"flytectx: 2^32 owners of one context; aborting\n")
}

/// 2^32 - 1 contexts alive at once (memory runs out long before): aborts,
/// for the reason [`too_many_owners`] gives.
#[cold]
#[inline(never)]
fn too_many_contexts() -> ! {
    abort_with(b"flytectx: 2^32 - 1 contexts alive at once; aborting\n")
}

/// Say why on standard error, then abort. (Not `eprintln!`, which panics
/// when it cannot write.)
fn abort_with(why: &[u8]) -> ! {
    use std::io::Write;
    let _ = std::io::stderr().write_all(why);
    std::process::abort()
}

/// The slab. See the module's invariants.
#[derive(Debug)]
pub(crate) struct Arena {
    slots: Vec<CtxSlot>,
    free_head: u32,
    /// The thread's locals are being torn down: this arena replaced the
    /// thread's, and takes no context.
    torn_down: bool,
}

impl std::fmt::Debug for CtxSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtxSlot")
            .field("generation", &self.generation())
            .field("link", &self.link)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl Arena {
    pub(crate) const fn new() -> Arena {
        Arena {
            slots: Vec::new(),
            free_head: END,
            torn_down: false,
        }
    }

    /// Make this (empty) arena the torn-down one: it takes no context.
    pub(crate) fn tear_down(&mut self) {
        self.torn_down = true;
    }

    /// Whether this is the torn-down arena of a thread that is ending.
    pub(crate) fn is_torn_down(&self) -> bool {
        self.torn_down
    }

    /// The error of a lookup that found nothing: the handle is stale, or
    /// everything went with the thread.
    #[cold]
    pub(crate) fn missing(&self) -> Error {
        if self.torn_down {
            Error::ThreadExiting
        } else {
            Error::Stale
        }
    }

    /// Store a new context with one owner, field by field, in a free slot;
    /// None (and nothing done) when no slot is free.
    #[inline]
    pub(crate) fn insert_free(&mut self, new: &mut NewContext) -> Option<CtxHandle> {
        let index = self.free_head;
        let slot = self.slots.get_mut(index as usize)?;
        self.free_head = slot.link;
        // Even (vacant) to odd; an even generation is below u32::MAX, so
        // the index is untouched.
        slot.stamp += 1;
        slot.link = 1;
        slot.level = new.level;
        slot.origin = new.origin;
        slot.in_a_condition = new.in_a_condition;
        // A vacant slot's `shared` is empty: nothing to drop (and no check
        // for something to drop).
        std::mem::forget(std::mem::replace(&mut slot.shared, new.shared.take()));
        Some(Handle::from_stamp(slot.stamp))
    }

    /// Store a new context with one owner: in a free slot, or a new one.
    #[cfg(test)]
    fn insert(&mut self, new: &mut NewContext) -> CtxHandle {
        if self.slots.len() == self.slots.capacity() {
            self.slots.reserve(1);
        }
        match self.insert_free(new) {
            Some(h) => h,
            None => self.push_within_capacity(new).expect("room was made"),
        }
    }

    /// Store a new context with one owner in a new slot, if the slots'
    /// vector has room for one: this never allocates (see
    /// `heap::heap_mut`). None (and nothing done) when it has no room.
    #[cold]
    pub(crate) fn push_within_capacity(&mut self, new: &mut NewContext) -> Option<CtxHandle> {
        if self.slots.len() == self.slots.capacity() {
            return None;
        }
        let Some(index) = u32::try_from(self.slots.len()).ok().filter(|&i| i != END) else {
            too_many_contexts()
        };
        self.slots.push(CtxSlot {
            stamp: stamp(index, 1),
            link: 1,
            level: new.level,
            shared: new.shared.take(),
            origin: new.origin,
            in_a_condition: new.in_a_condition,
        });
        Some(Handle::new(index, 1))
    }

    /// The slots' vector, for `heap` to grow it outside any heap access
    /// (moving slots keeps their indices, so every handle stays valid).
    pub(crate) fn slots_to_grow(&mut self) -> &mut Vec<CtxSlot> {
        &mut self.slots
    }

    /// The live context `h` names, if it still lives.
    #[inline]
    pub(crate) fn get(&self, h: CtxHandle) -> Option<&CtxSlot> {
        let slot = self.slots.get(h.index() as usize)?;
        (slot.stamp == h.raw()).then_some(slot)
    }

    /// Add an owner and reach the context, with one lookup. None (and
    /// nothing done) when `h` is stale.
    #[inline]
    pub(crate) fn retain(&mut self, h: CtxHandle) -> Option<&mut CtxSlot> {
        let slot = self.slots.get_mut(h.index() as usize)?;
        if slot.stamp != h.raw() {
            return None;
        }
        let owners = slot.link.wrapping_add(1);
        if owners == 0 {
            too_many_owners();
        }
        slot.link = owners;
        Some(slot)
    }

    /// The handle of the context in slot `index`, which an owner holds.
    /// None only out of bounds.
    #[inline]
    pub(crate) fn handle_at(&self, index: u32) -> Option<CtxHandle> {
        let slot = self.slots.get(index as usize)?;
        Some(Handle::from_stamp(slot.stamp))
    }

    /// Remove an owner of the context in slot `index`, which that owner
    /// holds; when it was the last, free the context and hand out what it
    /// shared, for the caller to drop when it is safe to. (The free is
    /// inlined: a cold call for it was measured, and cost more where the
    /// owner is usually the last, a scope's entry or a built context's
    /// handle, than it saved elsewhere.)
    #[inline]
    pub(crate) fn release_at(&mut self, index: u32) -> Freed {
        let slot = self.slots.get_mut(index as usize)?;
        slot.link -= 1;
        if slot.link > 0 {
            return None;
        }
        self.free(index)
    }

    /// Free the context in slot `index`, whose last owner is gone.
    #[inline]
    fn free(&mut self, index: u32) -> Freed {
        let slot = self.slots.get_mut(index as usize)?;
        let freed = slot.shared.take();
        if slot.generation() != u32::MAX {
            // Odd to even, in the low half: the index is untouched.
            slot.stamp += 1;
            slot.link = self.free_head;
            self.free_head = index;
        } else {
            // Retired: vacant, off the free list, forever.
            slot.stamp = stamp(index, 0);
            slot.link = END;
        }
        freed
    }

    /// Contexts alive now: the occupied slots. Counted when asked (for
    /// tests and monitoring), not kept up to date by every insert and free.
    pub(crate) fn live(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.generation() % 2 == 1)
            .count()
    }

    /// Slots allocated, alive or free: the arena's memory, in contexts.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The owners of the context `h` names; None when stale.
    #[cfg(test)]
    fn owners(&self, h: CtxHandle) -> Option<u32> {
        self.get(h).map(|s| s.link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(level: i64) -> NewContext {
        NewContext {
            level,
            shared: Some(Rc::default()),
            origin: None,
            in_a_condition: Flag::new(false),
        }
    }

    fn level(a: &Arena, h: CtxHandle) -> Option<i64> {
        a.get(h).map(|s| s.level)
    }

    #[test]
    fn a_released_context_leaves_every_old_handle_stale_and_its_slot_is_reused() {
        let mut a = Arena::new();
        let h = a.insert(&mut context(1));
        assert_eq!(h.generation() % 2, 1, "handles have odd generations");
        assert!(a.retain(h).is_some());
        assert_eq!(a.owners(h), Some(2));
        assert!(a.release_at(h.index()).is_none(), "one owner left");
        assert!(a.release_at(h.index()).is_some(), "freed: what it shared");
        assert_eq!(level(&a, h), None);
        assert!(a.retain(h).is_none(), "a stale handle cannot be revived");
        let g = a.insert(&mut context(2));
        assert_eq!(g.index(), h.index(), "the slot is reused");
        assert_ne!(g, h);
        assert_eq!(level(&a, h), None);
        assert_eq!(level(&a, g), Some(2));
        // An old handle reaches nothing of the new context.
        assert!(a.retain(h).is_none());
        assert_eq!(
            a.owners(g),
            Some(1),
            "the new context's owners are untouched"
        );
        assert_eq!((a.live(), a.capacity()), (1, 1));
        assert_eq!(a.handle_at(g.index()), Some(g));
        assert!(a.release_at(g.index()).is_some());
        assert_eq!(a.live(), 0);
        assert_eq!(a.handle_at(7), None, "out of bounds");
        assert!(a.release_at(7).is_none());
    }

    #[test]
    fn memory_is_bounded_by_the_contexts_alive_at_once() {
        let mut a = Arena::new();
        let keep = a.insert(&mut context(0));
        for i in 0..100_000 {
            let x = a.insert(&mut context(i));
            let y = a.insert(&mut context(i + 1));
            assert!(a.release_at(y.index()).is_some());
            assert!(a.release_at(x.index()).is_some());
        }
        assert_eq!(a.capacity(), 3);
        assert_eq!(a.live(), 1);
        assert_eq!(level(&a, keep), Some(0));
    }

    #[test]
    fn a_slot_whose_generation_would_overflow_is_retired() {
        let mut a = Arena::new();
        let h = a.insert(&mut context(1));
        a.release_at(h.index());
        // Age the vacant slot to the last even generation.
        a.slots[0].stamp = stamp(0, u32::MAX - 1);
        let last = a.insert(&mut context(2));
        assert_eq!(last.generation(), u32::MAX);
        assert!(a.release_at(last.index()).is_some());
        let next = a.insert(&mut context(3));
        assert_ne!(next.index(), last.index(), "the retired slot is not reused");
        assert_eq!(level(&a, last), None);
        assert!(a.retain(last).is_none());
        assert_eq!(a.live(), 1);
    }
}
