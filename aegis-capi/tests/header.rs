//! `include/aegis.h` must be exactly what cbindgen generates from this crate.
//!
//! The test never writes the committed header: it generates the header into
//! the target directory (`target/generated/aegis.h`) and compares. To update
//! the committed copy after changing the C API, copy the generated file over
//! it (`cp target/generated/aegis.h include/aegis.h`) and review the diff.

use std::path::{Path, PathBuf};

/// `target/generated/aegis.h`, next to cargo's own `target/tmp`.
fn generated_path() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .unwrap_or(tmp)
        .join("generated")
        .join("aegis.h")
}

#[test]
fn committed_header_is_fresh() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header_path = crate_dir.join("../include/aegis.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed")
        .write(&mut generated);
    let out = generated_path();
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, &generated).unwrap();
    let committed = std::fs::read(&header_path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/aegis.h is stale: cbindgen generates {out}. See the difference with \
         `diff -u include/aegis.h {out}`; update with `cp {out} include/aegis.h`",
        out = out.display()
    );
}
