//! A slab: a `Vec` of slots reused through a free list, addressed by `u32` index.
//!
//! Requests and call frames live here so that, once the slab has grown to the peak number in
//! flight, the event loop allocates nothing.

/// Slots of `T`; freed slots are reused last-in first-out.
#[derive(Debug, Default)]
pub struct Slab<T> {
    slots: Vec<T>,
    free: Vec<u32>,
    live: usize,
    peak: usize,
}

impl<T: Default> Slab<T> {
    pub fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            peak: 0,
        }
    }

    /// Stores `value` and returns its index.
    pub fn insert(&mut self, value: T) -> u32 {
        self.live += 1;
        self.peak = self.peak.max(self.live);
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = value;
            i
        } else {
            let i = u32::try_from(self.slots.len()).expect("more than 4 billion live slots");
            self.slots.push(value);
            i
        }
    }

    /// Releases slot `i`; the caller must not use the index again.
    pub fn remove(&mut self, i: u32) {
        debug_assert!(self.live > 0);
        self.live -= 1;
        self.slots[i as usize] = T::default();
        self.free.push(i);
    }

    #[inline]
    pub fn get(&self, i: u32) -> &T {
        &self.slots[i as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, i: u32) -> &mut T {
        &mut self.slots[i as usize]
    }

    /// Slots in use now.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Slots ever created (live or free): valid indices are below this.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Bytes of heap the slab holds: every slot ever created, and the free list.
    pub fn heap_bytes(&self) -> u64 {
        (self.slots.capacity() * std::mem::size_of::<T>() + self.free.capacity() * 4) as u64
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
    }
}
