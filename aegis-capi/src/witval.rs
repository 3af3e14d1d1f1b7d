//! `aegis_witval_t`: component-model (WIT) values as an owned, tagged tree,
//! converted to and from the core's `WitVal` (wasmtime's `component::Val`)
//! at a call.

use std::ffi::c_char;
use std::ptr;

use aegis_core::{Error, WitVal};

use crate::args::{self, borrow, borrow_mut, out_handle, text};
use crate::error::{aegis_error_t, c_string, guard, guard_value, invalid};

/// Deepest value tree a C program may build: nesting beyond this is refused
/// with `AEGIS_ERROR_INVALID_ARGUMENT`, so converting or freeing a tree can
/// never exhaust the stack. WIT types nest far less deeply.
pub const AEGIS_WITVAL_MAX_DEPTH: u32 = 1000;

/// The kind of an `aegis_witval_t`, one per WIT type kind.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum aegis_witkind_t {
    /// Not a value: what `aegis_witval_kind(NULL)` returns.
    AEGIS_WIT_INVALID = 0,
    /// `bool`.
    AEGIS_WIT_BOOL = 1,
    /// `s8`.
    AEGIS_WIT_S8 = 2,
    /// `u8`.
    AEGIS_WIT_U8 = 3,
    /// `s16`.
    AEGIS_WIT_S16 = 4,
    /// `u16`.
    AEGIS_WIT_U16 = 5,
    /// `s32`.
    AEGIS_WIT_S32 = 6,
    /// `u32`.
    AEGIS_WIT_U32 = 7,
    /// `s64`.
    AEGIS_WIT_S64 = 8,
    /// `u64`.
    AEGIS_WIT_U64 = 9,
    /// `f32`.
    AEGIS_WIT_F32 = 10,
    /// `f64`.
    AEGIS_WIT_F64 = 11,
    /// `char`: one Unicode scalar value.
    AEGIS_WIT_CHAR = 12,
    /// `string`: UTF-8 text.
    AEGIS_WIT_STRING = 13,
    /// `list<T>` (`list<u8>` included: see `aegis_witval_new_bytes`).
    AEGIS_WIT_LIST = 14,
    /// A `record`: named fields, in the type's order.
    AEGIS_WIT_RECORD = 15,
    /// A `tuple<...>`.
    AEGIS_WIT_TUPLE = 16,
    /// A `variant`: a case name and maybe a payload.
    AEGIS_WIT_VARIANT = 17,
    /// An `enum`: a case name.
    AEGIS_WIT_ENUM = 18,
    /// `option<T>`: none, or some payload.
    AEGIS_WIT_OPTION = 19,
    /// `result<T, E>`: ok or err, each maybe with a payload.
    AEGIS_WIT_RESULT = 20,
    /// `flags`: the names of the flags that are set.
    AEGIS_WIT_FLAGS = 21,
}

/// A component-model value: a tagged tree mirroring the WIT kinds
/// (`aegis_witkind_t`). Made by the `aegis_witval_new_*` functions and by
/// calls (`aegis_sandbox_call_component`); owned by whoever holds it, freed
/// with `aegis_witval_delete` (which frees the whole tree). Containers take
/// ownership of the values put into them. Pointers read out of a value
/// (children, strings, names) are borrowed: valid until the value is
/// changed or deleted.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug)]
pub struct aegis_witval_t {
    node: Node,
    /// 1 for a leaf; one more than the deepest child otherwise.
    depth: u32,
}

/// UTF-8 text kept NUL-terminated for C (the NUL is not part of the text).
#[derive(Clone, Debug)]
struct Text(String);

impl Text {
    fn new(mut s: String) -> Self {
        // Exactly one more byte: a large string grows in place where it can,
        // never to twice its size.
        s.reserve_exact(1);
        s.push('\0');
        Text(s)
    }
    fn as_str(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }
    fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
}

#[derive(Clone, Debug)]
enum Node {
    Bool(bool),
    S8(i8),
    U8(u8),
    S16(i16),
    U16(u16),
    S32(i32),
    U32(u32),
    S64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Char(char),
    Str(Text),
    List(Vec<aegis_witval_t>),
    Record(Vec<(Text, aegis_witval_t)>),
    Tuple(Vec<aegis_witval_t>),
    Variant(Text, Option<Box<aegis_witval_t>>),
    Enum(Text),
    Option(Option<Box<aegis_witval_t>>),
    /// Ok (true) or err, and the payload.
    Result(bool, Option<Box<aegis_witval_t>>),
    Flags(Vec<Text>),
}

impl aegis_witval_t {
    fn leaf(node: Node) -> Self {
        aegis_witval_t { node, depth: 1 }
    }

