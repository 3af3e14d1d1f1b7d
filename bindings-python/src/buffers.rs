//! Bytes-like arguments: any object with the buffer protocol (`bytes`,
//! `bytearray`, `memoryview`, `array.array`, `mmap`, ...).
//!
//! The extension is built for the stable ABI of Python 3.9, which has no
//! buffer-protocol functions; other buffers are read and written through a
//! `memoryview`. A `bytes` object is immutable, so its contents are borrowed
//! (also while the GIL is released); anything else is copied first, as
//! another thread could resize it once the GIL is released.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PySlice};

/// The contents of a bytes-like argument.
pub enum BytesLike<'py> {
    /// An immutable `bytes`, borrowed.
    Bytes(Bound<'py, PyBytes>),
    /// A copy of a mutable buffer.
    Copied(Vec<u8>),
}

impl BytesLike<'_> {
    /// The bytes; valid with the GIL released while `self` lives.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            BytesLike::Bytes(b) => b.as_bytes(),
            BytesLike::Copied(v) => v,
        }
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The bytes of `obj`, or a `TypeError` naming what `what` expects
/// (`"call_bytes() data"`).
pub fn bytes_like<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<BytesLike<'py>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(BytesLike::Bytes(b.clone()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(BytesLike::Copied(b.to_vec()));
    }
    let view = PyMemoryView::from(obj).map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a bytes-like object (bytes, bytearray, memoryview, ...), not {}",
            type_name(obj)
        ))
    })?;
    let bytes = view.call_method0("tobytes")?;
    Ok(BytesLike::Bytes(bytes.cast_into::<PyBytes>()?))
}

/// A writable buffer's flat byte view (`memoryview(obj).cast("B")`), or a
/// `TypeError`: read-only and non-contiguous buffers are refused.
pub fn writable_view<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyAny>> {
    let refuse = |why: &str| {
        PyTypeError::new_err(format!(
            "{what} must be a writable bytes-like object (bytearray, memoryview, array, ...); {why}"
        ))
    };
    let view = PyMemoryView::from(obj)
        .map_err(|_| refuse(&format!("{} has no buffer", type_name(obj))))?;
    if view.getattr("readonly")?.is_truthy()? {
        return Err(refuse(&format!("this {} is read-only", type_name(obj))));
    }
    view.call_method1("cast", ("B",))
        .map_err(|_| refuse("this buffer is not contiguous"))
}

/// Copies `data` into a view made by [`writable_view`].
pub fn fill_view(view: &Bound<'_, PyAny>, data: &[u8]) -> PyResult<()> {
    let py = view.py();
    view.set_item(PySlice::full(py), PyBytes::new(py, data))
}
