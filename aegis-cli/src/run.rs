//! `aegis run`: build a policy from the file and the flags, load the module, call it, report.

use std::io::Read;
use std::time::Instant;

use aegis_core::policy::Capture;
use aegis_core::units::format_duration;
use aegis_core::{
    Arg, DirAccess, Error, ExternType, Metrics, Module, Policy, Runtime, Sandbox, StdinPolicy,
    Value, WitVal,
};
use serde_json::json;

use crate::args::RunArgs;
use crate::exit_code;
use crate::inspect::describe_module;
use crate::output::{
    Output, base64, error_object, human_bytes, metrics_table, print_stderr, print_stdout,
    value_json, write_captured, write_stdout,
};
use crate::signals::SignalWatch;

/// What a call returned, in the form the way it was called reports.
enum Returned {
    /// `-e NAME` or the default entry: core values.
    Values(Vec<Value>),
    /// `--invoke`: each result as WAVE text.
    Wave(Vec<String>),
    /// `--call-bytes`: the guest's output.
    Bytes(Vec<u8>),
}

/// What happened: the function called, its results or error, and what it used.
struct Report {
    function: Option<String>,
    outcome: Result<Returned, Error>,
    /// How to do what was probably meant, after the error.
    hint: Option<String>,
    metrics: Option<Metrics>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Report {
    fn failed(function: Option<String>, err: Error) -> Self {
        Report {
            function,
            outcome: Err(err),
            hint: None,
            metrics: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }
}

/// Runs `aegis run` and returns the process exit code.
pub fn run(args: &RunArgs, out: Output) -> u8 {
    // `--call-bytes` input is read before Ctrl-C is taken over, so that
    // Ctrl-C still ends a read waiting on a terminal.
    let input = args.call_bytes.as_ref().map(|_| read_stdin());
    let signals = SignalWatch::start();
    let report = match input {
        Some(Err(e)) => Report::failed(args.call_bytes.clone(), e),
        Some(Ok(input)) => execute(args, out, signals.as_ref(), &input),
        None => execute(args, out, signals.as_ref(), &[]),
    };
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
        if let Some(hint) = &report.hint {
            out.hint(hint);
        }
    } else {
        print_human_report(&report, args.metrics, out);
    }
    code
}

/// All of stdin: the input of `--call-bytes` (at most 4 GiB, what a
/// 32-bit guest can be given; the core refuses more).
fn read_stdin() -> Result<Vec<u8>, Error> {
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .take(u64::from(u32::MAX) + 1)
        .read_to_end(&mut input)
        .map_err(|e| Error::Io {
            message: format!("cannot read the --call-bytes input from stdin: {e}"),
        })?;
    Ok(input)
}

fn execute(args: &RunArgs, out: Output, signals: Option<&SignalWatch>, input: &[u8]) -> Report {
    let (policy, runtime) = match prepare(args, out) {
        Ok(prepared) => prepared,
        Err(e) => return Report::failed(None, e),
    };
    out.verbose(1, describe_limits(&runtime));
    out.verbose(2, describe_grants(&runtime));
    let start = Instant::now();
    let module = match runtime.load_file(&args.module) {
        Ok(m) => m,
        Err(e) => return Report::failed(None, e),
    };
    out.verbose(
        1,
        format_args!(
            "compiled `{}` in {}",
            args.module.display(),
            format_duration(start.elapsed())
        ),
    );
    if out.verbose >= 3 {
        for line in describe_module(&module, true, true) {
            out.verbose(3, line);
        }
    }
    if !shows_output(&policy) && writes_output(&module) {
        out.note(if out.is_json() {
            "the guest's output is discarded; pass --capture-output to put it in the document"
        } else {
            "the guest's output is discarded; pass --allow-logging to see it"
        });
    }
    let mut sandbox = match runtime.sandbox().build() {
        Ok(s) => s,
        Err(e) => return Report::failed(None, e),
    };
    if let Some(signals) = signals {
        signals.attach(sandbox.interrupt_handle());
    }
    let (function, mut outcome) = match sandbox.load_module(&module) {
        Ok(()) => call(&mut sandbox, &module, args, input, out),
        Err(e) => (called_name(args), Err(e)),
    };
    let hint = match &mut outcome {
        Err(Error::ExportNotFound { available, .. }) if called_name(args).is_none() => {
            // A component's missing `wasi:cli/run`: name what it does export.
            if available.is_empty() {
                *available = module.function_names();
            }
            Some(entry_hint(args, &module))
        }
        _ => None,
    };
    Report {
        function,
        outcome,
        hint,
        metrics: Some(sandbox.last_call_metrics().clone()),
        stdout: sandbox.stdout(),
        stderr: sandbox.stderr(),
    }
}

/// The policy (the `--policy` file's, overridden by the flags) and the
/// runtime it configures. aegis-core decides what the options mean and which
/// combinations are refused; the CLI adds only what its output needs.
fn prepare(args: &RunArgs, out: Output) -> Result<(Policy, Runtime), Error> {
    let file = match &args.policy {
        Some(path) => Policy::from_file(path)?,
        None => Policy::default(),
    };
    let mut policy = file.overridden_by(&args.flags_policy(&file))?;
    if let (Some(name), Some(StdinPolicy::Inherit)) = (&args.call_bytes, &policy.stdin) {
        return Err(Error::InvalidArgument {
            message: format!(
                "stdin = \"inherit\" (from {}) gives the guest this process's stdin, which \
                 --call-bytes {name} reads as its input; give the guest a file instead",
                args.policy
                    .as_ref()
                    .map_or("--stdin".into(), |p| p.display().to_string())
            ),
        });
    }
    policy.compile_cache = args.cache.dir(policy.compile_cache.take());
    let runtime = build_runtime(&policy, out)?;
    if out.is_json() && policy.allow_logging == Some(true) {
        return Err(Error::InvalidArgument {
            message: "allow_logging (--allow-logging) writes the guest's output to stdout, \
                      which -f json reserves for one JSON document; use capture_output \
                      (--capture-output) to put the guest's output into the document"
                .into(),
        });
    }
    Ok((policy, runtime))
}

/// Builds the runtime; when the compile cache is unusable, a note says why
/// and the module is compiled from scratch.
fn build_runtime(policy: &Policy, out: Output) -> Result<Runtime, Error> {
    let Some(dir) = &policy.compile_cache else {
        return Runtime::from_policy(policy);
    };
    match Runtime::from_policy(policy) {
        Ok(runtime) => {
            out.verbose(1, format_args!("compile cache: {}", dir.display()));
            Ok(runtime)
        }
        Err(cache_error) => {
            let uncached = Policy {
                compile_cache: None,
                ..policy.clone()
            };
            let runtime = Runtime::from_policy(&uncached)?;
            out.note(format_args!("compile cache not used: {cache_error}"));
            Ok(runtime)
        }
    }
}

/// Whether the guest's output reaches the user: logged, or captured.
fn shows_output(policy: &Policy) -> bool {
    policy.allow_logging == Some(true)
        || matches!(
            policy.capture_output,
            Some(Capture::Enabled(true) | Capture::Limit(_))
        )
}

/// The export the command line names (`-e`, `--invoke`, `--call-bytes`), if any.
fn called_name(args: &RunArgs) -> Option<String> {
    (args.function.clone())
        .or_else(|| args.invoke.as_deref().map(|c| split_call(c).0.to_string()))
        .or_else(|| args.call_bytes.clone())
}

/// Calls `--invoke CALL`, `--call-bytes NAME` with `input`, `-e NAME` with
/// typed ARGS, or the default entry (`_start`, then `main`; `wasi:cli/run`
/// for a component). Returns the function's name when known.
fn call(
    sandbox: &mut Sandbox,
    module: &Module,
    args: &RunArgs,
    input: &[u8],
    out: Output,
) -> (Option<String>, Result<Returned, Error>) {
    let start = Instant::now();
    let (name, result) = match (&args.invoke, &args.call_bytes, &args.function) {
        (Some(call), _, _) => {
            let name = split_call(call).0.to_string();
            (name, invoke(sandbox, module, call).map(Returned::Wave))
        }
        (_, Some(name), _) if module.is_component() => {
            let err = core_only(
                "--call-bytes calls a core module's bytes function",
                module,
                name,
            );
            (name.clone(), Err(err))
        }
        (_, Some(name), _) => {
            let result = sandbox.call_bytes(name, input).map(Returned::Bytes);
            (name.clone(), result)
        }
        (_, _, Some(name)) if module.is_component() => {
            let err = core_only(
                "-e calls a core module's function with numeric ARGS",
                module,
                name,
            );
            (name.clone(), Err(err))
        }
        (_, _, Some(name)) => {
            let result = typed_args(module, name, &args.args)
                .and_then(|values| sandbox.call_dynamic(name, &values));
            (name.clone(), result.map(Returned::Values))
        }
        (None, None, None) => {
            let name = match module.is_component() {
                true => component_entry(module),
                false => match sandbox.default_entry() {
                    Ok(name) => name.to_string(),
                    Err(e) => return (None, Err(e)),
                },
            };
            (name, sandbox.run().map(Returned::Values))
        }
    };
    let m = sandbox.last_call_metrics();
    out.verbose(
        1,
        format_args!(
            "called `{name}` in {}, fuel consumed {}",
            format_duration(start.elapsed()),
            m.fuel_consumed
        ),
    );
    (Some(name), result)
}

/// What to do with a module that is not a command (no `_start` or `main`,
/// no `wasi:cli/run`) when no function was named: name one with `-e`
/// (`--invoke` for a component), shown with the module's first function.
fn entry_hint(args: &RunArgs, module: &Module) -> String {
    let file = args.module.display();
    let names = module.function_names();
    if names.is_empty() {
        return format!("`{file}` exports no functions: there is nothing to run");
    }
    // An example with a name that reads well on a command line (export
    // names are the guest's choice), else NAME.
    let plain = |n: &&String| n.len() <= 64 && n.chars().all(|c| c.is_ascii_graphic());
    let example =
        (names.iter().find(|n| plain(n) && !n.contains('#'))).or_else(|| names.iter().find(plain));
    let first = example.map_or("NAME", |n| n.as_str());
    match example.and_then(|n| module.export(n)).map(|e| &e.ty) {
        Some(ExternType::Function(sig)) => format!(
            "`{file}` is not a WASI command (it exports neither `_start` nor `main`): \
             name the function to call with -e NAME, e.g. `aegis run {file} -e {first}{}`",
            if sig.params.is_empty() {
                ""
            } else {
                " -- ARGS"
            }
        ),
        None if !module.is_component() => format!(
            "`{file}` is not a WASI command (it exports neither `_start` nor `main`): \
             name the function to call with -e NAME"
        ),
        _ => format!(
            "`{file}` is not a WASI command (it does not export wasi:cli/run): call one \
             of its functions with --invoke, e.g. `aegis run {file} --invoke '{first}(ARG, ...)'`"
        ),
    }
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

/// `--invoke CALL`: a component's export called with WAVE arguments
/// (`Sandbox::invoke`), or a core module's with the numbers of `-e`
/// (`add(7, 8)`); each result as WAVE text.
fn invoke(sandbox: &mut Sandbox, module: &Module, call: &str) -> Result<Vec<String>, Error> {
    let values = match module.is_component() {
        true => sandbox.invoke(call).map_err(|e| match e {
            // A call that does not parse or fit: show what the export takes.
            Error::InvalidArgument { message } => Error::InvalidArgument {
                message: message + &signature_note(module, split_call(call).0),
            },
            other => other,
        })?,
        false => {
            let (name, texts) = split_call(call);
            let texts = core_arguments(call, texts?)?;
            let values = typed_args(module, name, &texts)
                .and_then(|values| sandbox.call_dynamic(name, &values))?;
            values.iter().map(core_wit).collect()
        }
    };
    values.iter().map(aegis_core::wave::to_wave).collect()
}

/// A core-module way of calling (`-e`, `--call-bytes`) used on a component:
/// `invalid_argument`, pointing to `--invoke`.
fn core_only(what: &str, module: &Module, name: &str) -> Error {
    Error::InvalidArgument {
        message: format!(
            "{what}; `{name}` belongs to a component: call it with WAVE values, \
             --invoke '{name}(ARG, ...)'{}",
            signature_note(module, name)
        ),
    }
}

/// `` (`NAME` is func(...)) `` for a component's exported function, else nothing.
fn signature_note(module: &Module, name: &str) -> String {
    match module.export(name).map(|e| &e.ty) {
        Some(ty @ ExternType::ComponentFunction(_)) => format!(" (`{name}` is {ty})"),
        _ => String::new(),
    }
}

/// Splits `name(args)` into the name and the text inside the parentheses
/// (empty without them; an error when the call does not end with `)`).
fn split_call(call: &str) -> (&str, Result<&str, Error>) {
    let call = call.trim();
    match call.find('(') {
        None => (call, Ok("")),
        Some(open) => {
            let inner = call[open + 1..]
                .strip_suffix(')')
                .ok_or_else(|| Error::InvalidArgument {
                    message: format!("`{call}` is not a call: write NAME(ARG, ...)"),
                });
            (call[..open].trim(), inner)
        }
    }
}

/// The arguments of a core module's call: numbers separated by commas.
fn core_arguments(call: &str, inner: &str) -> Result<Vec<String>, Error> {
    let mut texts: Vec<String> = inner.split(',').map(|t| t.trim().to_string()).collect();
    if texts.last().is_some_and(String::is_empty) {
        texts.pop(); // `f()`, or a trailing comma as WAVE allows
    }
    match texts.iter().any(String::is_empty) {
        true => Err(Error::InvalidArgument {
            message: format!("`{call}`: an argument is missing between two commas"),
        }),
        false => Ok(texts),
    }
}

/// A core value as the WIT value of the same type, to write it in WAVE.
fn core_wit(value: &Value) -> WitVal {
    match *value {
        Value::I32(v) => WitVal::S32(v),
        Value::I64(v) => WitVal::S64(v),
        Value::F32(v) => WitVal::Float32(v),
        Value::F64(v) => WitVal::Float64(v),
    }
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
    let args: Vec<Arg> = texts.iter().cloned().map(Arg::Text).collect();
    aegis_core::coerce_args(name, sig, &args)
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
        l.timeout
            .map_or("off".into(), |t| format!("{} per call", format_duration(t))),
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

fn print_human_report(report: &Report, show_metrics: bool, out: Output) {
    // Captured output (--capture-output in the human format), as the guest wrote it.
    write_captured(&report.stdout, &report.stderr);
    match &report.outcome {
        // `-q`: the values bare, one per line, for scripts.
        Ok(Returned::Values(values)) => {
            for v in values {
                match out.quiet {
                    true => print_stdout(&v.to_string()),
                    false => print_stdout(&format!("Result: {v}")),
                }
            }
        }
        Ok(Returned::Wave(values)) => {
            for v in values {
                print_stdout(v);
            }
        }
        Ok(Returned::Bytes(bytes)) => write_stdout(bytes),
        Err(e) => out.print_error(e),
    }
    if let Some(hint) = &report.hint {
        out.hint(hint);
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
        Ok(Returned::Values(values)) => doc["results"] = values.iter().map(value_json).collect(),
        Ok(Returned::Wave(values)) => doc["results"] = json!(values),
        Ok(Returned::Bytes(bytes)) => {
            doc["output"] = json!(std::str::from_utf8(bytes).ok());
            doc["output_base64"] = json!(base64(bytes));
        }
        Err(e) => {
            doc["error"] = error_object(e);
            if let Some(hint) = &report.hint {
                doc["error"]["hint"] = json!(hint);
            }
        }
    }
    doc["metrics"] = report
        .metrics
        .as_ref()
        .map_or(json!(null), Metrics::to_json);
    doc["stdout"] = json!(String::from_utf8_lossy(&report.stdout));
    doc["stderr"] = json!(String::from_utf8_lossy(&report.stderr));
    out.print_json(&doc);
}
