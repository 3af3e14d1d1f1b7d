//! `aegis run`: configure a runtime from the flags, load the module, call it, report.

use std::path::Path;
use std::time::Instant;

use aegis_core::capability::DEFAULT_CAPTURE_LIMIT;
use aegis_core::{
    Aegis, DirAccess, Error, ExternType, FilesystemCapability, Metrics, Module, Runtime,
    RuntimeBuilder, Sandbox, Value,
};
use serde_json::json;

use crate::args::RunArgs;
use crate::exit_code;
use crate::inspect::describe_module;
use crate::output::{
    Output, error_json, metrics_json, metrics_table, print_stderr, print_stdout, value_json,
};
use crate::signals::SignalWatch;
use crate::size::human_bytes;

/// What happened: the function called, its results or error, and what it used.
struct Report {
    function: Option<String>,
    outcome: Result<Vec<Value>, Error>,
    metrics: Option<Metrics>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Report {
    fn failed(err: Error) -> Self {
        Report {
            function: None,
            outcome: Err(err),
            metrics: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }
}

/// Runs `aegis run` and returns the process exit code.
pub fn run(args: &RunArgs, out: Output) -> u8 {
    let signals = SignalWatch::start();
    let report = execute(args, out, signals.as_ref());
    let code = match (
        &report.outcome,
        signals.as_ref().and_then(SignalWatch::signal),
    ) {
        (Ok(_), _) => exit_code::SUCCESS,
        (Err(Error::Interrupted { .. }), Some(signal)) => exit_code::for_signal(signal),
        (Err(e), _) => exit_code::for_error(e),
    };
    if out.is_json() {
        print_json_report(&report, out);
        if let Err(e) = &report.outcome {
            out.print_error(e);
        }
    } else {
        print_human_report(&report, args.metrics, out);
    }
    code
}

fn execute(args: &RunArgs, out: Output, signals: Option<&SignalWatch>) -> Report {
    // Two grants under one guest path would leave it to the guest which one
    // it gets: the core refuses that before anything is built.
    let grants = filesystem(args);
    if let Err(e) = grants.check() {
        return Report::failed(e);
    }
    let runtime = match build_runtime(args, out) {
        Ok(r) => r,
        Err(e) => return Report::failed(e),
    };
    out.verbose(1, describe_limits(&runtime));
    out.verbose(2, describe_grants(&runtime));
    let start = Instant::now();
    let module = match runtime.load_file(&args.module) {
        Ok(m) => m,
        Err(e) => return Report::failed(e),
    };
    out.verbose(
        1,
        format_args!(
            "compiled `{}` in {:.3} ms",
            args.module.display(),
            ms(start.elapsed())
        ),
    );
    if out.verbose >= 3 {
        for line in describe_module(&module, true, true) {
            out.verbose(3, line);
        }
    }
    if !args.allow_logging && !args.capture_output && writes_output(&module) {
        out.note(if out.is_json() {
            "the guest's output is discarded; pass --capture-output to put it in the document"
        } else {
            "the guest's output is discarded; pass --allow-logging to see it"
        });
    }
    let mut sandbox = match runtime.sandbox().build() {
        Ok(s) => s,
        Err(e) => return Report::failed(e),
    };
    if let Some(signals) = signals {
        signals.attach(sandbox.interrupt_handle());
    }
    let (function, outcome) = match sandbox.load_module(&module) {
        Ok(()) => call(&mut sandbox, &module, args, out),
        Err(e) => (args.function.clone(), Err(e)),
    };
    Report {
        function,
        outcome,
        metrics: Some(sandbox.last_call_metrics().clone()),
        stdout: sandbox.stdout(),
        stderr: sandbox.stderr(),
    }
}

/// Builds the runtime, with the compile cache unless it is off or unusable
/// (then a note says why and the module is compiled from scratch).
fn build_runtime(args: &RunArgs, out: Output) -> Result<Runtime, Error> {
    if let Some(dir) = args.cache.dir() {
        match configure(args).with_compile_cache(&dir).build() {
            Ok(runtime) => {
                out.verbose(1, format_args!("compile cache: {}", dir.display()));
                return Ok(runtime);
            }
            Err(e) => out.note(format_args!("compile cache not used: {e}")),
        }
    }
    configure(args).build()
}

/// Maps every flag onto the core builder: aegis-core owns the policy.
fn configure(args: &RunArgs) -> RuntimeBuilder {
    let mut b = Aegis::builder();
    if let Some(bytes) = args.memory_limit {
        b = b.with_memory_limit(bytes);
    }
    if let Some(fuel) = args.fuel_limit {
        b = b.with_fuel_limit(fuel);
    }
    if args.no_fuel_limit {
        b = b.without_fuel_limit();
    }
    if let Some(timeout) = args.timeout {
        b = b.with_timeout(timeout);
    }
    if let Some(stack) = args.stack_limit {
        b = b.with_stack_limit(usize::try_from(stack).unwrap_or(usize::MAX));
    }
    if let Some(elements) = args.table_elements_limit {
        b = b.with_table_elements_limit(elements);
    }
    if let Some(handles) = args.handle_limit {
        b = b.with_handle_limit(handles);
    }
    b = b.with_filesystem(filesystem(args));
    // `RunArgs::check` has refused --allow-logging with JSON and
    // --capture-output without it: each flag means one thing.
    if args.allow_logging {
        b = b.allow_logging();
    }
    if args.capture_output {
        b = b.capture_output(DEFAULT_CAPTURE_LIMIT);
    }
    if args.allow_clock {
        b = b.allow_clock();
    }
    for rule in &args.allow_net {
        b = b.allow_net(rule.clone());
    }
    for (key, value) in &args.env {
        b = b.with_env(key, value);
    }
    let mut argv = vec![argv0(&args.module)];
    if args.function.is_none() {
        argv.extend(args.args.iter().cloned());
    }
    b.with_args(argv)
}

/// The directory grants, parsed by aegis-core (`HOST[::GUEST]`), in flag order
/// (read-only grants first).
fn filesystem(args: &RunArgs) -> FilesystemCapability {
    FilesystemCapability {
        grants: args
            .allow_read
            .iter()
            .chain(&args.allow_write)
            .cloned()
            .collect(),
    }
}

/// argv[0] of a WASI command: the module's file name.
fn argv0(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

/// Calls `-e NAME` with typed ARGS, or the default entry (`_start`, then
/// `main`; `wasi:cli/run` for a component). Returns the function's name when known.
fn call(
    sandbox: &mut Sandbox,
    module: &Module,
    args: &RunArgs,
    out: Output,
) -> (Option<String>, Result<Vec<Value>, Error>) {
    let start = Instant::now();
    let (name, result) = match &args.function {
        Some(name) => {
            let result = typed_args(module, name, &args.args).and_then(|values| {
                match sandbox.call_dynamic(name, &values) {
                    Err(Error::Exit { status: 0 }) => Ok(Vec::new()),
                    other => other,
                }
            });
            (name.clone(), result)
        }
        None => {
            let name = match module.is_component() {
                true => component_entry(module),
                false => match sandbox.default_entry() {
                    Ok(name) => name.to_string(),
                    Err(e) => return (None, Err(e)),
                },
            };
            (name, sandbox.run())
        }
    };
    let m = sandbox.last_call_metrics();
    out.verbose(
        1,
        format_args!(
            "called `{name}` in {:.3} ms, fuel consumed {}",
            ms(start.elapsed()),
            m.fuel_consumed
        ),
    );
    (Some(name), result)
}

/// The name a WASI 0.2 command runs through: its `wasi:cli/run` export.
fn component_entry(module: &Module) -> String {
    module
        .exports()
        .iter()
        .map(|e| e.name.clone())
        .find(|n| n.starts_with("wasi:cli/run"))
        .unwrap_or_else(|| "wasi:cli/run".to_string())
}

/// Parses ARGS against the export's parameter types.
///
/// For a name that is not a numeric function export, returns no values and
/// lets the core's call report `export_not_found` or `signature_mismatch`.
fn typed_args(module: &Module, name: &str, texts: &[String]) -> Result<Vec<Value>, Error> {
    let sig = match module.export(name).map(|e| &e.ty) {
        Some(ExternType::Function(sig)) => sig,
        _ => return Ok(Vec::new()),
    };
    if texts.len() != sig.params.len() {
        return Err(Error::SignatureMismatch {
            name: name.to_string(),
            expected: sig.to_string(),
            given: format!(
                "{} argument{}",
                texts.len(),
                if texts.len() == 1 { "" } else { "s" }
            ),
        });
    }
    texts
        .iter()
        .zip(&sig.params)
        .enumerate()
        .map(|(i, (text, ty))| {
            Value::parse(text, *ty).map_err(|_| Error::InvalidArgument {
                message: format!(
                    "argument {} of `{name}`: `{text}` is not a valid {ty} (signature {sig})",
                    i + 1
                ),
            })
        })
        .collect()
}

/// Whether the module imports WASI's `fd_write` (it prints something).
fn writes_output(module: &Module) -> bool {
    module
        .imports()
        .iter()
        .any(|i| i.module.starts_with("wasi") && i.name == "fd_write")
}

fn describe_limits(runtime: &Runtime) -> String {
    let l = runtime.limits();
    format!(
        "limits: memory {}, fuel {}, timeout {}, stack {}",
        human_bytes(l.memory),
        l.fuel.map_or("off".into(), |f| format!("{f} per call")),
        l.timeout.map_or("off".into(), |t| format!(
            "{:.3} s per call",
            t.as_secs_f64()
        )),
        human_bytes(l.stack as u64),
    )
}

fn describe_grants(runtime: &Runtime) -> String {
    let c = runtime.capabilities();
    let dirs: Vec<String> = c
        .filesystem
        .grants
        .iter()
        .map(|g| {
            let access = match g.access {
                DirAccess::ReadOnly => "read",
                DirAccess::ReadWrite => "write",
            };
            format!("{access} {} as {}", g.host.display(), g.guest)
        })
        .collect();
    let env: Vec<&str> = c.env.iter().map(|(k, _)| k.as_str()).collect();
    format!(
        "grants: dirs [{}], logging {}, clock {}, env [{}], net {:?}, argv {:?}",
        dirs.join(", "),
        format!("{:?}", c.logging).to_lowercase(),
        if c.clock { "real" } else { "frozen" },
        env.join(", "),
        c.network.rules,
        c.args
    )
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_human_report(report: &Report, show_metrics: bool, out: Output) {
    match &report.outcome {
        Ok(values) => {
            for v in values {
                print_stdout(&format!("Result: {v}"));
            }
        }
        Err(e) => out.print_error(e),
    }
    if let (true, false, Some(m)) = (show_metrics, out.quiet, &report.metrics) {
        print_stderr(&metrics_table(m));
    }
}

fn print_json_report(report: &Report, out: Output) {
    let mut doc = json!({
        "ok": report.outcome.is_ok(),
        "function": report.function,
    });
    match &report.outcome {
        Ok(values) => doc["results"] = values.iter().map(value_json).collect(),
        Err(e) => doc["error"] = error_json(e),
    }
    doc["metrics"] = report.metrics.as_ref().map_or(json!(null), metrics_json);
    doc["stdout"] = json!(String::from_utf8_lossy(&report.stdout));
    doc["stderr"] = json!(String::from_utf8_lossy(&report.stderr));
    out.print_json(&doc);
}
