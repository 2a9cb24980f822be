//! A generational, reference-counted slab: where the contexts of a thread live.
//!
//! Invariants:
//! - A slot is occupied (`value` is `Some`) or vacant. A vacant slot is on
//!   the free list exactly once, unless it is retired (below): `free_head`
//!   starts the list, and a vacant slot's `link` names the next (`END` ends it).
//! - An occupied slot's `link` is its number of owners (stack entries and
//!   strong handles), at least 1. The value is taken out when the last owner
//!   releases it, and only then.
//! - A [`Handle`] names a slot and a generation, and refers to a value only
//!   while that slot is occupied with that generation. Taking a value out
//!   moves the slot's generation on, so every old handle is *stale*: every
//!   lookup with it fails, nothing is reached through it.
//! - Generations start at 1 and only grow. A slot whose generation would
//!   overflow is retired: left vacant and off the free list, so no handle can
//!   come back to life. Memory stays bounded by the most values alive at once
//!   (plus one retired slot per 2^32 reuses of a slot).
//! - An owner may hold a bare slot index instead of a handle (a stack entry,
//!   to be half the size): the slot it owns cannot be vacated under it.
//!
//! No `unsafe`: a lookup is a bounds-checked index and a generation compare.

use std::marker::PhantomData;
use std::num::{NonZeroU32, NonZeroU64};

