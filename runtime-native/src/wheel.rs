//! A hierarchical timing wheel: the deadline store behind each timer shard.
//!
//! Deadlines are nanoseconds (since the timers' base instant), bucketed by *tick*: 2^14 ns,
//! about 16 µs. Level 0 has 64 slots of one tick each, level 1 64 slots of 64 ticks, and so on:
//! nine levels cover every `u64` deadline. An entry sits at the level of the highest 6-bit digit
//! in which its tick differs from the wheel's current tick (`elapsed`), so that inserting and
//! removing are O(1): a slab slot, and a doubly linked list per wheel slot, with a bitmap per
//! level of the slots that hold anything.
//!
//! Advancing to `now` takes the earliest occupied slot while it starts at or before `now`: a
//! level-0 slot fires its entries that are due (the slot holding `now` may keep later ones), a
//! higher slot is re-inserted one level lower or more (an entry moves down at most once per
//! level). The earliest deadline is exact when it lies in level 0, which holds at most a tick's
//! worth of deadlines per slot; otherwise it is the start of the earliest slot, a lower bound
//! that wakes the driver in time to move those entries down.
//!
//! A wheel slot is an array of (deadline, slab index) pairs rather than a linked list: moving a
//! slot's entries down reads only the array and writes each entry's new place (a store, which
//! does not stall the processor the way a load does), and firing reads entries whose indices
//! are all known up front, so their cache misses overlap. With intrusive lists the driver spent
//! most of its time in timers_100k waiting on one entry after another.
//!
//! Entries are addressed by a [`Key`]: the slab index and a stamp that changes with every
//! insert, so that a key whose entry fired and whose slot was reused finds nothing.

use std::task::Waker;

/// Bits of a deadline below one tick.
const TICK_SHIFT: u32 = 14;
/// Bits of the tick per level.
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// 9 levels × 6 bits ≥ the 50 bits of a tick.
const LEVELS: usize = 9;
/// No entry (end of the free list).
const NIL: u32 = u32::MAX;
/// Slab capacity kept when the wheel empties; beyond it the memory goes back to the allocator.
const KEEP_CAPACITY: usize = 1024;

/// An entry's address: slab index (low half) and stamp (high half).
pub(crate) type Key = u64;

fn key(index: u32, stamp: u32) -> Key {
    u64::from(stamp) << 32 | u64::from(index)
}

fn index_of(key: Key) -> usize {
    (key & u64::from(u32::MAX)) as usize
}

fn stamp_of(key: Key) -> u32 {
    (key >> 32) as u32
}

struct Entry {
    /// `None` for a vacant slab slot.
    waker: Option<Waker>,
    stamp: u32,
    /// The entry's index in its wheel slot, or (vacant) the next free slab slot.
    position: u32,
    /// `level * SLOTS + slot` of the wheel slot holding the entry.
    place: u16,
}

/// An entry as its wheel slot lists it.
#[derive(Clone, Copy)]
struct Slotted {
    deadline: u64,
    index: u32,
}

struct Level {
    /// Bit `s` set: slot `s` holds entries.
    occupied: u64,
    slots: [Vec<Slotted>; SLOTS],
}

/// The deadlines of one shard, each with the waker to wake when it passes.
pub(crate) struct Wheel {
    entries: Vec<Entry>,
    free: u32,
    len: usize,
    next_stamp: u32,
    /// The tick the wheel was advanced to: every entry due before it has fired.
    elapsed: u64,
    levels: [Level; LEVELS],
}

impl Default for Wheel {
    fn default() -> Wheel {
        Wheel {
            entries: Vec::new(),
            free: NIL,
            len: 0,
            next_stamp: 0,
            elapsed: 0,
            levels: std::array::from_fn(|_| Level { occupied: 0, slots: std::array::from_fn(|_| Vec::new()) }),
        }
    }
}

/// The level for `tick` when the wheel stands at `elapsed` (`tick >= elapsed`).
fn level_for(elapsed: u64, tick: u64) -> usize {
    let differing = (elapsed ^ tick) | (SLOTS as u64 - 1);
    let highest = 63 - differing.leading_zeros();
    (highest / SLOT_BITS) as usize
}

