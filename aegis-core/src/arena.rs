//! Linear memories carved out of large shared mappings (arenas), so that a
//! process can hold hundreds of thousands of sandboxes.
//!
//! Wasmtime's default allocator gives every linear memory a mapping of its
//! own: a reservation, with its accessible part split off by `mprotect`,
//! which costs two kernel mappings (VMAs) per memory. Linux caps a process at
//! `vm.max_map_count` mappings (65 530 by default), so about 32 700 sandboxes.
//!
//! An [`ArenaCreator`] instead maps blocks of many slots at once (readable,
//! writable, `MAP_NORESERVE`: only touched pages cost memory), and gives each
//! memory one slot of the runtime's reservation size. A block is one mapping
//! whatever the number of memories in it.
//!
//! Safety rests on three facts, each checked by `tests/density.rs`:
//!
//! - **Compiled code checks every access against the memory's current size.**
//!   The engine is configured with no guard region and a reservation of zero
//!   (see [`configure`]), so wasmtime neither elides bounds checks (which
//!   needs reservation plus guard of 4 GiB) nor checks against the
//!   reservation instead of the size (which it does for memories that
//!   cannot move, and relies on inaccessible pages past the size): the
//!   bytes of a slot past the memory's size are mapped, so only that exact
//!   check keeps a guest inside its memory.
//! - **A slot is all zeros when it is handed out.** On release, every page
//!   of the bytes the memory ever had (its largest size) is zeroed: the
//!   resident ones in place (up to [`WARM_BUDGET`] per runtime, so the next
//!   sandbox does not fault them in again), the others, and all of them past
//!   the budget, dropped with `madvise(MADV_DONTNEED)`, which also returns
//!   them to the system; bytes past that size were never accessible, so
//!   were never written.
//! - **Copy-on-write images are off** (`memory_init_cow(false)`): wasmtime
//!   would map a module's data over the memory, which needs a memory it
//!   mapped itself (it panics on a memory from a creator); data segments are
//!   copied in at instantiation instead.
//!
//! Anything that does not fit a slot gets a mapping of its own, laid out as
//! wasmtime's would be (reservation plus guard, accessible part read-write,
//! the rest inaccessible): a memory whose initial size exceeds the slot (a
//! sandbox that raised its own memory limit), a memory that grows past its
//! slot (it moves, by copying, as wasmtime's memories do), a GC heap (which
//! keeps its guard regions), and any memory once the arena could not map a
//! block. Linux only; [`configure`] does nothing elsewhere, or when the
//! system refuses overcommitted mappings (`vm.overcommit_memory = 2`, where
//! a block would be charged in full).

use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use wasmtime::{LinearMemory, MemoryCreator, MemoryType};

/// Largest block mapped at once: 64 GiB (1 024 slots of the default 64 MiB).
const MAX_BLOCK: usize = 64 << 30;
/// Slots in a runtime's first block; each further block doubles, up to
/// [`MAX_BLOCK`], so a runtime that holds few sandboxes reserves little.
const FIRST_BLOCK_SLOTS: usize = 16;

/// Makes `config` allocate linear memories from arenas with slots of
/// `slot` bytes (the runtime's memory reservation, below 4 GiB), with the
/// code generation settings that this requires (see the module docs).
/// Returns false, leaving `config` alone, where arenas are not used.
pub(crate) fn configure(config: &mut wasmtime::Config, slot: u64) -> bool {
    let Ok(slot) = usize::try_from(slot) else {
        return false;
    };
    if !supported() || slot == 0 || slot % page_size() != 0 {
        return false;
    }
    config
        .with_host_memory(Arc::new(ArenaCreator::new(slot)))
        .memory_init_cow(false)
        .memory_reservation(0)
        .memory_guard_size(0)
        .memory_may_move(true);
    true
}

/// Whether arenas can be used in this process: Linux, where
/// `MADV_DONTNEED` zeroes private anonymous pages, with overcommit allowed.
fn supported() -> bool {
    cfg!(target_os = "linux")
        && std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
            .map(|mode| mode.trim() != "2")
            .unwrap_or(false)
}

/// The host page size.
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| {
        usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
    })
}

/// `bytes` rounded up to whole host pages, `None` on overflow.
fn round_to_page(bytes: usize) -> Option<usize> {
    bytes.checked_next_multiple_of(page_size())
}

