//! Fuel for the work WASI 0.2 does on a component's behalf.
//!
//! The WASI 0.2 counterpart of [`crate::host_fuel`]: a component that asks
//! for 60 MiB of randomness or streams megabytes through `wasi:io/streams`
//! would otherwise pay a handful of units per call while the host does all
//! the work. The component linker gets wasmtime-wasi's implementation, then
//! these functions shadow the ones whose work grows with a guest-chosen size;
//! each calls wasmtime-wasi's own implementation and charges
//! [`HOST_CALL_FUEL`] plus, at the same rates as preview 1:
//!
//! - `wasi:random/random` `get-random-bytes`, `wasi:random/insecure`
//!   `get-insecure-random-bytes`: [`RANDOM_FUEL_PER_BYTE`] per requested
//!   byte, before anything is allocated or generated;
//! - `wasi:io/streams` output-stream `write`, `blocking-write-and-flush`,
//!   `wasi:filesystem/types` descriptor `write`, `wasi:sockets/udp`
//!   `outgoing-datagram-stream.send`: one per byte handed over, before the
//!   write (the bytes are already copied out of the guest);
//! - output-stream `write-zeroes`, `blocking-write-zeroes-and-flush`,
//!   `splice`, `blocking-splice`, input-stream `read`, `blocking-read`,
//!   `skip`, `blocking-skip`, descriptor `read`, `incoming-datagram-stream
//!   .receive`: one per byte written, moved, skipped or returned, after the
//!   call;
//! - `directory-entry-stream.read-directory-entry`: the call's fixed cost.
//!
//! Running out surfaces as wasmtime's `Trap::OutOfFuel`, so the call ends
//! with `out_of_fuel`; a store without fuel metering is not charged.
//! Registration fails if wasmtime-wasi no longer defines a function under the
//! name and version shadowed here, rather than leaving it unmetered.

use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentNamedList, Lift, Linker, Lower, Resource};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self as fs, Descriptor, DirectoryEntryStream, HostDescriptor, HostDirectoryEntryStream,
};
use wasmtime_wasi::p2::bindings::io::streams::{self, HostInputStream, HostOutputStream};
use wasmtime_wasi::p2::bindings::random::{insecure, random};
use wasmtime_wasi::p2::bindings::sockets::network;
use wasmtime_wasi::p2::bindings::sockets::udp::{
    self, HostIncomingDatagramStream, HostOutgoingDatagramStream, IncomingDatagramStream,
    OutgoingDatagramStream,
};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, FsResult, SocketResult, StreamResult};
use wasmtime_wasi::sockets::WasiSocketsView;

use crate::host_fuel::{HOST_CALL_FUEL, RANDOM_FUEL_PER_BYTE, charge};
use crate::p2_guard::FILESYSTEM_TYPES;
use crate::store::StoreState;

/// The `wasi:random/random` version wasmtime-wasi registers.
const RANDOM: &str = "wasi:random/random@0.2.12";
/// The `wasi:random/insecure` version wasmtime-wasi registers.
const INSECURE: &str = "wasi:random/insecure@0.2.12";
/// The `wasi:io/streams` version wasmtime-wasi registers.
const STREAMS: &str = "wasi:io/streams@0.2.12";
/// The `wasi:sockets/udp` version wasmtime-wasi registers.
const UDP: &str = "wasi:sockets/udp@0.2.12";

/// The bytes a call's successful result says it moved.
trait Moved {
    /// Bytes returned, or counted by the result; 0 for an error.
    fn moved(&self) -> u64;
}

impl Moved for u64 {
    fn moved(&self) -> u64 {
        *self
    }
}

impl Moved for Vec<u8> {
    fn moved(&self) -> u64 {
        self.len() as u64
    }
}

impl Moved for (Vec<u8>, bool) {
    fn moved(&self) -> u64 {
        self.0.moved()
    }
}

impl Moved for Vec<udp::IncomingDatagram> {
    fn moved(&self) -> u64 {
        self.iter().map(|d| d.data.len() as u64).sum()
    }
}

impl<T: Moved, E> Moved for Result<T, E> {
    fn moved(&self) -> u64 {
        self.as_ref().map_or(0, Moved::moved)
    }
}

/// wasmtime-wasi's infallible-or-trapping result, as is.
fn plain<T>(_: &mut StoreState, result: wasmtime::Result<T>) -> wasmtime::Result<T> {
    result
}