fn slot_for(tick: u64, level: usize) -> usize {
    ((tick >> (level as u32 * SLOT_BITS)) & (SLOTS as u64 - 1)) as usize
}

impl Wheel {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds `deadline` (nanoseconds); its waker is woken by the `advance` that passes it.
    /// Also says whether it may now be the earliest: `false` when an entry due before it
    /// was already there.
    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> (Key, bool) {
        let tick = deadline >> TICK_SHIFT;
        // Every entry of the earliest slot is due before the end of that slot.
        let earliest = self
            .next_slot()
            .is_none_or(|(level, _, start)| tick < start.saturating_add(1 << (level as u32 * SLOT_BITS)));
        let stamp = self.next_stamp;
        self.next_stamp = self.next_stamp.wrapping_add(1);
        let entry = Entry { waker: Some(waker), stamp, position: 0, place: 0 };
        let index = match self.free {
            NIL => {
                let index = u32::try_from(self.entries.len()).ok().filter(|&i| i != NIL).expect("timer slab overflow");
                self.entries.push(entry);
                index
            }
            index => {
                let slot = &mut self.entries[index as usize];
                self.free = slot.position;
                *slot = entry;
                index
            }
        };
        self.len += 1;
        self.link(Slotted { deadline, index });
        (key(index, stamp), earliest)
    }