    fn kind(&self) -> aegis_witkind_t {
        use aegis_witkind_t::*;
        match &self.node {
            Node::Bool(_) => AEGIS_WIT_BOOL,
            Node::S8(_) => AEGIS_WIT_S8,
            Node::U8(_) => AEGIS_WIT_U8,
            Node::S16(_) => AEGIS_WIT_S16,
            Node::U16(_) => AEGIS_WIT_U16,
            Node::S32(_) => AEGIS_WIT_S32,
            Node::U32(_) => AEGIS_WIT_U32,
            Node::S64(_) => AEGIS_WIT_S64,
            Node::U64(_) => AEGIS_WIT_U64,
            Node::F32(_) => AEGIS_WIT_F32,
            Node::F64(_) => AEGIS_WIT_F64,
            Node::Char(_) => AEGIS_WIT_CHAR,
            Node::Str(_) => AEGIS_WIT_STRING,
            Node::List(_) => AEGIS_WIT_LIST,
            Node::Record(_) => AEGIS_WIT_RECORD,
            Node::Tuple(_) => AEGIS_WIT_TUPLE,
            Node::Variant(..) => AEGIS_WIT_VARIANT,
            Node::Enum(_) => AEGIS_WIT_ENUM,
            Node::Option(_) => AEGIS_WIT_OPTION,
            Node::Result(..) => AEGIS_WIT_RESULT,
            Node::Flags(_) => AEGIS_WIT_FLAGS,
        }
    }

    /// The core value of this tree (copied).
    pub(crate) fn to_val(&self) -> WitVal {
        let boxed = |p: &Option<Box<aegis_witval_t>>| p.as_ref().map(|v| Box::new(v.to_val()));
        match &self.node {
            Node::Bool(v) => WitVal::Bool(*v),
            Node::S8(v) => WitVal::S8(*v),
            Node::U8(v) => WitVal::U8(*v),
            Node::S16(v) => WitVal::S16(*v),
            Node::U16(v) => WitVal::U16(*v),
            Node::S32(v) => WitVal::S32(*v),
            Node::U32(v) => WitVal::U32(*v),
            Node::S64(v) => WitVal::S64(*v),
            Node::U64(v) => WitVal::U64(*v),
            Node::F32(v) => WitVal::Float32(*v),
            Node::F64(v) => WitVal::Float64(*v),
            Node::Char(v) => WitVal::Char(*v),
            Node::Str(s) => WitVal::String(s.as_str().to_string()),
            Node::List(items) => WitVal::List(items.iter().map(Self::to_val).collect()),
            Node::Record(fields) => WitVal::Record(
                fields
                    .iter()
                    .map(|(n, v)| (n.as_str().to_string(), v.to_val()))
                    .collect(),
            ),
            Node::Tuple(items) => WitVal::Tuple(items.iter().map(Self::to_val).collect()),
            Node::Variant(case, p) => WitVal::Variant(case.as_str().to_string(), boxed(p)),
            Node::Enum(case) => WitVal::Enum(case.as_str().to_string()),
            Node::Option(p) => WitVal::Option(boxed(p)),
            Node::Result(true, p) => WitVal::Result(Ok(boxed(p))),
            Node::Result(false, p) => WitVal::Result(Err(boxed(p))),
            Node::Flags(names) => {
                WitVal::Flags(names.iter().map(|n| n.as_str().to_string()).collect())
            }
        }
    }

    /// The tree of a core value (consumed). Resources, futures, streams and
    /// maps have no C form: `invalid_argument` (the core refuses functions
    /// using them before a call, so a call never produces one).
    pub(crate) fn from_val(val: WitVal) -> Result<Self, Error> {
        let payload = |p: Option<Box<WitVal>>| -> Result<Option<Box<Self>>, Error> {
            p.map(|v| Self::from_val(*v).map(Box::new)).transpose()
        };
        let items = |items: Vec<WitVal>| -> Result<Vec<Self>, Error> {
            items.into_iter().map(Self::from_val).collect()
        };
        let node = match val {
            WitVal::Bool(v) => Node::Bool(v),
            WitVal::S8(v) => Node::S8(v),
            WitVal::U8(v) => Node::U8(v),
            WitVal::S16(v) => Node::S16(v),
            WitVal::U16(v) => Node::U16(v),
            WitVal::S32(v) => Node::S32(v),
            WitVal::U32(v) => Node::U32(v),
            WitVal::S64(v) => Node::S64(v),
            WitVal::U64(v) => Node::U64(v),
            WitVal::Float32(v) => Node::F32(v),
            WitVal::Float64(v) => Node::F64(v),
            WitVal::Char(v) => Node::Char(v),
            WitVal::String(s) => Node::Str(Text::new(s)),
            WitVal::List(v) | WitVal::FixedLengthList(v) => Node::List(items(v)?),
            WitVal::Record(fields) => Node::Record(
                fields
                    .into_iter()
                    .map(|(n, v)| Ok((Text::new(n), Self::from_val(v)?)))
                    .collect::<Result<_, Error>>()?,
            ),
            WitVal::Tuple(v) => Node::Tuple(items(v)?),
            WitVal::Variant(case, p) => Node::Variant(Text::new(case), payload(p)?),
            WitVal::Enum(case) => Node::Enum(Text::new(case)),
            WitVal::Option(p) => Node::Option(payload(p)?),
            WitVal::Result(Ok(p)) => Node::Result(true, payload(p)?),
            WitVal::Result(Err(p)) => Node::Result(false, payload(p)?),
            WitVal::Flags(names) => Node::Flags(names.into_iter().map(Text::new).collect()),
            WitVal::Map(_)
            | WitVal::Resource(_)
            | WitVal::Future(_)
            | WitVal::Stream(_)
            | WitVal::ErrorContext(_) => {
                return Err(invalid(
                    "a map, resource, future, stream or error-context has no aegis_witval_t form",
                ));
            }
        };
        Ok(Self::with_children(node))
    }

