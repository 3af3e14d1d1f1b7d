//! Arbitrary bytes to `validate` and `load_bytes`: each either succeeds or
//! fails with `invalid_module`, never panics, and the two agree.

#![no_main]

use std::sync::OnceLock;

use aegis_core::{Aegis, ErrorCode, Runtime};
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Aegis::builder()
            .with_memory_limit(1 << 20)
            .with_fuel_limit(100_000)
            .build()
            .expect("runtime builds")
    })
}

fuzz_target!(|bytes: &[u8]| {
    let runtime = runtime();
    let valid = runtime.validate(bytes);
    let loaded = runtime.load_bytes(bytes);
    for code in [valid.as_ref().err(), loaded.as_ref().err()]
        .into_iter()
        .flatten()
        .map(|e| e.code())
    {
        assert_eq!(code, ErrorCode::InvalidModule);
    }
    assert!(
        !(valid.is_err() && loaded.is_ok()),
        "validate refused what load_bytes accepted"
    );
});