/// Names a `T` in an [`Arena<T>`]: slot index (high half) and generation
/// (low half) in one word, so that copying one is a single load and store.
/// The type parameter keeps a handle from indexing an arena of another type.
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
    #[inline]
    pub(crate) fn new(index: u32, generation: NonZeroU32) -> Handle<T> {
        Handle {
            bits: NonZeroU64::from(generation) | (u64::from(index) << 32),
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

/// Ends the free list; also the index no slot ever has.
const END: u32 = u32::MAX;

#[derive(Debug)]
struct Slot<T> {
    generation: NonZeroU32,
    /// Occupied: the number of owners. Vacant: the next free slot.
    link: u32,
    value: Option<T>,
}

/// The slab. See the module's invariants.
#[derive(Debug)]
pub(crate) struct Arena<T> {
    slots: Vec<Slot<T>>,
    free_head: u32,
    live: usize,
}

impl<T> Arena<T> {
    pub(crate) const fn new() -> Arena<T> {
        Arena {
            slots: Vec::new(),
            free_head: END,
            live: 0,
        }
    }

    /// The occupied slot `h` names, if it still does.
    #[inline]
    fn slot_mut(&mut self, h: Handle<T>) -> Option<&mut Slot<T>> {
        self.slots
            .get_mut(h.index() as usize)
            .filter(|s| s.generation.get() == h.generation() && s.value.is_some())
    }

    /// Store `value` with one owner.
    #[inline]
    pub(crate) fn insert(&mut self, value: T) -> Handle<T> {
        self.live += 1;
        let index = self.free_head;
        if let Some(slot) = self.slots.get_mut(index as usize) {
            self.free_head = slot.link;
            slot.link = 1;
            // A free slot holds None: forgetting what was there drops
            // nothing, and spares the drop glue an assignment would run.
            std::mem::forget(slot.value.replace(value));
            return Handle::new(index, slot.generation);
        }
        self.push_slot(value)
    }

    #[cold]
    fn push_slot(&mut self, value: T) -> Handle<T> {
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != END)
            .expect("fewer than 2^32 - 1 contexts alive at once");
        self.slots.push(Slot {
            generation: NonZeroU32::MIN,
            link: 1,
            value: Some(value),
        });
        Handle::new(index, NonZeroU32::MIN)
    }

    #[inline]
    pub(crate) fn get(&self, h: Handle<T>) -> Option<&T> {
        let slot = self.slots.get(h.index() as usize)?;
        if slot.generation.get() != h.generation() {
            return None;
        }
        slot.value.as_ref()
    }

    /// Add an owner and reach the value, with one lookup. None (and nothing
    /// done) when `h` is stale.
    #[inline]
    pub(crate) fn retain(&mut self, h: Handle<T>) -> Option<&mut T> {
        let slot = self.slot_mut(h)?;
        slot.link = slot
            .link
            .checked_add(1)
            .expect("fewer than 2^32 owners of one context");
        slot.value.as_mut()
    }

    /// The handle of the value in slot `index`, which an owner holds (so
    /// the slot is occupied: an owner's index is never vacant). None only
    /// out of bounds.
    #[inline]
    pub(crate) fn handle_at(&self, index: u32) -> Option<Handle<T>> {
        let slot = self.slots.get(index as usize)?;
        Some(Handle::new(index, slot.generation))
    }

    /// Remove an owner; when it was the last, take the value out and return
    /// it, for the caller to drop (when it is safe to). A stale handle
    /// releases nothing.
    #[inline]
    pub(crate) fn release(&mut self, h: Handle<T>) -> Option<T> {
        let slot = self.slot_mut(h)?;
        slot.link -= 1;
        if slot.link > 0 {
            return None;
        }
        self.vacate(h.index())
    }

    /// [`Arena::release`] by the bare index an owner holds.
    #[inline]
    pub(crate) fn release_at(&mut self, index: u32) -> Option<T> {
        let h = self.handle_at(index)?;
        self.release(h)
    }

    /// Take the value of an occupied slot out, and retire the slot or put it
    /// on the free list.
    #[inline]
    fn vacate(&mut self, index: u32) -> Option<T> {
        let slot = &mut self.slots[index as usize];
        let value = slot.value.take();
        self.live -= 1;
        match slot.generation.checked_add(1) {
            Some(next) => {
                slot.generation = next;
                slot.link = self.free_head;
                self.free_head = index;
            }
            // Retired: vacant, off the free list, forever.
            None => slot.link = END,
        }
        value
    }

    /// Values alive now.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Slots allocated, alive or free: the arena's memory, in values.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The owners of the value `h` names; None when stale.
    #[cfg(test)]
    fn owners(&self, h: Handle<T>) -> Option<u32> {
        let slot = self.slots.get(h.index() as usize)?;
        (slot.generation.get() == h.generation() && slot.value.is_some()).then_some(slot.link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_value_leaves_every_old_handle_stale_and_its_slot_is_reused() {
        let mut a = Arena::new();
        let h = a.insert("a");
        assert!(a.retain(h).is_some());
        assert_eq!(a.owners(h), Some(2));
        assert_eq!(a.release(h), None, "one owner left");
        assert_eq!(a.release(h), Some("a"));
        assert_eq!(a.get(h), None);
        assert_eq!(a.retain(h), None, "a stale handle cannot be revived");
        assert_eq!(a.release(h), None);
        let g = a.insert("b");
        assert_eq!(g.index(), h.index(), "the slot is reused");
        assert_ne!(g, h);
        assert_eq!(a.get(h), None);
        assert_eq!(a.get(g), Some(&"b"));
        // An old handle reaches nothing of the new value, by any route.
        assert_eq!(a.retain(h), None);
        assert_eq!(a.release(h), None);
        assert_eq!(a.owners(g), Some(1), "the new value's owners are untouched");
        assert_eq!((a.live(), a.capacity()), (1, 1));
        assert_eq!(a.handle_at(g.index()), Some(g));
        assert_eq!(a.release_at(g.index()), Some("b"));
        assert_eq!(a.release_at(g.index()), None, "vacant: nothing to release");
        assert_eq!(a.handle_at(7), None, "out of bounds");
    }

    #[test]
    fn memory_is_bounded_by_the_values_alive_at_once() {
        let mut a = Arena::new();
        let keep = a.insert(0u64);
        for i in 0..100_000u64 {
            let x = a.insert(i);
            let y = a.insert(i + 1);
            assert_eq!(a.release(y), Some(i + 1));
            assert_eq!(a.release(x), Some(i));
        }
        assert_eq!(a.capacity(), 3);
        assert_eq!(a.live(), 1);
        assert_eq!(a.get(keep), Some(&0));
    }

    #[test]
    fn a_slot_whose_generation_would_overflow_is_retired() {
        let mut a = Arena::new();
        let h = a.insert(1);
        a.release(h);
        // Age the slot to the last generation.
        a.slots[0].generation = NonZeroU32::MAX;
        let last = a.insert(2);
        assert_eq!(last.generation(), u32::MAX);
        assert_eq!(a.release(last), Some(2));
        let next = a.insert(3);
        assert_ne!(next.index(), last.index(), "the retired slot is not reused");
        assert_eq!(a.get(last), None);
        assert_eq!(a.live(), 1);
    }
}