    /// A value whose depth is computed from its children.
    fn with_children(node: Node) -> Self {
        let max = |it: &mut dyn Iterator<Item = &aegis_witval_t>| it.map(|c| c.depth).max();
        let deepest = match &node {
            Node::List(items) | Node::Tuple(items) => max(&mut items.iter()),
            Node::Record(fields) => max(&mut fields.iter().map(|(_, v)| v)),
            Node::Variant(_, p) | Node::Option(p) | Node::Result(_, p) => {
                p.as_ref().map(|v| v.depth)
            }
            _ => None,
        };
        aegis_witval_t {
            node,
            depth: deepest.map_or(1, |d| d.saturating_add(1)),
        }
    }
}

/// Hands a new value to C.
pub(crate) fn give(value: aegis_witval_t) -> *mut aegis_witval_t {
    Box::into_raw(Box::new(value))
}

/// Takes ownership of a value from C (NULL stays None).
///
/// # Safety
/// `ptr` is NULL or an owned value from this library, not used afterwards.
pub(crate) unsafe fn take(ptr: *mut aegis_witval_t) -> Option<aegis_witval_t> {
    (!ptr.is_null()).then(|| *unsafe { Box::from_raw(ptr) })
}

/// Refuses a child that would make its parent deeper than the limit.
fn check_depth(child: &aegis_witval_t) -> Result<(), Error> {
    if child.depth >= AEGIS_WITVAL_MAX_DEPTH {
        return Err(invalid(format!(
            "value nested deeper than {AEGIS_WITVAL_MAX_DEPTH} levels"
        )));
    }
    Ok(())
}

/// Builds a value with an optional payload, taking ownership of it even on
/// error; stores it in `*out`.
///
/// # Safety
/// As for `take`; `out` is NULL or valid for writes.
unsafe fn build_with_payload(
    function: &str,
    out: *mut *mut aegis_witval_t,
    payload: *mut aegis_witval_t,
    make: impl FnOnce(Option<Box<aegis_witval_t>>) -> Result<Node, Error>,
) -> *mut aegis_error_t {
    // Owned from here on: every error path drops it.
    let payload = unsafe { take(payload) };
    guard(function, move || {
        let slot = unsafe { out_handle(out, "value_out") }?;
        if let Some(p) = &payload {
            check_depth(p)?;
        }
        let node = make(payload.map(Box::new))?;
        *slot = give(aegis_witval_t::with_children(node));
        Ok(())
    })
}

/// Reads a scalar of the kind `read` accepts into `*out`.
///
/// # Safety
/// `value` is NULL or a live value; `out` is NULL or valid for a write.
unsafe fn get_scalar<T>(
    value: *const aegis_witval_t,
    out: *mut T,
    read: impl FnOnce(&Node) -> Option<T>,
) -> bool {
    guard_value(false, || {
        let (Some(v), Some(out)) = (unsafe { value.as_ref() }, unsafe { out.as_mut() }) else {
            return false;
        };
        match read(&v.node) {
            Some(x) => {
                *out = x;
                true
            }
            None => false,
        }
    })
}

/// A new `bool` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_bool(value: bool) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::Bool(value)))
}

/// If `value` is a `bool`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_bool(
    value: *const aegis_witval_t,
    out: *mut bool,
) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::Bool(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `s8` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_s8(value: i8) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::S8(value)))
}

/// If `value` is a `s8`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_s8(value: *const aegis_witval_t, out: *mut i8) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::S8(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `u8` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_u8(value: u8) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::U8(value)))
}

/// If `value` is a `u8`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_u8(value: *const aegis_witval_t, out: *mut u8) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::U8(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `s16` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_s16(value: i16) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::S16(value)))
}

