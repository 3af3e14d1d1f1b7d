//! `aegis compile`: compile a module into the cache so later runs skip compilation.

use aegis_core::Aegis;
use serde_json::json;

use crate::args::CompileArgs;
use crate::exit_code;
use crate::output::{Output, print_stdout};

/// Runs `aegis compile` and returns the process exit code.
///
/// The cache is keyed by the module's content and the engine configuration,
/// so this warms it for runs with the default engine settings (fuel metering
/// and timeouts on, default stack limit). A module already in the cache is
/// reported as found (`already_cached` in JSON); one that compiled but could
/// not be written fails with `io`.
pub fn compile(args: &CompileArgs, out: Output) -> u8 {
    let Some(dir) = args.cache.dir(None) else {
        let e = aegis_core::Error::InvalidArgument {
            message: "no cache directory: pass --cache-dir or set AEGIS_CACHE_DIR".into(),
        };
        return crate::validate::fail(&e, out);
    };
    let result = Aegis::builder()
        .with_compile_cache(&dir)
        .build()
        .and_then(|runtime| {
            let module = runtime.load_file(&args.module)?;
            let stats = runtime.compile_cache_stats().unwrap_or_default();
            if stats.hits == 0 && stats.stored == 0 {
                return Err(aegis_core::Error::Io {
                    message: format!(
                        "the module compiled but could not be stored in the cache at {}",
                        dir.display()
                    ),
                });
            }
            Ok((module, stats.hits > 0))
        });
    match result {
        Ok((module, already)) => {
            let kind = if module.is_component() {
                "component"
            } else {
                "module"
            };
            if out.is_json() {
                out.print_json(&json!({
                    "ok": true,
                    "cache_dir": dir.display().to_string(),
                    "kind": kind,
                    "already_cached": already,
                }));
            } else if !out.quiet {
                let verb = if already { "Found" } else { "Compiled" };
                print_stdout(&format!(
                    "{verb} {kind} `{}` {} the cache at {}",
                    args.module.display(),
                    if already { "in" } else { "into" },
                    dir.display()
                ));
            }
            exit_code::SUCCESS
        }
        Err(e) => crate::validate::fail(&e, out),
    }
}
