//! A generational, reference-counted slab.
//!
//! Invariants:
//! - Every slot is `Occupied` or `Vacant`. A vacant slot is on the free list
//!   exactly once, unless it is retired (see below); `free_head` starts the
//!   list and each vacant slot names the next (`u32::MAX` ends it).
//! - A [`Handle`] names a slot and a generation. It refers to a value only
//!   while that slot is occupied with that same generation; once the value is
//!   removed the slot's generation moves on, so every old handle is *stale*
//!   and every lookup with it fails. Nothing is ever reached through a stale
//!   handle.
//! - An occupied slot has `count >= 1`: the number of owners (stack entries,
//!   strong handles, contexts holding a state). The value is removed when the
//!   last owner releases it, and only then.
//! - Generations start at 1 and only grow. A slot whose generation would
//!   overflow is retired: never reused, so a handle can never come back to
//!   life. Memory stays bounded by the largest number of values alive at once
//!   (plus retired slots, one per 2^32 reuses of a slot).
//!
//! No `unsafe`: a lookup is a bounds-checked index and a generation compare.

use std::num::{NonZeroU32, NonZeroU64};

/// Names a value in an [`Arena`]: slot index (high half) and generation
/// (low half) in one word. One word, not two fields, so that copying a
/// handle (the current context, above all) is a single load and store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle(NonZeroU64);

impl Handle {
    #[inline]
    pub(crate) fn new(index: u32, generation: NonZeroU32) -> Handle {
        Handle(NonZeroU64::from(generation) | (u64::from(index) << 32))
    }
    #[inline]
    pub(crate) fn index(self) -> u32 {
        (self.0.get() >> 32) as u32
    }
    #[inline]
    pub(crate) fn generation(self) -> NonZeroU32 {
        NonZeroU32::new(self.0.get() as u32).expect("the low half is a non-zero generation")
    }
    /// A plain-number identity: equal for the same value, never reused for
    /// another one while the arena lives (ports use it to name objects).
    pub fn raw(self) -> u64 {
        self.0.get()
    }
}

#[derive(Debug)]
enum Slot<T> {
    Occupied {
        generation: NonZeroU32,
        count: u32,
        value: T,
    },
    Vacant {
        generation: NonZeroU32,
        next_free: u32,
    },
}

const END: u32 = u32::MAX;

#[derive(Debug)]
pub(crate) struct Arena<T> {
    slots: Vec<Slot<T>>,
    free_head: u32,
    live: usize,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena {
            slots: Vec::new(),
            free_head: END,
            live: 0,
        }
    }
}

