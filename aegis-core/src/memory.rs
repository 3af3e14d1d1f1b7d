//! Host access to a guest's linear memory between calls: size, read and
//! write an exported memory, every range checked before anything is
//! allocated or copied.

use wasmtime::{AsContext, AsContextMut, Memory};

use crate::error::{Error, Result};
use crate::sandbox::Sandbox;

/// `offset..offset + len` if it lies within a memory of `size` bytes, else
/// `memory_out_of_bounds`. Checked in 64 bits: no guest-chosen pair wraps.
pub(crate) fn checked_range(offset: u64, len: u64, size: usize) -> Result<std::ops::Range<usize>> {
    offset
        .checked_add(len)
        .filter(|end| *end <= size as u64)
        .map(|end| offset as usize..end as usize)
        .ok_or(Error::MemoryOutOfBounds {
            offset,
            len,
            size: size as u64,
        })
}

/// Copies `len` bytes at `offset` out of `memory` (bounds checked first).
pub(crate) fn read(
    memory: Memory,
    store: impl AsContext,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>> {
    let data = memory.data(&store);
    let range = checked_range(offset, len, data.len())?;
    Ok(data[range].to_vec())
}

/// Fills `buf` from `memory` at `offset`.
pub(crate) fn read_into(
    memory: Memory,
    store: impl AsContext,
    offset: u64,
    buf: &mut [u8],
) -> Result<()> {
    let data = memory.data(&store);
    let range = checked_range(offset, buf.len() as u64, data.len())?;
    buf.copy_from_slice(&data[range]);
    Ok(())
}

/// Writes `bytes` into `memory` at `offset`.
pub(crate) fn write(
    memory: Memory,
    mut store: impl AsContextMut,
    offset: u64,
    bytes: &[u8],
) -> Result<()> {
    let data = memory.data_mut(&mut store);
    let range = checked_range(offset, bytes.len() as u64, data.len())?;
    data[range].copy_from_slice(bytes);
    Ok(())
}

/// The name [`Sandbox::memory`] looks for first.
pub const DEFAULT_MEMORY: &str = "memory";

/// An exported memory of a sandbox's instance, for the host to read and
/// write between calls (see [`Sandbox::memory`]).
///
/// Every access re-reads the memory's current size: a guest that grew its
/// memory during the last call is seen at its new size.
pub struct GuestMemory<'a> {
    sandbox: &'a mut Sandbox,
    memory: Memory,
}

impl GuestMemory<'_> {
    /// Current size in bytes.
    pub fn size(&self) -> u64 {
        self.memory.data_size(self.sandbox.store()) as u64
    }

    /// Copies `len` bytes at `offset`; `memory_out_of_bounds` if the range
    /// is outside the memory (checked before allocating).
    pub fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        read(self.memory, self.sandbox.store(), offset, len)
    }

    /// Fills `buf` from `offset`.
    pub fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        read_into(self.memory, self.sandbox.store(), offset, buf)
    }

    /// Writes `bytes` at `offset`.
    pub fn write(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        write(self.memory, self.sandbox.store_mut(), offset, bytes)
    }
}

impl Sandbox {
    /// The loaded module's default memory: the export named `memory`, or
    /// else its only exported memory. `export_not_found` when there is none
    /// (components do not export their memories: exchange data through
    /// their typed exports instead).
    pub fn memory(&mut self) -> Result<GuestMemory<'_>> {
        let memory = self.default_memory()?;
        Ok(GuestMemory {
            sandbox: self,
            memory,
        })
    }

    /// The memory [`Sandbox::memory`] gives access to.
    pub(crate) fn default_memory(&mut self) -> Result<Memory> {
        let module = self.loaded_module()?;
        let mut memories = module.memory_names();
        let name = match memories.len() {
            1 => memories.remove(0),
            _ => DEFAULT_MEMORY.to_string(),
        };
        self.exported_memory(&name)
    }

    /// The exported memory named `name`.
    pub fn memory_named(&mut self, name: &str) -> Result<GuestMemory<'_>> {
        let memory = self.exported_memory(name)?;
        Ok(GuestMemory {
            sandbox: self,
            memory,
        })
    }
}