/// If `value` is a `s16`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_s16(value: *const aegis_witval_t, out: *mut i16) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::S16(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `u16` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_u16(value: u16) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::U16(value)))
}

/// If `value` is a `u16`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_u16(value: *const aegis_witval_t, out: *mut u16) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::U16(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `s32` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_s32(value: i32) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::S32(value)))
}

/// If `value` is a `s32`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_s32(value: *const aegis_witval_t, out: *mut i32) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::S32(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `u32` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_u32(value: u32) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::U32(value)))
}

/// If `value` is a `u32`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_u32(value: *const aegis_witval_t, out: *mut u32) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::U32(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `s64` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_s64(value: i64) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::S64(value)))
}

/// If `value` is a `s64`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_s64(value: *const aegis_witval_t, out: *mut i64) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::S64(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `u64` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_u64(value: u64) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::U64(value)))
}

/// If `value` is a `u64`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_u64(value: *const aegis_witval_t, out: *mut u64) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::U64(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `f32` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_f32(value: f32) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::F32(value)))
}

/// If `value` is a `f32`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_f32(value: *const aegis_witval_t, out: *mut f32) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::F32(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `f64` value. Never returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_f64(value: f64) -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::F64(value)))
}

/// If `value` is a `f64`, stores it in `*out` and returns true; otherwise
/// (another kind, or a NULL argument) returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_f64(value: *const aegis_witval_t, out: *mut f64) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::F64(x) => Some(*x),
            _ => None,
        })
    }
}

/// A new `char` value from a Unicode code point, stored in `*value_out`
/// (NULL on error). A surrogate or a number past U+10FFFF gives
/// `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_new_char(
    code_point: u32,
    value_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    guard("aegis_witval_new_char", || {
        let slot = unsafe { out_handle(value_out, "value_out") }?;
        let c = char::from_u32(code_point).ok_or_else(|| {
            invalid(format!(
                "{code_point:#x} is not a Unicode scalar value (a char)"
            ))
        })?;
        *slot = give(aegis_witval_t::leaf(Node::Char(c)));
        Ok(())
    })
}

/// If `value` is a `char`, stores its code point in `*out` and returns true;
/// otherwise (another kind, or a NULL argument) returns false and leaves
/// `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_char(
    value: *const aegis_witval_t,
    out: *mut u32,
) -> bool {
    unsafe {
        get_scalar(value, out, |n| match n {
            Node::Char(c) => Some(u32::from(*c)),
            _ => None,
        })
    }
}

/// A new `string` value holding a copy of `text[0..len]` (UTF-8; NUL bytes
/// are allowed inside), stored in `*value_out` (NULL on error). Invalid
/// UTF-8, or a NULL `text` with a non-zero `len`, gives
/// `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_new_string(
    text: *const c_char,
    len: usize,
    value_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    guard("aegis_witval_new_string", || {
        let slot = unsafe { out_handle(value_out, "value_out") }?;
        let bytes = unsafe { args::slice(text.cast::<u8>(), len, "text") }?;
        let s = std::str::from_utf8(bytes).map_err(|e| {
            invalid(format!(
                "`text` is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        *slot = give(aegis_witval_t::leaf(Node::Str(Text::new(s.to_string()))));
        Ok(())
    })
}

/// If `value` is a `string`, stores a pointer to its UTF-8 bytes in `*text_out`
/// and their number in `*len_out` and returns true; otherwise (another kind,
/// or a NULL argument) returns false and leaves both alone. The text is
/// followed by a NUL byte (not counted in `*len_out`), so it is a C string
/// when it contains no NUL itself. Borrowed: valid until `value` is changed
/// or deleted.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_string(
    value: *const aegis_witval_t,
    text_out: *mut *const c_char,
    len_out: *mut usize,
) -> bool {
    guard_value(false, || {
        let (Some(v), Some(text), Some(len)) = (
            unsafe { value.as_ref() },
            unsafe { text_out.as_mut() },
            unsafe { len_out.as_mut() },
        ) else {
            return false;
        };
        match &v.node {
            Node::Str(s) => {
                *text = s.as_ptr();
                *len = s.as_str().len();
                true
            }
            _ => false,
        }
    })
}

/// A new `list<u8>` value holding a copy of `data[0..len]`, stored in
/// `*value_out` (NULL on error). A NULL `data` with a non-zero `len` gives
/// `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_new_bytes(
    data: *const u8,
    len: usize,
    value_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    guard("aegis_witval_new_bytes", || {
        let slot = unsafe { out_handle(value_out, "value_out") }?;
        let bytes = unsafe { args::slice(data, len, "data") }?;
        let items = bytes
            .iter()
            .map(|b| aegis_witval_t::leaf(Node::U8(*b)))
            .collect();
        *slot = give(aegis_witval_t {
            node: Node::List(items),
            depth: 2,
        });
        Ok(())
    })
}

/// If `value` is a list whose items are all `u8` (a `list<u8>`, or an empty
/// list), copies at most `capacity` of its bytes into `buf`, stores the
/// list's length in `*len_out` and returns true (call with `capacity` 0 and
/// `buf` NULL to ask the length); otherwise returns false and copies nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_get_bytes(
    value: *const aegis_witval_t,
    buf: *mut u8,
    capacity: usize,
    len_out: *mut usize,
) -> bool {
    guard_value(false, || {
        let (Some(v), Some(len)) = (unsafe { value.as_ref() }, unsafe { len_out.as_mut() }) else {
            return false;
        };
        let Node::List(items) = &v.node else {
            return false;
        };
        if !items.iter().all(|i| matches!(i.node, Node::U8(_))) {
            return false;
        }
        let Ok(dest) = (unsafe { args::slice_mut(buf, capacity, "buf") }) else {
            return false;
        };
        for (d, item) in dest.iter_mut().zip(items) {
            if let Node::U8(b) = item.node {
                *d = b;
            }
        }
        *len = items.len();
        true
    })
}

