//! A slab: a `Vec` of records reused through a free list, addressed by a typed id.
//!
//! Requests and call frames live here so that, once the slab has grown to the peak number in
//! flight, the event loop allocates nothing. An [`Id<T>`] names a slot of a `Slab<T>` only, so
//! a frame's id cannot be used where a request's is meant. Slot 0 is never handed out, so an
//! id is never zero and `Option<Id<T>>` costs no more than the id.

use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU32;

/// The id of a `T` in a [`Slab<T>`]: four bytes, never zero.
#[repr(transparent)]
pub struct Id<T> {
    slot: NonZeroU32,
    _of: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// The id of slot `slot` (not 0).
    #[inline]
    pub const fn from_slot(slot: NonZeroU32) -> Self {
        Id {
            slot,
            _of: PhantomData,
        }
    }

    /// The slot this id names.
    #[inline]
    pub fn slot(self) -> u32 {
        self.slot.get()
    }
}

// Derives would require `T: Copy` and so on; an id is a number whatever `T` is.
impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.slot == other.slot
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.slot.cmp(&other.slot)
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.slot)
    }
}

/// Records of `T`; freed slots are reused last-in first-out.
#[derive(Debug)]
pub struct Slab<T> {
    /// `slots[0]` is a placeholder that is never handed out.
    slots: Vec<T>,
    free: Vec<Id<T>>,
    live: usize,
    peak: usize,
}

impl<T: Default> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Default> Slab<T> {
    pub fn new() -> Self {
        Slab {
            slots: vec![T::default()],
            free: Vec::new(),
            live: 0,
            peak: 0,
        }
    }

    /// Stores `value` and returns its id.
    pub fn insert(&mut self, value: T) -> Id<T> {
        self.live += 1;
        self.peak = self.peak.max(self.live);
        if let Some(id) = self.free.pop() {
            self.slots[id.slot() as usize] = value;
            id
        } else {
            let slot = u32::try_from(self.slots.len())
                .ok()
                .and_then(NonZeroU32::new)
                .expect("more than 4 billion live slots");
            self.slots.push(value);
            Id::from_slot(slot)
        }
    }

    /// Releases `id`'s slot; the caller must not use the id again.
    pub fn remove(&mut self, id: Id<T>) {
        debug_assert!(self.live > 0);
        self.live -= 1;
        self.slots[id.slot() as usize] = T::default();
        self.free.push(id);
    }

    #[inline]
    pub fn get(&self, id: Id<T>) -> &T {
        &self.slots[id.slot() as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, id: Id<T>) -> &mut T {
        &mut self.slots[id.slot() as usize]
    }

    /// Every id ever handed out (live or free), in slot order.
    pub fn ids(&self) -> impl Iterator<Item = Id<T>> + use<T> {
        (1..self.slots.len() as u32)
            .filter_map(NonZeroU32::new)
            .map(Id::from_slot)
    }

    /// Slots in use now.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Bytes of heap the slab holds: every slot ever created, and the free list.
    pub fn heap_bytes(&self) -> u64 {
        (self.slots.capacity() * std::mem::size_of::<T>()
            + self.free.capacity() * std::mem::size_of::<Id<T>>()) as u64
    }

    /// Most slots ever in use at once.
    pub fn peak(&self) -> usize {
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused_and_counts_follow() {
        let mut s: Slab<u64> = Slab::new();
        let a = s.insert(10);
        let b = s.insert(20);
        assert_eq!((s.live(), s.peak()), (2, 2));
        s.remove(a);
        assert_eq!(s.live(), 1);
        let c = s.insert(30);
        assert_eq!(c, a, "the freed slot is reused");
        assert_eq!(*s.get(c), 30);
        assert_eq!(*s.get(b), 20);
        assert_eq!(s.peak(), 2);
        assert_eq!(s.ids().collect::<Vec<_>>(), [a, b]);
    }

    #[test]
    fn an_optional_id_is_as_small_as_an_id() {
        assert_eq!(std::mem::size_of::<Option<Id<u64>>>(), 4);
    }
}