/// A stream result in the component ABI's terms (a trap stays a trap).
fn stream<T>(
    state: &mut StoreState,
    result: StreamResult<T>,
) -> wasmtime::Result<Result<T, streams::StreamError>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => streams::Host::convert_stream_error(state.ctx().table, e).map(Err),
    }
}

/// A filesystem result in the component ABI's terms.
fn file<T>(
    state: &mut StoreState,
    result: FsResult<T>,
) -> wasmtime::Result<Result<T, fs::ErrorCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => fs::Host::convert_error_code(&mut state.filesystem(), e).map(Err),
    }
}

/// A socket result in the component ABI's terms.
fn socket<T>(
    state: &mut StoreState,
    result: SocketResult<T>,
) -> wasmtime::Result<Result<T, network::ErrorCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => network::Host::convert_error_code(&mut state.sockets(), e).map(Err),
    }
}

/// Defines `f` as `instance`'s `name`, which wasmtime-wasi must already
/// define: an error otherwise, so a renamed function or a new interface
/// version cannot silently leave the original unmetered.
fn shadow<P, R, F>(
    linker: &mut Linker<StoreState>,
    instance: &str,
    name: &str,
    f: F,
) -> wasmtime::Result<()>
where
    F: Fn(
            StoreContextMut<'_, StoreState>,
            P,
        ) -> Box<dyn Future<Output = wasmtime::Result<R>> + Send + '_>
        + Send
        + Sync
        + 'static,
    P: ComponentNamedList + Lift + 'static,
    R: ComponentNamedList + Lower + 'static,
{
    linker.allow_shadowing(false);
    let probe = linker
        .instance(instance)?
        .func_wrap(name, |_, (): ()| Ok(()));
    if !probe.is_err_and(|e| e.to_string().contains("defined twice")) {
        wasmtime::bail!("wasmtime-wasi does not define `{instance}` `{name}`: cannot meter it");
    }
    linker.allow_shadowing(true);
    let defined = linker.instance(instance)?.func_wrap_async(name, f);
    linker.allow_shadowing(false);
    defined
}