/// The `mmap` failure text [`crate::limits::resource_error`] maps to
/// `memory_limit_exceeded`, resource `address_space`.
fn map_failed(bytes: usize) -> String {
    format!(
        "mmap failed to reserve {bytes:#x} bytes: {}",
        std::io::Error::last_os_error()
    )
}

/// One mapping, unmapped when dropped.
struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: a Mapping is an owned range of address space; the bytes in it are
// only accessed through the memories that own (parts of) it.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` gives no access to the bytes.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of private anonymous memory with `prot`, without
    /// reserving swap; `None` if the system refuses.
    fn new(len: usize, prot: libc::c_int) -> Option<Mapping> {
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        // SAFETY: a fresh mapping at an address the kernel chooses.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, -1, 0) };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        Some(Mapping {
            base: NonNull::new(ptr.cast())?,
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing refers to it any more.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// Creates the linear memories of one engine; see the module docs.
pub(crate) struct ArenaCreator {
    pool: Arc<Pool>,
}

impl ArenaCreator {
    /// A creator with slots of `slot` bytes (a whole number of host pages).
    fn new(slot: usize) -> ArenaCreator {
        ArenaCreator {
            pool: Arc::new(Pool {
                slot,
                state: Mutex::new(PoolState {
                    free: Vec::new(),
                    warm: 0,
                    next: 0,
                    end: 0,
                    blocks: Vec::new(),
                    block_slots: FIRST_BLOCK_SLOTS,
                }),
            }),
        }
    }
}

/// The slots of one engine: blocks mapped so far, and the free slots.
struct Pool {
    /// Bytes per slot.
    slot: usize,
    state: Mutex<PoolState>,
}

struct PoolState {
    /// Released slots (all zeros); reused last-in first-out.
    free: Vec<FreeSlot>,
    /// Resident bytes the free slots keep (see [`WARM_BUDGET`]).
    warm: usize,
    /// Next never-used slot of the newest block, and that block's end.
    next: usize,
    end: usize,
    /// Every block, unmapped when the engine and its last memory are gone.
    blocks: Vec<Mapping>,
    /// Slots in the next block to map.
    block_slots: usize,
}

impl Pool {
    /// A zeroed slot, mapping a new block if none is left; `None` if the
    /// system refuses even a block of one slot.
    fn take(&self) -> Option<NonNull<u8>> {
        let mut state = self.lock();
        if let Some(free) = state.free.pop() {
            state.warm -= free.warm;
            return NonNull::new(free.addr as *mut u8);
        }
        if state.next == state.end {
            self.map_block(&mut state)?;
        }
        let addr = state.next;
        state.next += self.slot;
        NonNull::new(addr as *mut u8)
    }

    /// Maps the next block. A refused block halves the size of the next
    /// attempt, so a system short of address space still gets slots (and
    /// one that refuses a single slot makes memories fall back to mappings
    /// of their own).
    fn map_block(&self, state: &mut PoolState) -> Option<()> {
        let most = (MAX_BLOCK / self.slot).max(1);
        let slots = state.block_slots.min(most);
        let len = slots.checked_mul(self.slot)?;
        let Some(block) = Mapping::new(len, libc::PROT_READ | libc::PROT_WRITE) else {
            state.block_slots = (slots / 2).max(1);
            return None;
        };
        // Huge pages would make the first byte a guest touches cost 2 MiB.
        // SAFETY: advice on a mapping we own; failure is harmless.
        #[cfg(target_os = "linux")]
        unsafe {
            libc::madvise(block.base.as_ptr().cast(), len, libc::MADV_NOHUGEPAGE)
        };
        state.next = block.base.as_ptr() as usize;
        state.end = state.next + len;
        state.block_slots = slots.saturating_mul(2).min(most);
        state.blocks.push(block);
        Some(())
    }

    /// Zeroes the first `used` bytes of the slot at `base` (the rest is still
    /// zero) and makes it available again. If the kernel refuses to drop
    /// the pages, the slot is never reused.
    fn release(&self, base: NonNull<u8>, used: usize) {
        let used = round_to_page(used).unwrap_or(self.slot).min(self.slot);
        let room = WARM_BUDGET.saturating_sub(self.lock().warm);
        // SAFETY: the slot belongs to the memory being dropped; nothing
        // refers to its bytes any more.
        let warm = match unsafe { zero_in_place(base, used, room) } {
            Some(warm) => warm,
            // SAFETY: as above.
            None if unsafe { drop_pages(base.as_ptr(), used) } => 0,
            None => return,
        };
        let mut state = self.lock();
        state.warm += warm;
        state.free.push(FreeSlot {
            addr: base.as_ptr() as usize,
            warm,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A released slot.
struct FreeSlot {
    addr: usize,
    /// Resident (zeroed) bytes it keeps.
    warm: usize,
}

/// Resident bytes that the free slots of one runtime may keep: 32 MiB.
///
/// A released slot's resident pages are zeroed in place (`memset`) while
/// they fit, so the next sandbox in the slot (usually the same program,
/// since free slots are reused last in, first out) writes its data into
/// pages that are already there; past the budget, pages are dropped.
/// Zeroing a resident page costs a fraction of the page fault (and, with
/// other threads running, the TLB shootdown) that dropping it and touching
/// it again costs: measured 0.26 µs against 3.7 + 0.4 µs per 4 KiB page
/// under KVM.
const WARM_BUDGET: usize = 32 << 20;

/// Zeroes the first `len` bytes at `base` (page-aligned, a whole number of
/// pages): resident pages with `memset`, the others (never touched, or
/// swapped out) dropped. Returns the resident bytes zeroed, or `None` if
/// they are more than `room` or the kernel refuses: the caller then drops
/// the whole range.
///
/// # Safety
///
/// Nothing may use the bytes meanwhile.
unsafe fn zero_in_place(base: NonNull<u8>, len: usize, room: usize) -> Option<usize> {
    if len == 0 {
        return Some(0);
    }
    let page = page_size();
    let mut resident = vec![0u8; len / page];
    let base = base.as_ptr();
    // SAFETY: the range is mapped; the vector has a byte per page.
    if unsafe { libc::mincore(base.cast(), len, resident.as_mut_ptr().cast()) } != 0 {
        return None;
    }
    let warm = resident.iter().filter(|&&r| r & 1 != 0).count() * page;
    if warm > room {
        return None;
    }
    let mut start = 0;
    while start < resident.len() {
        let kept = resident[start] & 1 != 0;
        let run = resident[start..]
            .iter()
            .take_while(|&&r| (r & 1 != 0) == kept)
            .count();
        // SAFETY: pages `start..start + run` of the range.
        let (at, bytes) = (unsafe { base.add(start * page) }, run * page);
        if kept {
            // SAFETY: as above; the caller owns the bytes.
            unsafe { std::ptr::write_bytes(at, 0, bytes) };
        } else if !unsafe { drop_pages(at, bytes) } {
            return None;
        }
        start += run;
    }
    Some(warm)
}

/// Drops `len` bytes of pages at `at` (page-aligned), which then read as
/// zero; false if the kernel refuses.
///
/// # Safety
///
/// Nothing may use the bytes meanwhile.
unsafe fn drop_pages(at: *mut u8, len: usize) -> bool {
    // SAFETY: the caller's.
    len == 0 || unsafe { libc::madvise(at.cast(), len, libc::MADV_DONTNEED) } == 0
}

// SAFETY: `new_memory` returns zeroed memories of at least `minimum` bytes
// that honour `reserved_size_in_bytes` and `guard_size_in_bytes` (see
// `ArenaMemory::new`).
unsafe impl MemoryCreator for ArenaCreator {
    fn new_memory(
        &self,
        _ty: MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        let layout = Layout {
            reserved: reserved_size_in_bytes.unwrap_or(0),
            guard: guard_size_in_bytes,
            maximum,
            growth: self.pool.slot,
        };
        Ok(Box::new(ArenaMemory::new(&self.pool, minimum, layout)?))
    }
}

/// What wasmtime asked of a memory beyond its size.
#[derive(Clone, Copy)]
struct Layout {
    /// Bytes the memory must be able to grow to without moving.
    reserved: usize,
    /// Inaccessible bytes required after the reservation.
    guard: usize,
    /// The memory's maximum size, if it has one.
    maximum: Option<usize>,
    /// Room reserved for growth when a memory gets a mapping of its own.
    growth: usize,
}

/// A linear memory: a slot of an arena, or a mapping of its own.
struct ArenaMemory {
    /// Accessible bytes.
    size: usize,
    storage: Storage,
    layout: Layout,
}

enum Storage {
    Slot(Slot),
    Own(Reserved),
}

impl ArenaMemory {
    /// A zeroed memory of `minimum` bytes. A slot needs a request with no
    /// reservation and no guard (linear memories of an engine set up by
    /// [`configure`]) and a minimum that fits.
    fn new(pool: &Arc<Pool>, minimum: usize, layout: Layout) -> Result<ArenaMemory, String> {
        let slot_fits = layout.reserved == 0 && layout.guard == 0 && minimum <= pool.slot;
        let taken = if slot_fits { pool.take() } else { None };
        let storage = match taken {
            Some(base) => Storage::Slot(Slot {
                pool: pool.clone(),
                base,
                used: minimum,
            }),
            None => Storage::Own(Reserved::new(minimum, &layout)?),
        };
        Ok(ArenaMemory {
            size: minimum,
            storage,
            layout,
        })
    }
}

// SAFETY: `byte_capacity` never shrinks below the size, growth within the
// capacity never moves the base, and new bytes are zero (a slot's bytes past
// its largest size were never written; a fresh mapping is zero).
unsafe impl LinearMemory for ArenaMemory {
    fn byte_size(&self) -> usize {
        self.size
    }

    fn byte_capacity(&self) -> usize {
        match &self.storage {
            Storage::Slot(slot) => slot.pool.slot,
            Storage::Own(own) => own.capacity,
        }
    }

    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        if new_size <= self.byte_capacity() {
            match &mut self.storage {
                Storage::Slot(slot) => slot.used = slot.used.max(new_size),
                Storage::Own(own) => own.make_accessible(new_size)?,
            }
        } else {
            // Past the capacity: move to a larger mapping of our own, as
            // wasmtime's own memories do (only asked for when the memory
            // may move).
            let moved = Reserved::new(new_size, &self.layout).map_err(wasmtime::Error::msg)?;
            // SAFETY: both ranges hold at least `self.size` accessible
            // bytes and do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(self.as_ptr(), moved.map.base.as_ptr(), self.size)
            };
            self.storage = Storage::Own(moved);
        }
        self.size = new_size;
        Ok(())
    }

    fn as_ptr(&self) -> *mut u8 {
        match &self.storage {
            Storage::Slot(slot) => slot.base.as_ptr(),
            Storage::Own(own) => own.map.base.as_ptr(),
        }
    }
}

/// A memory's slot, released (zeroed) when dropped.
struct Slot {
    pool: Arc<Pool>,
    base: NonNull<u8>,
    /// Largest size the memory has had: the bytes that may have been written.
    used: usize,
}

// SAFETY: the slot's bytes are only reached through the memory that owns it.
unsafe impl Send for Slot {}
// SAFETY: as above.
unsafe impl Sync for Slot {}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.release(self.base, self.used);
    }
}

/// A mapping of a memory's own, laid out as wasmtime lays out its memories:
/// `capacity` bytes followed by the guard, the first `accessible` bytes
/// readable and writable, the rest inaccessible.
struct Reserved {
    map: Mapping,
    capacity: usize,
    accessible: usize,
}

impl Reserved {
    /// A mapping for a memory of `size` bytes: the requested reservation,
    /// or if `size` exceeds it, `size` plus room to grow (never more than
    /// the memory's maximum needs), followed by the guard.
    fn new(size: usize, layout: &Layout) -> Result<Reserved, String> {
        let overflow = || format!("cannot allocate a memory of {size} bytes");
        let capacity = if layout.reserved > 0 && size <= layout.reserved {
            layout.reserved
        } else {
            let wanted = size.saturating_add(layout.growth);
            wanted.min(layout.maximum.unwrap_or(usize::MAX)).max(size)
        };
        let capacity = round_to_page(capacity).ok_or_else(overflow)?;
        let total = round_to_page(layout.guard)
            .and_then(|guard| guard.checked_add(capacity))
            .ok_or_else(overflow)?;
        let map = Mapping::new(total.max(page_size()), libc::PROT_NONE)
            .ok_or_else(|| map_failed(total))?;
        let mut reserved = Reserved {
            map,
            capacity,
            accessible: 0,
        };
        reserved
            .make_accessible(size)
            .map_err(|e| format!("{e:#}"))?;
        Ok(reserved)
    }

    /// Makes the first `size` bytes (rounded up to pages) readable and
    /// writable; `size` is at most the capacity.
    fn make_accessible(&mut self, size: usize) -> wasmtime::Result<()> {
        let wanted = round_to_page(size).unwrap_or(usize::MAX).min(self.capacity);
        if wanted <= self.accessible {
            return Ok(());
        }
        // SAFETY: the range lies inside our mapping, past the bytes in use.
        let start = unsafe { self.map.base.as_ptr().add(self.accessible) };
        let len = wanted - self.accessible;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        // SAFETY: as above; nothing refers to these inaccessible bytes yet.
        if unsafe { libc::mprotect(start.cast(), len, prot) } != 0 {
            return Err(wasmtime::Error::msg(format!(
                "mprotect failed to make {len:#x} bytes accessible: {}",
                std::io::Error::last_os_error()
            )));
        }
        self.accessible = wanted;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(reserved: usize, guard: usize) -> Layout {
        Layout {
            reserved,
            guard,
            maximum: None,
            growth: 1 << 20,
        }
    }

    #[test]
    fn slots_are_reused_after_release() {
        let pool = ArenaCreator::new(1 << 20).pool;
        let a = ArenaMemory::new(&pool, 65536, layout(0, 0)).unwrap();
        let base = a.as_ptr();
        assert!(matches!(a.storage, Storage::Slot(_)));
        drop(a);
        let b = ArenaMemory::new(&pool, 65536, layout(0, 0)).unwrap();
        assert_eq!(b.as_ptr(), base);
    }

    /// Reads every byte of the first `len` bytes at `ptr`: how many are not zero.
    fn nonzero(ptr: *const u8, len: usize) -> usize {
        // SAFETY: callers pass accessible memory.
        (0..len)
            .filter(|&i| unsafe { ptr.add(i).read() } != 0)
            .count()
    }

    #[test]
    fn released_slots_read_zero_whether_kept_or_dropped() {
        const MIB: usize = 1 << 20;
        let pool = ArenaCreator::new(64 * MIB).pool;
        // 2 pages written: zeroed in place and kept; 40 MiB: past the
        // budget, dropped.
        for (written, kept) in [(2 * page_size(), 2 * page_size()), (40 * MIB, 0)] {
            let mut memory = ArenaMemory::new(&pool, 65536, layout(0, 0)).unwrap();
            memory.grow_to(written.max(65536)).unwrap();
            let base = memory.as_ptr();
            // SAFETY: within the memory's size.
            unsafe { std::ptr::write_bytes(base, 0xAB, written) };
            drop(memory);
            assert_eq!(pool.lock().warm, kept);
            let again = ArenaMemory::new(&pool, 65536, layout(0, 0)).unwrap();
            assert_eq!(again.as_ptr(), base);
            assert_eq!(pool.lock().warm, 0);
            assert_eq!(nonzero(again.as_ptr(), written), 0);
        }
    }

    #[test]
    fn blocks_grow_and_are_never_shared() {
        let pool = ArenaCreator::new(65536).pool;
        let held: Vec<_> = (0..100)
            .map(|_| ArenaMemory::new(&pool, 65536, layout(0, 0)).unwrap())
            .collect();
        let mut bases: Vec<_> = held.iter().map(|m| m.as_ptr() as usize).collect();
        bases.sort_unstable();
        assert!(bases.windows(2).all(|w| w[1] - w[0] >= 65536));
        let state = pool.state.lock().unwrap();
        // 16 + 32 + 64 slots.
        assert_eq!(state.blocks.len(), 3);
    }

    #[test]
    fn guards_and_large_memories_get_their_own_mapping() {
        let pool = ArenaCreator::new(65536).pool;
        let guarded = ArenaMemory::new(&pool, 65536, layout(1 << 20, 65536)).unwrap();
        assert!(matches!(guarded.storage, Storage::Own(_)));
        assert_eq!(guarded.byte_capacity(), 1 << 20);
        let large = ArenaMemory::new(&pool, 2 * 65536, layout(0, 0)).unwrap();
        assert!(matches!(large.storage, Storage::Own(_)));
    }

    #[test]
    fn growth_past_the_slot_moves_and_keeps_the_bytes() {
        let pool = ArenaCreator::new(65536).pool;
        let mut memory = ArenaMemory::new(&pool, 65536, layout(0, 0)).unwrap();
        // SAFETY: the first byte of a 64 KiB memory.
        unsafe { memory.as_ptr().write(7) };
        memory.grow_to(4 * 65536).unwrap();
        assert!(matches!(memory.storage, Storage::Own(_)));
        // SAFETY: the memory now holds 256 KiB.
        unsafe {
            assert_eq!(memory.as_ptr().read(), 7);
            assert_eq!(memory.as_ptr().add(4 * 65536 - 1).read(), 0);
        }
        // The slot went back to the pool, zeroed.
        let again = ArenaMemory::new(&pool, 65536, layout(0, 0)).unwrap();
        // SAFETY: the first byte of a 64 KiB memory.
        assert_eq!(unsafe { again.as_ptr().read() }, 0);
    }
}