/// A new empty `list`; add items with `aegis_witval_push`. Never returns
/// NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_list() -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::List(Vec::new())))
}

/// A new empty `tuple`; add items with `aegis_witval_push`. Never returns
/// NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_tuple() -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::Tuple(Vec::new())))
}

/// A new empty `record`; add fields with `aegis_witval_record_set`. Never
/// returns NULL; owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witval_new_record() -> *mut aegis_witval_t {
    give(aegis_witval_t::leaf(Node::Record(Vec::new())))
}

/// Appends `item` to a list or a tuple. Takes ownership of `item` in every
/// case (on error it is freed): do not use or delete it afterwards. Fails
/// with `AEGIS_ERROR_INVALID_ARGUMENT` if an argument is NULL, `container` is
/// not a list or tuple, or the tree would nest deeper than
/// `AEGIS_WITVAL_MAX_DEPTH`. (The items of a list must all have the list's
/// element type; the call checks it.)
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_push(
    container: *mut aegis_witval_t,
    item: *mut aegis_witval_t,
) -> *mut aegis_error_t {
    let item = unsafe { take(item) };
    guard("aegis_witval_push", move || {
        let parent = unsafe { borrow_mut(container, "container") }?;
        let item = item.ok_or_else(|| invalid("`item` is NULL"))?;
        check_depth(&item)?;
        let depth = item.depth + 1;
        match &mut parent.node {
            Node::List(items) | Node::Tuple(items) => items.push(item),
            _ => {
                return Err(invalid(format!(
                    "`container` is a {}, not a list or tuple",
                    kind_name(parent.kind())
                )));
            }
        }
        parent.depth = parent.depth.max(depth);
        Ok(())
    })
}

/// Sets field `name` of a record to `item`: replaces the field's value if
/// the record has it, else appends the field. Fields must end up in the
/// order the record type declares them (the call checks it). Takes
/// ownership of `item` in every case (on error it is freed). Fails with
/// `AEGIS_ERROR_INVALID_ARGUMENT` if an argument is NULL, `name` is not
/// UTF-8, `record` is not a record, or the tree would be too deep.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_record_set(
    record: *mut aegis_witval_t,
    name: *const c_char,
    item: *mut aegis_witval_t,
) -> *mut aegis_error_t {
    let item = unsafe { take(item) };
    guard("aegis_witval_record_set", move || {
        let parent = unsafe { borrow_mut(record, "record") }?;
        let name = unsafe { text(name, "name") }?;
        let item = item.ok_or_else(|| invalid("`item` is NULL"))?;
        check_depth(&item)?;
        let kind = parent.kind();
        let Node::Record(fields) = &mut parent.node else {
            return Err(invalid(format!(
                "`record` is a {}, not a record",
                kind_name(kind)
            )));
        };
        let depth = item.depth + 1;
        match fields.iter_mut().find(|(n, _)| n.as_str() == name) {
            Some((_, slot)) => *slot = item,
            None => fields.push((Text::new(name.to_string()), item)),
        }
        // An upper bound (a replaced field may have been deeper): enough
        // for the limit, which only needs to bound the real depth.
        parent.depth = parent.depth.max(depth);
        Ok(())
    })
}

/// A new `variant` value: case `case_name` with `payload` (NULL for a case
/// without one), stored in `*value_out` (NULL on error). Takes ownership of
/// `payload` in every case.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_new_variant(
    case_name: *const c_char,
    payload: *mut aegis_witval_t,
    value_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    unsafe {
        build_with_payload("aegis_witval_new_variant", value_out, payload, |p| {
            let case = text(case_name, "case_name")?;
            Ok(Node::Variant(Text::new(case.to_string()), p))
        })
    }
}

