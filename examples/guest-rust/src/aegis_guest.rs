//! The guest side of Aegis's bytes convention. Copy this file into your crate.
//!
//! A bytes function is `NAME(ptr: i32, len: i32) -> i64`: the input is at
//! `ptr..ptr+len`, and the result packs the output as `(out_ptr << 32) | out_len`.
//!
//! Ownership: the host gets the input buffer from `aegis_alloc`, writes the
//! input, and calls `NAME`, which owns the input from then on. The output
//! belongs to the host until it has copied it; then the host calls
//! `aegis_free(out_ptr, out_len)` (if out_len > 0). A guest reports failure by
//! trapping: a panic is a trap.

/// Returns a pointer to `len` writable bytes, for the host to write an input.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_alloc(len: i32) -> i32 {
    // A boxed slice of exactly len bytes, leaked; `into_vec` takes it back.
    let buf = Box::<[u8]>::new_uninit_slice(len as u32 as usize);
    Box::into_raw(buf) as *mut u8 as i32
}

/// Frees a buffer from `aegis_alloc` or one returned as an output.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_free(ptr: i32, len: i32) {
    drop(unsafe { into_vec(ptr, len) });
}

/// Takes back ownership of a buffer this module handed out: every one is a
/// leaked `Box<[u8]>` of exactly `len` bytes (see `aegis_alloc` and
/// `export_bytes`).
unsafe fn into_vec(ptr: i32, len: i32) -> Vec<u8> {
    let slice = std::ptr::slice_from_raw_parts_mut(ptr as u32 as *mut u8, len as u32 as usize);
    unsafe { Box::from_raw(slice) }.into_vec()
}

/// Runs `f` on the input at `ptr..ptr+len` and packs its output for the host.
///
/// Use it as the whole body of an exported bytes function:
///
/// ```ignore
/// #[unsafe(no_mangle)]
/// pub extern "C" fn upper(ptr: i32, len: i32) -> i64 {
///     export_bytes(ptr, len, |mut v| { v.make_ascii_uppercase(); v })
/// }
/// ```
pub fn export_bytes(ptr: i32, len: i32, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> i64 {
    let input = unsafe { into_vec(ptr, len) };
    // Leaked as an exact-size box, for `aegis_free` to take back.
    let out = Box::into_raw(f(input).into_boxed_slice());
    let (out_ptr, out_len) = (out as *mut u8 as u32, out.len() as u32);
    ((out_ptr as i64) << 32) | out_len as i64
}
