//! Gives the shared library an ELF SONAME, `libaegis.so.<major>`, so that a
//! program linked against an installed `libaegis.so` records `NEEDED
//! libaegis.so.<major>` and keeps working across compatible upgrades.
//! `aegis-capi/install.sh` installs the file as `libaegis.so.<version>` with
//! the symlinks `libaegis.so.<major>` and `libaegis.so`.
//!
//! Only the link of the `cdylib` changes: no flag reaches the dependencies,
//! so wasmtime compiles once per profile for every front-end.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    if os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaegis.so.{major}");
    }
}