/// A new `enum` value of case `case_name`, stored in `*value_out` (NULL on
/// error).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_new_enum(
    case_name: *const c_char,
    value_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    guard("aegis_witval_new_enum", || {
        let slot = unsafe { out_handle(value_out, "value_out") }?;
        let case = unsafe { text(case_name, "case_name") }?;
        *slot = give(aegis_witval_t::leaf(Node::Enum(Text::new(
            case.to_string(),
        ))));
        Ok(())
    })
}

/// A new `option` value: `some(payload)`, or `none` when `payload` is NULL;
/// stored in `*value_out` (NULL on error). Takes ownership of `payload` in
/// every case.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_new_option(
    payload: *mut aegis_witval_t,
    value_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    unsafe {
        build_with_payload("aegis_witval_new_option", value_out, payload, |p| {
            Ok(Node::Option(p))
        })
    }
}

/// A new `result` value: `ok(payload)` when `is_ok`, else `err(payload)`;
/// `payload` is NULL for a result without one on that side. Stored in
/// `*value_out` (NULL on error). Takes ownership of `payload` in every case.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_new_result(
    is_ok: bool,
    payload: *mut aegis_witval_t,
    value_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    unsafe {
        build_with_payload("aegis_witval_new_result", value_out, payload, |p| {
            Ok(Node::Result(is_ok, p))
        })
    }
}

/// A new `flags` value with the flags `names[0..count]` set (NULL-free,
/// UTF-8; `names` may be NULL when `count` is 0), stored in `*value_out`
/// (NULL on error).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_new_flags(
    names: *const *const c_char,
    count: usize,
    value_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    guard("aegis_witval_new_flags", || {
        let slot = unsafe { out_handle(value_out, "value_out") }?;
        let list = unsafe { args::slice(names, count, "names") }?;
        let names = list
            .iter()
            .enumerate()
            .map(|(i, n)| unsafe { text(*n, &format!("names[{i}]")) }.map(|n| Text::new(n.into())))
            .collect::<Result<Vec<_>, _>>()?;
        *slot = give(aegis_witval_t::leaf(Node::Flags(names)));
        Ok(())
    })
}

/// A deep copy of `value`, owned by the caller (NULL if `value` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_clone(value: *const aegis_witval_t) -> *mut aegis_witval_t {
    guard_value(ptr::null_mut(), || match unsafe { value.as_ref() } {
        Some(v) => give(v.clone()),
        None => ptr::null_mut(),
    })
}

/// Frees a value and everything in it. NULL is ignored. Values borrowed from
/// another (`aegis_witval_at`, `aegis_witval_payload`, ...) and values given
/// to a container are not freed on their own.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_delete(value: *mut aegis_witval_t) {
    guard_value((), || drop(unsafe { take(value) }));
}

/// The kind of `value`; `AEGIS_WIT_INVALID` if it is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_kind(value: *const aegis_witval_t) -> aegis_witkind_t {
    guard_value(aegis_witkind_t::AEGIS_WIT_INVALID, || {
        unsafe { value.as_ref() }.map_or(aegis_witkind_t::AEGIS_WIT_INVALID, |v| v.kind())
    })
}

/// The WIT name of a kind, e.g. "s32", "record" (static string; "invalid"
/// for `AEGIS_WIT_INVALID` or a number that is no kind).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_witkind_name(kind: u32) -> *const c_char {
    use aegis_witkind_t::*;
    const KINDS: [aegis_witkind_t; 21] = [
        AEGIS_WIT_BOOL,
        AEGIS_WIT_S8,
        AEGIS_WIT_U8,
        AEGIS_WIT_S16,
        AEGIS_WIT_U16,
        AEGIS_WIT_S32,
        AEGIS_WIT_U32,
        AEGIS_WIT_S64,
        AEGIS_WIT_U64,
        AEGIS_WIT_F32,
        AEGIS_WIT_F64,
        AEGIS_WIT_CHAR,
        AEGIS_WIT_STRING,
        AEGIS_WIT_LIST,
        AEGIS_WIT_RECORD,
        AEGIS_WIT_TUPLE,
        AEGIS_WIT_VARIANT,
        AEGIS_WIT_ENUM,
        AEGIS_WIT_OPTION,
        AEGIS_WIT_RESULT,
        AEGIS_WIT_FLAGS,
    ];
    let name = KINDS
        .iter()
        .find(|k| **k as u32 == kind)
        .map_or(c"invalid", |k| kind_cname(*k));
    name.as_ptr()
}