    /// The waker of the live entry `key`.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut Waker> {
        let entry = self.entries.get_mut(index_of(key))?;
        if entry.stamp != stamp_of(key) {
            return None;
        }
        entry.waker.as_mut()
    }

    /// Removes the live entry `key`, returning its waker (to be dropped outside the lock).
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let index = index_of(key);
        match self.entries.get(index) {
            Some(entry) if entry.stamp == stamp_of(key) && entry.waker.is_some() => {}
            _ => return None,
        }
        self.unlink(index as u32);
        Some(self.release(index as u32))
    }

    /// The earliest deadline, exact if it is within the next 64 ticks, else a lower bound (the
    /// start of the slot holding it).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let (level, slot, start) = self.next_slot()?;
        if level > 0 {
            return Some(start << TICK_SHIFT);
        }
        self.levels[0].slots[slot].iter().map(|at| at.deadline).min()
    }

    /// Fires every entry whose deadline is at or before `now`, pushing its waker to `fired`.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Waker>) {
        let now_tick = now >> TICK_SHIFT;
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now_tick {
                break;
            }
            self.elapsed = self.elapsed.max(start);
            let mut taken = std::mem::take(&mut self.levels[level].slots[slot]);
            self.levels[level].occupied &= !(1 << slot);
            let holds_now = level == 0 && start == now_tick;
            for &at in &taken {
                if level > 0 {
                    // Moves down: every entry of the slot shares `elapsed`'s digits from here up.
                    self.link(at);
                } else if !holds_now || at.deadline <= now {
                    // Below `now`'s tick the whole slot is due; in it, only what is not later.
                    fired.push(self.release(at.index));
                } else {
                    self.link(at);
                }
            }
            // Keep the slot's allocation for its next round, unless entries went back into it.
            let slot = &mut self.levels[level].slots[slot];
            if slot.is_empty() {
                taken.clear();
                *slot = taken;
            }
            if holds_now {
                // Nothing after the slot holding `now` is due.
                break;
            }
        }
        self.elapsed = self.elapsed.max(now_tick);
        if self.len == 0 && self.entries.capacity() > KEEP_CAPACITY {
            // A burst of timers is over: give its memory back, the slots' arrays included.
            // Stamps keep counting, so an old key cannot match a new entry.
            self.entries = Vec::new();
            self.free = NIL;
            for level in &mut self.levels {
                level.slots.iter_mut().filter(|slot| slot.capacity() > SLOTS).for_each(|slot| *slot = Vec::new());
            }
        }
    }

    /// Drops every entry.
    pub(crate) fn clear(&mut self) -> Vec<Waker> {
        let wakers = self.entries.drain(..).filter_map(|entry| entry.waker).collect();
        self.free = NIL;
        self.len = 0;
        for level in &mut self.levels {
            level.occupied = 0;
            level.slots.iter_mut().for_each(Vec::clear);
        }
        wakers
    }

    /// The earliest occupied slot: (level, slot, its first tick). A lower level always comes
    /// first: its entries share every higher digit with `elapsed`, while a higher level's
    /// entries differ from it in their level's digit.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for (level, slots) in self.levels.iter().enumerate() {
            if slots.occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let position = slot_for(self.elapsed, level) as u32;
            // Slots before `position` are empty at this level (their entries would be due
            // before `elapsed`), so the first occupied slot from `position` on is the earliest.
            let slot = ((position + slots.occupied.rotate_right(position).trailing_zeros()) as usize) % SLOTS;
            let span = shift + SLOT_BITS;
            let base = if span >= 64 { 0 } else { self.elapsed >> span << span };
            return Some((level, slot, base | (slot as u64) << shift));
        }
        None
    }

    /// Puts an entry into the wheel slot for its deadline.
    fn link(&mut self, at: Slotted) {
        let tick = (at.deadline >> TICK_SHIFT).max(self.elapsed);
        let level = level_for(self.elapsed, tick);
        let slot = slot_for(tick, level);
        let list = &mut self.levels[level].slots[slot];
        let entry = &mut self.entries[at.index as usize];
        entry.place = (level * SLOTS + slot) as u16;
        entry.position = list.len() as u32;
        list.push(at);
        self.levels[level].occupied |= 1 << slot;
    }

    /// Takes entry `index` out of its wheel slot (the slot's last entry takes its place).
    fn unlink(&mut self, index: u32) {
        let Entry { position, place, .. } = self.entries[index as usize];
        let (level, slot) = (place as usize / SLOTS, place as usize % SLOTS);
        let list = &mut self.levels[level].slots[slot];
        list.swap_remove(position as usize);
        if let Some(moved) = list.get(position as usize) {
            self.entries[moved.index as usize].position = position;
        }
        if list.is_empty() {
            self.levels[level].occupied &= !(1 << slot);
        }
    }

    /// Frees the (unlinked) slab slot `index`, returning its waker.
    fn release(&mut self, index: u32) -> Waker {
        let entry = &mut self.entries[index as usize];
        let waker = entry.waker.take().expect("a live timer entry");
        entry.position = self.free;
        self.free = index;
        self.len -= 1;
        waker
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that records which entry it belongs to.
    struct Probe {
        id: usize,
        fired: Arc<std::sync::Mutex<Vec<usize>>>,
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {
            self.fired.lock().unwrap().push(self.id);
        }
    }

    fn probe(id: usize, fired: &Arc<std::sync::Mutex<Vec<usize>>>) -> Waker {
        Waker::from(Arc::new(Probe { id, fired: fired.clone() }))
    }

    fn advance(wheel: &mut Wheel, now: u64) -> usize {
        let mut fired = Vec::new();
        wheel.advance(now, &mut fired);
        let n = fired.len();
        fired.into_iter().for_each(Waker::wake);
        n
    }

    /// A deterministic spread of deadlines over many levels, a seventh of them removed again,
    /// checked against a sorted list: every remaining deadline fires in the advance that first
    /// passes it, never earlier, and the next deadline is never later than the true earliest
    /// (and exact within 64 ticks).
    #[test]
    fn fires_each_deadline_exactly_when_passed() {
        let fired = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::default();
        let mut deadlines: Vec<(u64, usize, Key)> = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for id in 0..5_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // From below a tick to about an hour, with a bias to the near future.
            let deadline = (x % 64) << (x >> 58).min(36);
            let (key, earliest) = wheel.insert(deadline, probe(id, &fired));
            if !earliest {
                assert!(deadlines.iter().any(|&(d, ..)| d <= deadline), "{deadline} said not to be the earliest");
            }
            if id % 7 == 3 {
                assert!(wheel.remove(key).is_some());
            } else {
                deadlines.push((deadline, id, key));
            }
        }
        deadlines.sort();
        let mut now = 0;
        let mut next = 0;
        let mut steps = 0;
        while next < deadlines.len() {
            steps += 1;
            if steps % 5 == 0 && deadlines.len() > next + 1 {
                // Entries also leave after moving down: take out one from the middle.
                let (_, _, key) = deadlines.remove((next + deadlines.len()) / 2);
                assert!(wheel.remove(key).is_some());
                assert!(wheel.get_mut(key).is_none());
            }
            assert!(steps < 20 * deadlines.len(), "the wheel makes no progress");
            let earliest = wheel.next_deadline().expect("entries left");
            assert!(earliest <= deadlines[next].0, "next_deadline {earliest} after {}", deadlines[next].0);
            if deadlines[next].0 >> TICK_SHIFT >> SLOT_BITS == wheel.elapsed >> SLOT_BITS {
                assert_eq!(earliest, deadlines[next].0, "not exact within level 0");
            }
            // Step to the lower bound, or a little past it, as the driver would.
            now = now.max(earliest) + (x % 3) * 5_000;
            x = x.rotate_left(7);
            advance(&mut wheel, now);
            let due = deadlines[next..].iter().take_while(|(d, ..)| *d <= now).count();
            let mut got = std::mem::take(&mut *fired.lock().unwrap());
            got.sort();
            let mut want: Vec<usize> = deadlines[next..next + due].iter().map(|&(_, id, _)| id).collect();
            want.sort();
            assert_eq!(got, want, "at {now}");
            next += due;
            assert_eq!(wheel.len(), deadlines.len() - next);
        }
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn removed_and_stale_keys_find_nothing() {
        let fired = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::default();
        let (a, _) = wheel.insert(1_000_000, probe(0, &fired));
        let (b, _) = wheel.insert(1_000_000, probe(1, &fired));
        let (c, _) = wheel.insert(90_000_000_000, probe(2, &fired));
        assert!(wheel.remove(b).is_some());
        assert!(wheel.remove(b).is_none(), "removed twice");
        assert!(wheel.get_mut(b).is_none());
        assert_eq!(advance(&mut wheel, 2_000_000), 1);
        assert_eq!(*fired.lock().unwrap(), [0]);
        // `a` fired; its slab slot is reused by `d`, which `a`'s key must not reach.
        let (d, _) = wheel.insert(3_000_000, probe(3, &fired));
        assert_eq!(index_of(a), index_of(d));
        assert!(wheel.get_mut(a).is_none());
        assert!(wheel.remove(a).is_none());
        assert!(wheel.get_mut(d).is_some());
        assert_eq!(wheel.len(), 2);
        assert!(wheel.remove(c).is_some());
        // A lower bound while the deadline is more than 64 ticks ahead; exact once it is not.
        assert!(wheel.next_deadline().is_some_and(|d| d <= 3_000_000));
        assert_eq!(advance(&mut wheel, 2_500_000), 0);
        assert_eq!(wheel.next_deadline(), Some(3_000_000));
        assert_eq!(wheel.clear().len(), 1);
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_deadline(), None);
    }

    /// A deadline already behind the wheel (the driver advanced between a timer's clock read
    /// and its insert) fires on the next advance.
    #[test]
    fn a_deadline_behind_the_wheel_fires_next() {
        let count = Arc::new(AtomicUsize::new(0));
        struct Count(Arc<AtomicUsize>);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut wheel = Wheel::default();
        advance(&mut wheel, 50_000_000);
        wheel.insert(10_000_000, Waker::from(Arc::new(Count(count.clone()))));
        assert!(wheel.next_deadline().is_some_and(|d| d <= 50_000_000));
        advance(&mut wheel, 50_000_001);
        assert_eq!(count.load(Ordering::Relaxed), 1);
    }

    /// The slab's memory goes back once a large burst has fired.
    #[test]
    fn an_emptied_wheel_gives_its_memory_back() {
        let mut wheel = Wheel::default();
        let keys: Vec<Key> = (0..10_000).map(|i| wheel.insert(i * 1_000, Waker::noop().clone()).0).collect();
        assert!(wheel.entries.capacity() >= 10_000);
        advance(&mut wheel, 10_000 * 1_000);
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.entries.capacity(), 0);
        let kept = wheel.levels.iter().flat_map(|level| &level.slots).map(Vec::capacity).max();
        assert!(kept <= Some(SLOTS), "a slot kept {kept:?} places");
        assert!(keys.iter().all(|&k| wheel.get_mut(k).is_none()));
    }
}
