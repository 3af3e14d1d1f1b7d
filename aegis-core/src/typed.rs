//! Typed calls: Rust tuples as an export's parameters and results.

use crate::host::HostType;
use crate::value::ValType;

/// Rust types usable as the arguments of [`Sandbox::call`](crate::Sandbox::call):
/// `()`, a single `i32`/`i64`/`f32`/`f64`, or a tuple of up to eight of them.
pub trait CallParams: wasmtime::WasmParams + Sync {
    /// The wasm types these arguments have.
    fn types() -> Vec<ValType>;
}

/// Rust types usable as the results of [`Sandbox::call`](crate::Sandbox::call).
pub trait CallResults: wasmtime::WasmResults + Sync {
    /// The wasm types these results have.
    fn types() -> Vec<ValType>;
}

macro_rules! typed_single {
    ($($t:ty),*) => {$(
        impl CallParams for $t {
            fn types() -> Vec<ValType> {
                vec![<$t as HostType>::TYPE]
            }
        }
        impl CallResults for $t {
            fn types() -> Vec<ValType> {
                vec![<$t as HostType>::TYPE]
            }
        }
    )*};
}
typed_single!(i32, i64, f32, f64);

macro_rules! typed_tuple {
    ($($t:ident),*) => {
        impl<$($t: HostType),*> CallParams for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
        }
        impl<$($t: HostType),*> CallResults for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
        }
    };
}
typed_tuple!();
typed_tuple!(A);
typed_tuple!(A, B);
typed_tuple!(A, B, C);
typed_tuple!(A, B, C, D);
typed_tuple!(A, B, C, D, E);
typed_tuple!(A, B, C, D, E, F);
typed_tuple!(A, B, C, D, E, F, G);
typed_tuple!(A, B, C, D, E, F, G, H);