fn kind_cname(kind: aegis_witkind_t) -> &'static std::ffi::CStr {
    use aegis_witkind_t::*;
    match kind {
        AEGIS_WIT_INVALID => c"invalid",
        AEGIS_WIT_BOOL => c"bool",
        AEGIS_WIT_S8 => c"s8",
        AEGIS_WIT_U8 => c"u8",
        AEGIS_WIT_S16 => c"s16",
        AEGIS_WIT_U16 => c"u16",
        AEGIS_WIT_S32 => c"s32",
        AEGIS_WIT_U32 => c"u32",
        AEGIS_WIT_S64 => c"s64",
        AEGIS_WIT_U64 => c"u64",
        AEGIS_WIT_F32 => c"f32",
        AEGIS_WIT_F64 => c"f64",
        AEGIS_WIT_CHAR => c"char",
        AEGIS_WIT_STRING => c"string",
        AEGIS_WIT_LIST => c"list",
        AEGIS_WIT_RECORD => c"record",
        AEGIS_WIT_TUPLE => c"tuple",
        AEGIS_WIT_VARIANT => c"variant",
        AEGIS_WIT_ENUM => c"enum",
        AEGIS_WIT_OPTION => c"option",
        AEGIS_WIT_RESULT => c"result",
        AEGIS_WIT_FLAGS => c"flags",
    }
}

fn kind_name(kind: aegis_witkind_t) -> &'static str {
    kind_cname(kind).to_str().unwrap_or("invalid")
}

/// Number of items of a list or tuple, fields of a record, flags set in a
/// flags value, or bytes of a string; 0 for other kinds and NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_len(value: *const aegis_witval_t) -> usize {
    guard_value(0, || match unsafe { value.as_ref() }.map(|v| &v.node) {
        Some(Node::List(items) | Node::Tuple(items)) => items.len(),
        Some(Node::Record(fields)) => fields.len(),
        Some(Node::Flags(names)) => names.len(),
        Some(Node::Str(s)) => s.as_str().len(),
        _ => 0,
    })
}

/// Item `index` of a list or tuple, or the value of field `index` of a
/// record (borrowed from `value`: valid until it is changed or deleted);
/// NULL for other kinds, NULL, or an index past `aegis_witval_len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_at(
    value: *const aegis_witval_t,
    index: usize,
) -> *const aegis_witval_t {
    guard_value(ptr::null(), || {
        let child = match unsafe { value.as_ref() }.map(|v| &v.node) {
            Some(Node::List(items) | Node::Tuple(items)) => items.get(index),
            Some(Node::Record(fields)) => fields.get(index).map(|(_, v)| v),
            _ => None,
        };
        child.map_or(ptr::null(), |c| c as *const aegis_witval_t)
    })
}

/// Name of field `index` of a record (borrowed, NUL-terminated); NULL for
/// other kinds, NULL, or an index past the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_field_name(
    value: *const aegis_witval_t,
    index: usize,
) -> *const c_char {
    guard_value(ptr::null(), || {
        match unsafe { value.as_ref() }.map(|v| &v.node) {
            Some(Node::Record(fields)) => {
                fields.get(index).map_or(ptr::null(), |(n, _)| n.as_ptr())
            }
            _ => ptr::null(),
        }
    })
}

/// The value of the field called `name` of a record (borrowed); NULL if
/// there is none, `value` is not a record, or an argument is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_field(
    value: *const aegis_witval_t,
    name: *const c_char,
) -> *const aegis_witval_t {
    guard_value(ptr::null(), || {
        let Ok(name) = (unsafe { text(name, "name") }) else {
            return ptr::null();
        };
        match unsafe { value.as_ref() }.map(|v| &v.node) {
            Some(Node::Record(fields)) => fields
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map_or(ptr::null(), |(_, v)| v as *const aegis_witval_t),
            _ => ptr::null(),
        }
    })
}

/// The case of a variant or enum; "ok" or "err" for a result; "some" or
/// "none" for an option (borrowed or static, NUL-terminated). NULL for other
/// kinds and NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_case_name(value: *const aegis_witval_t) -> *const c_char {
    guard_value(ptr::null(), || {
        match unsafe { value.as_ref() }.map(|v| &v.node) {
            Some(Node::Variant(case, _) | Node::Enum(case)) => case.as_ptr(),
            Some(Node::Result(true, _)) => c"ok".as_ptr(),
            Some(Node::Result(false, _)) => c"err".as_ptr(),
            Some(Node::Option(Some(_))) => c"some".as_ptr(),
            Some(Node::Option(None)) => c"none".as_ptr(),
            _ => ptr::null(),
        }
    })
}

/// Whether `value` is a result that is ok (false for an err, other kinds
/// and NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_is_ok(value: *const aegis_witval_t) -> bool {
    guard_value(false, || {
        matches!(
            unsafe { value.as_ref() }.map(|v| &v.node),
            Some(Node::Result(true, _))
        )
    })
}

