//! Checked conversions of raw C arguments: NULL pointers and invalid UTF-8
//! become `invalid_argument` errors instead of undefined behaviour.

use std::ffi::{CStr, c_char};

use aegis_core::Error;

use crate::error::invalid;

/// A `&str` from a NUL-terminated C string.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(invalid(format!("`{what}` is NULL")));
    }
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(format!("`{what}` is not valid UTF-8")))
}

/// A shared reference from a pointer.
///
/// # Safety
/// `ptr` is NULL or valid for reads for `'a`.
pub(crate) unsafe fn borrow<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    unsafe { ptr.as_ref() }.ok_or_else(|| invalid(format!("`{what}` is NULL")))
}

/// A mutable reference from a pointer.
///
/// # Safety
/// `ptr` is NULL or valid for reads and writes for `'a`, and not aliased.
pub(crate) unsafe fn borrow_mut<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Error> {
    unsafe { ptr.as_mut() }.ok_or_else(|| invalid(format!("`{what}` is NULL")))
}

/// A slice from a pointer and a length; NULL is accepted when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or valid for `len` reads of `T` for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    check_slice(ptr.is_null(), len, size_of::<T>(), what)?;
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Refuses what no real C array can be: a NULL pointer with a non-zero
/// length, or more than `isize::MAX` bytes (making a Rust slice of that
/// would be undefined behaviour, and aborts the process in debug builds).
fn check_slice(null: bool, len: usize, elem_size: usize, what: &str) -> Result<(), Error> {
    if null {
        return Err(invalid(format!("`{what}` is NULL but its length is {len}")));
    }
    match len.checked_mul(elem_size) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(invalid(format!(
            "`{what}` has {len} elements, more than any array can hold"
        ))),
    }
}

/// A mutable slice from a pointer and a length; NULL is accepted when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or valid for `len` reads and writes of `T` for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    what: &str,
) -> Result<&'a mut [T], Error> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_slice(ptr.is_null(), len, size_of::<T>(), what)?;
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Checks an out-parameter and clears it, so it is NULL on every error path.
///
/// # Safety
/// `out` is NULL or valid for writes.
pub(crate) unsafe fn out_handle<'a, T>(
    out: *mut *mut T,
    what: &str,
) -> Result<&'a mut *mut T, Error> {
    let slot = unsafe { borrow_mut(out, what) }?;
    *slot = std::ptr::null_mut();
    Ok(slot)
}

/// Moves `value` to the heap and stores the owning pointer in `slot`.
pub(crate) fn give<T>(slot: &mut *mut T, value: T) {
    *slot = Box::into_raw(Box::new(value));
}

/// Frees a handle made by `give`. NULL is ignored.
///
/// # Safety
/// `ptr` is NULL or came from `give` and was not freed yet.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        drop(unsafe { Box::from_raw(ptr) });
    }
}