impl<T> Arena<T> {
    /// Store `value` with one owner.
    #[inline]
    pub(crate) fn insert(&mut self, value: T) -> Handle {
        self.live += 1;
        if self.free_head != END {
            let index = self.free_head;
            let slot = &mut self.slots[index as usize];
            let Slot::Vacant {
                generation,
                next_free,
            } = *slot
            else {
                unreachable!("the free list holds vacant slots only")
            };
            self.free_head = next_free;
            *slot = Slot::Occupied {
                generation,
                count: 1,
                value,
            };
            return Handle::new(index, generation);
        }
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != END)
            .expect("fewer than 2^32 - 1 live objects");
        let generation = NonZeroU32::MIN;
        self.slots.push(Slot::Occupied {
            generation,
            count: 1,
            value,
        });
        Handle::new(index, generation)
    }

    #[inline]
    pub(crate) fn get(&self, h: Handle) -> Option<&T> {
        match self.slots.get(h.index() as usize)? {
            Slot::Occupied {
                generation, value, ..
            } if *generation == h.generation() => Some(value),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, h: Handle) -> Option<&mut T> {
        match self.slots.get_mut(h.index() as usize)? {
            Slot::Occupied {
                generation, value, ..
            } if *generation == h.generation() => Some(value),
            _ => None,
        }
    }

    /// Add an owner. False (and nothing done) when `h` is stale.
    #[inline]
    pub(crate) fn retain(&mut self, h: Handle) -> bool {
        match self.slots.get_mut(h.index() as usize) {
            Some(Slot::Occupied {
                generation, count, ..
            }) if *generation == h.generation() => {
                *count = count
                    .checked_add(1)
                    .expect("fewer than 2^32 owners of one object");
                true
            }
            _ => false,
        }
    }

    /// Remove an owner; when it was the last, take the value out and return it.
    /// A stale handle releases nothing.
    #[inline]
    pub(crate) fn release(&mut self, h: Handle) -> Option<T> {
        let slot = self.slots.get_mut(h.index() as usize)?;
        match slot {
            Slot::Occupied {
                generation, count, ..
            } if *generation == h.generation() => {
                *count -= 1;
                if *count > 0 {
                    return None;
                }
            }
            _ => return None,
        }
        let next = h.generation().checked_add(1);
        let vacant = Slot::Vacant {
            generation: next.unwrap_or(h.generation()),
            next_free: END,
        };
        let Slot::Occupied { value, .. } = std::mem::replace(slot, vacant) else {
            unreachable!("checked above")
        };
        self.live -= 1;
        if let Some(generation) = next {
            *slot = Slot::Vacant {
                generation,
                next_free: self.free_head,
            };
            self.free_head = h.index();
        }
        // Otherwise the slot is retired: vacant, off the free list, forever.
        Some(value)
    }

    /// Add an owner and reach the value, with one lookup. None (and nothing
    /// done) when `h` is stale.
    #[inline]
    pub(crate) fn retain_mut(&mut self, h: Handle) -> Option<&mut T> {
        match self.slots.get_mut(h.index() as usize) {
            Some(Slot::Occupied {
                generation,
                count,
                value,
            }) if *generation == h.generation() => {
                *count = count
                    .checked_add(1)
                    .expect("fewer than 2^32 owners of one object");
                Some(value)
            }
            _ => None,
        }
    }

    /// Values alive now.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Slots allocated, alive or free: the arena's memory, in values.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    #[cfg(test)]
    fn count(&self, h: Handle) -> Option<u32> {
        match self.slots.get(h.index() as usize)? {
            Slot::Occupied {
                generation, count, ..
            } if *generation == h.generation() => Some(*count),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_value_leaves_every_old_handle_stale_and_its_slot_is_reused() {
        let mut a = Arena::default();
        let h = a.insert("a");
        assert!(a.retain(h));
        assert_eq!(a.count(h), Some(2));
        assert_eq!(a.release(h), None, "one owner left");
        assert_eq!(a.release(h), Some("a"));
        assert_eq!(a.get(h), None);
        assert!(!a.retain(h), "a stale handle cannot be revived");
        assert_eq!(a.release(h), None);
        let g = a.insert("b");
        assert_eq!(g.index(), h.index(), "the slot is reused");
        assert_ne!(g, h);
        assert_eq!(a.get(h), None);
        assert_eq!(a.get(g), Some(&"b"));
        // An old handle reaches nothing of the new value, by any route.
        assert_eq!(a.get_mut(h), None);
        assert_eq!(a.retain_mut(h), None);
        assert!(!a.retain(h));
        assert_eq!(a.release(h), None);
        assert_eq!(a.count(g), Some(1), "the new value's owners are untouched");
        assert_eq!((a.live(), a.capacity()), (1, 1));
    }

    #[test]
    fn memory_is_bounded_by_the_values_alive_at_once() {
        let mut a = Arena::default();
        let keep = a.insert(0u64);
        for i in 0..100_000u64 {
            let x = a.insert(i);
            let y = a.insert(i + 1);
            a.release(y);
            a.release(x);
        }
        assert_eq!(a.capacity(), 3);
        assert_eq!(a.live(), 1);
        assert_eq!(a.get(keep), Some(&0));
    }

    #[test]
    fn a_slot_whose_generation_would_overflow_is_retired() {
        let mut a = Arena::default();
        let h = a.insert(1);
        a.release(h);
        // Age the slot to the last generation.
        a.slots[0] = Slot::Vacant {
            generation: NonZeroU32::MAX,
            next_free: END,
        };
        a.free_head = 0;
        let last = a.insert(2);
        assert_eq!(last.generation(), NonZeroU32::MAX);
        assert_eq!(a.release(last), Some(2));
        let next = a.insert(3);
        assert_ne!(next.index(), last.index(), "the retired slot is not reused");
        assert_eq!(a.get(last), None);
    }
}