/// The payload of a variant case, of an option that is some, or of either
/// side of a result (borrowed); NULL when there is none (a payload-less
/// case, none, `ok`/`err` without a payload), for other kinds and NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_payload(
    value: *const aegis_witval_t,
) -> *const aegis_witval_t {
    guard_value(ptr::null(), || {
        match unsafe { value.as_ref() }.map(|v| &v.node) {
            Some(Node::Variant(_, p) | Node::Option(p) | Node::Result(_, p)) => p
                .as_deref()
                .map_or(ptr::null(), |v| v as *const aegis_witval_t),
            _ => ptr::null(),
        }
    })
}

/// Name of set flag number `index` of a flags value (borrowed); NULL for
/// other kinds, NULL, or an index past `aegis_witval_len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_flag_name(
    value: *const aegis_witval_t,
    index: usize,
) -> *const c_char {
    guard_value(ptr::null(), || {
        match unsafe { value.as_ref() }.map(|v| &v.node) {
            Some(Node::Flags(names)) => names.get(index).map_or(ptr::null(), |n| n.as_ptr()),
            _ => ptr::null(),
        }
    })
}

/// Writes `value` as WAVE text (the WebAssembly Value Encoding that
/// `aegis_sandbox_invoke` and `wasmtime run --invoke` use, e.g.
/// `{x: 1, y: 2, label: "p"}`) into `*text_out`, a NUL-terminated string
/// owned by the caller and freed with `aegis_string_free` (NULL on error).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_witval_to_wave(
    value: *const aegis_witval_t,
    text_out: *mut *mut c_char,
) -> *mut aegis_error_t {
    guard("aegis_witval_to_wave", || {
        let slot = unsafe { out_handle(text_out, "text_out") }?;
        let value = unsafe { borrow(value, "value") }?;
        let text = aegis_core::wave::to_wave(&value.to_val())?;
        *slot = c_string(&text).into_raw();
        Ok(())
    })
}

/// Frees a string this library handed over (`aegis_witval_to_wave`,
/// `aegis_sandbox_invoke`, `aegis_sandbox_call_str`). NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_string_free(text: *mut c_char) {
    guard_value((), || {
        if !text.is_null() {
            drop(unsafe { std::ffi::CString::from_raw(text) });
        }
    });
}

/// Frees a buffer this library handed over (`aegis_sandbox_call_bytes`):
/// pass the pointer and the length it came with. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_bytes_free(data: *mut u8, len: usize) {
    guard_value((), || {
        if !data.is_null() {
            let slice = ptr::slice_from_raw_parts_mut(data, len);
            drop(unsafe { Box::from_raw(slice) });
        }
    });
}

/// Hands bytes to C as `(pointer, length)`, freed with `aegis_bytes_free`
/// (NULL for none).
pub(crate) fn give_bytes(bytes: Vec<u8>) -> (*mut u8, usize) {
    if bytes.is_empty() {
        return (ptr::null_mut(), 0);
    }
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    (Box::into_raw(boxed).cast::<u8>(), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_core_form() {
        let val = WitVal::Record(vec![
            ("x".into(), WitVal::S32(-1)),
            (
                "tags".into(),
                WitVal::List(vec![
                    WitVal::String("a\0b".into()),
                    WitVal::String(String::new()),
                ]),
            ),
            (
                "shape".into(),
                WitVal::Variant("circle".into(), Some(Box::new(WitVal::Float64(1.5)))),
            ),
            (
                "maybe".into(),
                WitVal::Option(Some(Box::new(WitVal::Option(None)))),
            ),
            ("r".into(), WitVal::Result(Err(None))),
            ("f".into(), WitVal::Flags(vec!["read".into()])),
            ("e".into(), WitVal::Enum("red".into())),
            (
                "t".into(),
                WitVal::Tuple(vec![WitVal::Char('é'), WitVal::U64(u64::MAX)]),
            ),
        ]);
        let tree = aegis_witval_t::from_val(val.clone()).unwrap();
        assert_eq!(tree.to_val(), val);
        assert_eq!(tree.depth, 3);
    }

    #[test]
    fn nesting_past_the_limit_is_refused() {
        let mut v = aegis_witval_new_u8(1);
        for i in 0..AEGIS_WITVAL_MAX_DEPTH + 5 {
            let mut out = ptr::null_mut();
            let err = unsafe { aegis_witval_new_option(v, &mut out) };
            if i + 1 < AEGIS_WITVAL_MAX_DEPTH {
                assert!(err.is_null());
                v = out;
            } else {
                assert!(!err.is_null() && out.is_null());
                unsafe { crate::error::aegis_error_delete(err) };
                return;
            }
        }
        unreachable!();
    }
}