/// Shadows the size-dependent WASI 0.2 functions in `linker` with metered
/// ones; call after `wasmtime_wasi::p2::add_to_linker_async`.
pub(crate) fn add_metered_functions(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    // `before` is charged with the fixed cost before the call, `after` (from
    // the call's `result`) once it returns; `finish` turns wasmtime-wasi's
    // result into the component function's.
    macro_rules! metered {
        ($instance:expr, $name:literal ($($arg:ident: $ty:ty),*),
         before: $before:expr, call($state:ident): $call:expr,
         after($result:ident): $after:expr, finish: $finish:ident) => {
            shadow(
                linker,
                $instance,
                $name,
                |mut store: StoreContextMut<'_, StoreState>, ($($arg,)*): ($($ty,)*)| {
                    Box::new(async move {
                        let before: u64 = $before;
                        charge(&mut store, HOST_CALL_FUEL.saturating_add(before))?;
                        let $state = store.data_mut();
                        let $result = $call;
                        let after: u64 = $after;
                        charge(&mut store, after)?;
                        Ok(($finish(store.data_mut(), $result)?,))
                    })
                },
            )?
        };
    }
    /// An output stream argument.
    type Out = Resource<DynOutputStream>;
    /// An input stream argument.
    type In = Resource<DynInputStream>;
    /// The fuel for `len` bytes of randomness.
    fn random_bytes(len: u64) -> u64 {
        RANDOM_FUEL_PER_BYTE.saturating_mul(len)
    }

    metered!(RANDOM, "get-random-bytes"(len: u64), before: random_bytes(len),
        call(s): random::Host::get_random_bytes(s.ctx().ctx.random(), len),
        after(_r): 0, finish: plain);
    metered!(INSECURE, "get-insecure-random-bytes"(len: u64), before: random_bytes(len),
        call(s): insecure::Host::get_insecure_random_bytes(s.ctx().ctx.random(), len),
        after(_r): 0, finish: plain);

    metered!(STREAMS, "[method]output-stream.write"(out: Out, bytes: Vec<u8>),
        before: bytes.len() as u64,
        call(s): HostOutputStream::write(s.ctx().table, out, bytes),
        after(_r): 0, finish: stream);
    metered!(STREAMS, "[method]output-stream.blocking-write-and-flush"(out: Out, bytes: Vec<u8>),
        before: bytes.len() as u64,
        call(s): HostOutputStream::blocking_write_and_flush(s.ctx().table, out, bytes).await,
        after(_r): 0, finish: stream);
    metered!(STREAMS, "[method]output-stream.write-zeroes"(out: Out, len: u64), before: 0,
        call(s): HostOutputStream::write_zeroes(s.ctx().table, out, len),
        after(r): if r.is_ok() { len } else { 0 }, finish: stream);
    metered!(STREAMS, "[method]output-stream.blocking-write-zeroes-and-flush"(out: Out, len: u64),
        before: 0,
        call(s): HostOutputStream::blocking_write_zeroes_and_flush(s.ctx().table, out, len).await,
        after(r): if r.is_ok() { len } else { 0 }, finish: stream);
    metered!(STREAMS, "[method]output-stream.splice"(out: Out, from: In, len: u64), before: 0,
        call(s): HostOutputStream::splice(s.ctx().table, out, from, len),
        after(r): r.moved(), finish: stream);
    metered!(STREAMS, "[method]output-stream.blocking-splice"(out: Out, from: In, len: u64),
        before: 0,
        call(s): HostOutputStream::blocking_splice(s.ctx().table, out, from, len).await,
        after(r): r.moved(), finish: stream);
    metered!(STREAMS, "[method]input-stream.read"(from: In, len: u64), before: 0,
        call(s): HostInputStream::read(s.ctx().table, from, len),
        after(r): r.moved(), finish: stream);
    metered!(STREAMS, "[method]input-stream.blocking-read"(from: In, len: u64), before: 0,
        call(s): HostInputStream::blocking_read(s.ctx().table, from, len).await,
        after(r): r.moved(), finish: stream);
    metered!(STREAMS, "[method]input-stream.skip"(from: In, len: u64), before: 0,
        call(s): HostInputStream::skip(s.ctx().table, from, len),
        after(r): r.moved(), finish: stream);
    metered!(STREAMS, "[method]input-stream.blocking-skip"(from: In, len: u64), before: 0,
        call(s): HostInputStream::blocking_skip(s.ctx().table, from, len).await,
        after(r): r.moved(), finish: stream);

    metered!(FILESYSTEM_TYPES, "[method]descriptor.read"
        (fd: Resource<Descriptor>, len: u64, offset: u64), before: 0,
        call(s): HostDescriptor::read(&mut s.filesystem(), fd, len, offset).await,
        after(r): r.moved(), finish: file);
    metered!(FILESYSTEM_TYPES, "[method]descriptor.write"
        (fd: Resource<Descriptor>, bytes: Vec<u8>, offset: u64), before: bytes.len() as u64,
        call(s): HostDescriptor::write(&mut s.filesystem(), fd, bytes, offset).await,
        after(_r): 0, finish: file);
    metered!(FILESYSTEM_TYPES, "[method]directory-entry-stream.read-directory-entry"
        (entries: Resource<DirectoryEntryStream>), before: 0,
        call(s): HostDirectoryEntryStream::read_directory_entry(&mut s.filesystem(), entries)
            .await,
        after(_r): 0, finish: file);

    metered!(UDP, "[method]outgoing-datagram-stream.send"
        (out: Resource<OutgoingDatagramStream>, datagrams: Vec<udp::OutgoingDatagram>),
        before: datagrams.iter().map(|d| d.data.len() as u64).sum(),
        call(s): HostOutgoingDatagramStream::send(&mut s.sockets(), out, datagrams),
        after(_r): 0, finish: socket);
    metered!(UDP, "[method]incoming-datagram-stream.receive"
        (from: Resource<IncomingDatagramStream>, max: u64), before: 0,
        call(s): HostIncomingDatagramStream::receive(&mut s.sockets(), from, max),
        after(r): r.moved(), finish: socket);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shadowed name and version is one wasmtime-wasi defines (else
    /// registration fails, see [`shadow`]), and the metered functions link.
    #[test]
    fn every_metered_function_shadows_one_wasmtime_wasi_defines() {
        let engine = wasmtime::Engine::default();
        let mut linker = Linker::<StoreState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        add_metered_functions(&mut linker).unwrap();
    }

    /// A name wasmtime-wasi does not define is refused, not silently added.
    #[test]
    fn shadowing_an_undefined_function_fails() {
        let engine = wasmtime::Engine::default();
        let mut linker = Linker::<StoreState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        let err = shadow(&mut linker, RANDOM, "get-random-bytes-v2", |_, (): ()| {
            Box::new(async { Ok(()) })
        })
        .expect_err("wasmtime-wasi defines no such function");
        assert!(err.to_string().contains("cannot meter"), "{err}");
    }
}
