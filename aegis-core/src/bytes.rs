//! Bytes and strings in and out of core modules: the guest convention
//! behind [`Sandbox::call_bytes`] and [`Sandbox::call_str`].
//!
//! A guest exports its `memory`, an allocator and bytes functions:
//!
//! ```text
//! aegis_alloc(len: i32) -> i32          a pointer to `len` writable bytes
//! aegis_free(ptr: i32, len: i32)        optional: frees an output buffer
//! NAME(ptr: i32, len: i32) -> i64       input at ptr..ptr+len;
//!                                       returns (out_ptr << 32) | out_len
//! ```
//!
//! The host calls `aegis_alloc(len)`, writes the input there and calls
//! `NAME`. From then on the input buffer is the guest's: it frees it, keeps
//! it, or returns it as the output. The output buffer is the host's until
//! the host has copied it; then the host calls `aegis_free(out_ptr,
//! out_len)` if the guest exports it (and `out_len > 0`). A guest reports a
//! failure by trapping.
//!
//! The whole exchange (allocation, call, free) is one call under the
//! sandbox's fuel, timeout and interrupt handle. Every pointer the guest
//! returns is checked: an input or output range outside its memory is
//! `memory_out_of_bounds`, an output longer than the result limit is
//! `result_too_large`, both before the host allocates anything for it.

use wasmtime::{Memory, Store, TypedFunc};

use crate::error::{Error, Result};
use crate::sandbox::Sandbox;
use crate::store::StoreState;

/// The allocator a bytes guest exports.
pub const ALLOC_EXPORT: &str = "aegis_alloc";
/// The optional deallocator a bytes guest exports.
pub const FREE_EXPORT: &str = "aegis_free";

/// The functions one exchange uses (looked up once per instance and name).
#[derive(Clone)]
pub(crate) struct Exchange {
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: Option<TypedFunc<(i32, i32), ()>>,
    func: TypedFunc<(i32, i32), i64>,
    result_limit: u64,
}

impl Sandbox {
    /// Calls a bytes function of the guest convention (see [`crate::bytes`]):
    /// `input` in, the guest's output out.
    pub fn call_bytes(&mut self, name: &str, input: &[u8]) -> Result<Vec<u8>> {
        let exchange = self.exchange(name)?;
        if u32::try_from(input.len()).is_err() {
            return Err(Error::invalid_argument(format!(
                "input of {} bytes does not fit a 32-bit guest",
                input.len()
            )));
        }
        self.execute_call(async |store| exchange.run(store, input).await)?
    }

    /// [`call_bytes`](Self::call_bytes) with text: the output must be UTF-8
    /// (else `invalid_result`).
    pub fn call_str(&mut self, name: &str, input: &str) -> Result<String> {
        let output = self.call_bytes(name, input.as_bytes())?;
        String::from_utf8(output).map_err(|e| Error::InvalidResult {
            message: format!(
                "the output of `{name}` is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })
    }

    fn exchange(&mut self, name: &str) -> Result<Exchange> {
        if let Some(found) = self.exchanges().get(name) {
            return Ok(found.clone());
        }
        let exchange = self.look_up_exchange(name)?;
        self.exchanges().insert(name.into(), exchange.clone());
        Ok(exchange)
    }

    fn look_up_exchange(&mut self, name: &str) -> Result<Exchange> {
        let memory = self.default_memory()?;
        let alloc = self.typed_export::<i32, i32>(ALLOC_EXPORT, "(i32) -> (i32)")?;
        let free = match self.module().and_then(|m| m.export(FREE_EXPORT)) {
            Some(_) => Some(self.typed_export::<(i32, i32), ()>(FREE_EXPORT, "(i32, i32) -> ()")?),
            None => None,
        };
        let func = self.typed_export::<(i32, i32), i64>(name, "(i32, i32) -> (i64)")?;
        Ok(Exchange {
            memory,
            alloc,
            free,
            func,
            result_limit: self.limits().result_bytes,
        })
    }
}

impl Exchange {
    /// Allocates, writes, calls, reads and frees. Guest traps are the outer
    /// error (classified by the sandbox); broken conventions the inner.
    async fn run(
        &self,
        store: &mut Store<StoreState>,
        input: &[u8],
    ) -> wasmtime::Result<Result<Vec<u8>>> {
        let len = input.len() as i32;
        let ptr = self.alloc.call_async(&mut *store, len).await? as u32;
        // The allocator may have grown (and moved) memory: look it up now.
        if let Err(e) = crate::memory::write(self.memory, &mut *store, ptr.into(), input) {
            return Ok(Err(e));
        }
        let packed = self.func.call_async(&mut *store, (ptr as i32, len)).await? as u64;
        let (out_ptr, out_len) = (packed >> 32, packed & 0xffff_ffff);
        if out_len > self.result_limit {
            return Ok(Err(Error::ResultTooLarge {
                size: out_len,
                limit: self.result_limit,
            }));
        }
        let output = match crate::memory::read(self.memory, &*store, out_ptr, out_len) {
            Ok(output) => output,
            Err(e) => return Ok(Err(e)),
        };
        if let (Some(free), true) = (&self.free, out_len > 0) {
            free.call_async(&mut *store, (out_ptr as i32, out_len as i32))
                .await?;
        }
        Ok(Ok(output))
    }
}
