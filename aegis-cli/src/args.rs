//! Command-line definitions (clap derive): `aegis run`, `validate`, `inspect`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use aegis_core::policy::{Access, Capture, DirMap, Off, OnDenied, Size, Switch};
use aegis_core::{DirAccess, DirGrant, Error, NetRule, Policy, StdinPolicy};
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::cache::CacheArgs;

const EXAMPLES: &str = "\
Examples:
  aegis run add.wat -e add -- 7 8
  aegis run add.wat -e add --fuel-limit 1000000 --metrics -- 7 8
  aegis run hello.wasm --allow-logging -- first second
  aegis run tool.wasm --allow-read ./data::/data --allow-write ./out::/out \\
      --env MODE=fast --allow-clock --allow-logging
  aegis run loop.wat -e spin --fuel-limit 10000 --timeout 0.5 --memory-limit 16MiB
  aegis run client.wasm --allow-net 127.0.0.1:8080 --allow-net example.com:443
  aegis run add.wat -e add -f json -- 7 8
  aegis run component.wat --invoke 'upper(\"hello\")'    # WAVE values in and out
  aegis run component.wat --invoke 'aegis:demo/text#byte-len(\"héllo\")'
  echo 'hello aegis' | aegis run bytes.wat --call-bytes upper   # stdin → stdout
  aegis run hello.wasm -f json --capture-output -- first
  aegis run plugin.wasm --policy policy.toml --timeout 2
  aegis run tool.wasm --on-denied error    # a refusal fails the run (exit 5)
  aegis compile plugin.wasm          # later runs skip compilation
  aegis validate plugin.wasm
  aegis inspect plugin.wasm --exports
  aegis inspect plugin.wasm --policy policy.toml   # each import's verdict";

/// Run, validate and inspect untrusted WebAssembly in the Aegis sandbox.
///
/// The guest gets nothing it is not granted: no files, network, clock,
/// environment or output. Every call runs under memory, fuel and wall-clock
/// limits (defaults: 64 MiB, 1 000 000 000 fuel units, 30 s).
#[derive(Debug, Parser)]
#[command(
    name = "aegis",
    version,
    propagate_version = true,
    after_help = format!(
        "{EXAMPLES}\n\n{OUTPUT_OPTIONS}\n\nEvery option of `run`: aegis help run\n\n{}",
        crate::exit_code::TABLE
    ),
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The output options in the top-level help (they belong to each command).
const OUTPUT_OPTIONS: &str = "\
Output options of every command, given after its name (once each):
  -f, --format <FORMAT>  human (default), json (pretty) or json-compact (one line)
  -v, --verbose          more diagnostics on stderr (-v, -vv, -vvv)
  -q, --quiet            only results and errors: each result bare on its own
                         line (no `Result:` label), no metrics, notes or timings";

impl Cli {
    /// Parses the process's arguments, exiting with a usage error (code 2)
    /// when they are not understood. For `aegis run`, an unexpected word gets
    /// a tip on where guest arguments go.
    pub fn parse_args() -> Cli {
        Cli::try_parse().unwrap_or_else(|mut err| {
            use clap::error::{ContextKind, ContextValue, ErrorKind};
            let first = std::env::args_os()
                .nth(1)
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tip = match first.as_str() {
                _ if err.kind() != ErrorKind::UnknownArgument => None,
                "run" => Some(
                    "aegis options go before `--`, guest arguments after it: \
                     aegis run MODULE [OPTIONS] -- ARGS",
                ),
                f if f.starts_with('-') => Some(
                    "output options (-f, -v, -q) go after the command name: \
                     aegis run MODULE -f json",
                ),
                _ => None,
            };
            if let Some(tip) = tip {
                let mut tips = match err.get(ContextKind::Suggested) {
                    Some(ContextValue::StyledStrs(tips)) => tips.clone(),
                    _ => Vec::new(),
                };
                tips.push(tip.into());
                err.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
            }
            err.exit()
        })
    }

    /// The output options of the chosen command.
    pub fn output(&self) -> OutputArgs {
        match &self.command {
            Command::Run(a) => a.output,
            Command::Validate(a) => a.output,
            Command::Inspect(a) => a.output,
            Command::Compile(a) => a.output,
        }
    }
}

/// Output options, taken by every command after its name.
///
/// They are not clap `global` options: a global option given both before and
/// after the command name (`aegis -f json run m.wasm -f human`) silently
/// keeps the last value, and `aegis` refuses contradictions instead.
#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Output format: `human`, or one JSON document on stdout (`json` pretty,
    /// `json-compact` on one line).
    #[arg(
        short = 'f',
        long,
        value_enum,
        default_value_t = Format::Human,
        display_order = 100
    )]
    pub format: Format,

    /// More diagnostics on stderr: -v limits and timings, -vv grants,
    /// -vvv the module's imports and exports.
    #[arg(short, long, action = ArgAction::Count, display_order = 101)]
    pub verbose: u8,

    /// Quiet, for scripts: only results and errors. Each result is printed
    /// bare on its own line (no `Result:` label: `15`, not `Result: 15`); no
    /// metrics, notes or timings (errors and their hints still go to stderr).
    #[arg(short, long, conflicts_with = "verbose", display_order = 102)]
    pub quiet: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people.
    Human,
    /// Pretty-printed JSON.
    Json,
    /// JSON on one line.
    JsonCompact,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a module's function or a WASI command under limits and grants.
    Run(Box<RunArgs>),
    /// Check that a file is a valid module without running it.
    Validate(ValidateArgs),
    /// List a module's imports and exports with their types.
    Inspect(InspectArgs),
    /// Compile a module into the cache so that later runs skip compilation.
    Compile(CompileArgs),
}

/// Options of `aegis run`.
///
/// The guest's arguments come only after `--`: an unknown flag, or a flag
/// given after a guest argument, is a usage error rather than guest input.
///
/// Each option flag sets the `aegis_core::Policy` option of the same name
/// (`--memory-limit` sets `memory_limit`): see [`RunArgs::flags_policy`].
#[derive(Debug, Args)]
#[command(after_help = format!("{EXAMPLES}\n\n{RUN_RULES}\n\n{}", crate::exit_code::TABLE))]
pub struct RunArgs {
    /// The module to run (.wasm binary or .wat text).
    #[arg(value_name = "MODULE")]
    pub module: PathBuf,

    /// Export to call; its ARGS are typed values (i32, i64, f32, f64) checked
    /// against its signature. Default: `_start`, then `main`, with ARGS as argv.
    #[arg(short = 'e', long = "function", value_name = "NAME")]
    pub function: Option<String>,

    /// Call an export written as a WAVE call, like `wasmtime run --invoke`:
    /// `--invoke 'greet("world")'`, `--invoke 'aegis:test/text#upper("a")'`
    /// (a component's export inside an interface is `interface#func`). Each
    /// result is printed in WAVE, one per line. A core module's export takes
    /// the numbers of -e: `--invoke 'add(7, 8)'`.
    #[arg(long, value_name = "CALL", conflicts_with = "function")]
    pub invoke: Option<String>,

    /// Call NAME through the bytes convention (a core module exporting
    /// `memory`, `aegis_alloc` and `NAME(ptr, len) -> i64`): all of stdin is
    /// the input, and the output is written to stdout as it is.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["function", "invoke"])]
    pub call_bytes: Option<String>,

    /// Read the options from a policy file (TOML, or JSON when the name ends
    /// in .json; the option names of the flags below, with `_`). A flag
    /// given on the command line overrides the file's value (a list or map
    /// flag replaces the file's list or map).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Memory limit in bytes; units allowed: 64MiB, 512KiB, 1GiB (binary), 100MB (decimal).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub memory_limit: Option<Size>,

    /// Fuel (instruction budget) per call, or `off`.
    #[arg(long, value_name = "UNITS|off", value_parser = parse_fuel)]
    pub fuel_limit: Option<Switch<u64>>,

    /// Same as `--fuel-limit off` (the wall-clock timeout still applies).
    #[arg(long, conflicts_with = "fuel_limit")]
    pub no_fuel_limit: bool,

    /// Wall-clock limit per call, in seconds (fractions allowed: 0.5), or `off`.
    #[arg(long, value_name = "SECONDS|off", value_parser = parse_timeout)]
    pub timeout: Option<Switch<f64>>,

    /// Maximum wasm stack in bytes (units allowed, at least 4KiB).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub stack_limit: Option<Size>,

    /// Maximum number of table elements across all tables (default 1000000).
    #[arg(long, value_name = "ELEMENTS")]
    pub table_elements_limit: Option<u64>,

    /// Maximum WASI handles (open files, directories, streams, sockets) held
    /// at once (default 1024).
    #[arg(long, value_name = "HANDLES")]
    pub handle_limit: Option<u64>,

    /// Host memory one call's result may take, in bytes (units allowed,
    /// default 64MiB): the --call-bytes output, or a component's result
    /// values (a string its bytes, 40 bytes per list element, record field
    /// or tuple item). Larger: result_too_large (exit code 4).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub result_limit: Option<Size>,

    /// Grant read-only access to a host directory: HOST is seen by the guest
    /// at the same path, HOST::GUEST at GUEST. A single `:` is part of the
    /// path (`/x/job:42` grants `/x/job:42`); more than one `::` or an empty
    /// side is refused. Repeatable.
    #[arg(long, value_name = "HOST[::GUEST]", value_parser = parse_read)]
    pub allow_read: Vec<DirGrant>,

    /// Grant read-write access to a host directory, in the same HOST[::GUEST]
    /// form as --allow-read. Repeatable.
    #[arg(long, value_name = "HOST[::GUEST]", value_parser = parse_write)]
    pub allow_write: Vec<DirGrant>,

    /// Let the guest write to the terminal's stdout and stderr (human format
    /// only: JSON formats own stdout, use --capture-output there). Cannot be
    /// combined with --capture-output.
    #[arg(long)]
    pub allow_logging: bool,

    /// Capture the guest's stdout and stderr (at most 1 MiB each, or
    /// `--capture-output=BYTES`): into the JSON document's `stdout` and
    /// `stderr`, or, in the human format, printed when the guest is done.
    #[arg(
        long,
        value_name = "BYTES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = parse_capture
    )]
    pub capture_output: Option<Capture>,

    /// Let the guest read the real wall and monotonic clocks (otherwise they read zero).
    #[arg(long)]
    pub allow_clock: bool,

    /// Allow outbound connections to HOST:PORT (also IP:PORT, NET/PREFIX[:PORT]).
    /// Only WASI 0.2 components have sockets. Repeatable.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_net)]
    pub allow_net: Vec<String>,

    /// Set an environment variable for the guest (none are inherited). Repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// Seed the guest's random source, for reproducible runs (default: OS randomness).
    #[arg(long, value_name = "N")]
    pub random_seed: Option<u64>,

    /// What a refused capability does: `errno` (default) gives the guest an
    /// error number and lists the refusal in the metrics; `error` also makes
    /// the run fail with `permission_denied` (exit code 5), naming the first
    /// refusal.
    #[arg(long, value_name = "errno|error", value_parser = parse_on_denied)]
    pub on_denied: Option<OnDenied>,

    /// Give the guest this process's stdin (`--stdin`, or `--stdin=inherit`;
    /// `--stdin=empty` is the default: the guest reads end of file at once).
    /// A guest waiting for input still ends at --timeout. Not with
    /// --call-bytes, which reads stdin itself.
    #[arg(
        long,
        value_name = "inherit|empty",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "inherit",
        value_parser = parse_stdin
    )]
    pub stdin: Option<StdinPolicy>,

    /// Give the guest this regular file as its stdin (a FIFO or device is
    /// refused: use --stdin to pass a stream).
    #[arg(long, value_name = "PATH", conflicts_with = "stdin")]
    pub stdin_file: Option<PathBuf>,

    /// Largest module accepted, in bytes (units allowed), checked before parsing.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_module_size: Option<Size>,

    /// Enable the exception-handling proposal (`throw`, `try_table`).
    #[arg(long)]
    pub wasm_exceptions: bool,

    /// Enable the garbage-collection proposal (`struct`, `array`, `i31`).
    #[arg(long)]
    pub wasm_gc: bool,

    /// Run the module only if its SHA-256 digest (64 hex digits, optionally
    /// `sha256:`-prefixed) is listed; any other is refused with
    /// permission_denied (exit code 5). Repeatable.
    #[arg(long, visible_alias = "allow-module", value_name = "DIGEST")]
    pub allowed_modules: Vec<String>,

    /// Print the call's metrics (fuel, time, memory, host calls, denied
    /// operations). Cannot be combined with -q.
    #[arg(long)]
    pub metrics: bool,

    /// Compiled code is cached on disk between runs.
    #[command(flatten)]
    pub cache: CacheArgs,

    /// Output format and verbosity.
    #[command(flatten)]
    pub output: OutputArgs,

    /// Arguments, only after `--`: typed values with -e (negative numbers
    /// included: `-- -1 2`), argv for a WASI command (argv[0] is the module's
    /// file name).
    #[arg(value_name = "ARGS", last = true)]
    pub args: Vec<String>,
}

/// How `aegis run` reads its command line, printed by `aegis run --help`.
const RUN_RULES: &str = "\
Command line:
  Guest arguments come only after `--`; every word before it is an aegis
  option. An unknown option, an option given twice, or options that contradict
  each other (--metrics with -q, one --env KEY or one guest directory given
  twice) are usage errors (exit 2): aegis never runs with a setting it did not
  understand. --allow-logging with --capture-output, and --allow-logging with
  -f json (stdout holds the one JSON document), are invalid_argument (exit 2).
  Directory grants are HOST or HOST::GUEST; `--allow-read /x/job:42` grants
  the directory `/x/job:42` (a single `:` is part of the path).
  --invoke takes its arguments inside the call (--invoke 'add(7, 8)') and
  --call-bytes reads its input from stdin: nothing goes after `--` with them,
  and --call-bytes cannot also pass stdin to the guest (--stdin).
  The guest's stdin is empty unless --stdin (this process's stdin) or
  --stdin-file PATH gives it one; a guest waiting for input ends at --timeout.
  With --policy FILE, the file gives the options and the flags override them.";

impl RunArgs {
    /// Refuses choices that contradict each other, instead of letting one
    /// silently override the other. (Rules about the options themselves, such
    /// as logging with capture, are the core's: see `aegis_core::Policy`.)
    pub fn check(&self) -> Result<(), String> {
        if self.metrics && self.output.quiet {
            return Err("--metrics asks for metrics and -q for none; choose one".into());
        }
        if let (Some(call), false) = (&self.invoke, self.args.is_empty()) {
            return Err(format!(
                "--invoke takes its arguments inside the call (--invoke 'NAME(ARG, ...)'), \
                 not after `--`: {call:?} was given with {:?}",
                self.args.join(" ")
            ));
        }
        if let (Some(name), Some(StdinPolicy::Inherit)) = (&self.call_bytes, &self.stdin) {
            return Err(format!(
                "--call-bytes {name} reads its input from stdin, so the guest cannot also \
                 be given stdin with --stdin; use --stdin-file PATH for the guest's WASI stdin"
            ));
        }
        if let (Some(name), false) = (&self.call_bytes, self.args.is_empty()) {
            return Err(format!(
                "--call-bytes {name} reads its input from stdin; nothing goes after `--`"
            ));
        }
        for (i, (key, value)) in self.env.iter().enumerate() {
            if let Some((_, first)) = self.env[..i].iter().find(|(k, _)| k == key) {
                return Err(format!(
                    "--env {key} is given twice (`{key}={first}` and `{key}={value}`); \
                     give each variable once"
                ));
            }
        }
        Ok(())
    }

    /// The policy the flags give: each flag sets the option of its name, and
    /// a flag not given leaves its option unset (so that the policy file's
    /// value, else Aegis's default, applies). `file` is the `--policy` file's
    /// policy, whose `args` stand when no guest arguments are given.
    ///
    /// Every field is listed, so that a new option of the core is a compile
    /// error here until the CLI decides how to spell it.
    pub fn flags_policy(&self, file: &Policy) -> Policy {
        let same_path = |g: &DirGrant| g.host.as_os_str() == OsStr::new(&g.guest);
        let hosts = |grants: &[DirGrant]| -> Vec<PathBuf> {
            let same = grants.iter().filter(|g| same_path(g));
            same.map(|g| g.host.clone()).collect()
        };
        let map_dirs = (self.allow_read.iter().map(|g| (g, Access::Read)))
            .chain(self.allow_write.iter().map(|g| (g, Access::Write)))
            .filter(|(g, _)| !same_path(g))
            .map(|(g, access)| DirMap {
                host: g.host.clone(),
                guest: g.guest.clone(),
                access,
            })
            .collect();
        Policy {
            memory_limit: self.memory_limit,
            fuel_limit: match self.no_fuel_limit {
                true => Some(Switch::Off(Off::Off)),
                false => self.fuel_limit,
            },
            timeout: self.timeout,
            stack_limit: self.stack_limit,
            table_elements_limit: self.table_elements_limit,
            handle_limit: self.handle_limit,
            result_limit: self.result_limit,
            allow_read: hosts(&self.allow_read),
            allow_write: hosts(&self.allow_write),
            map_dirs,
            allow_logging: self.allow_logging.then_some(true),
            capture_output: self.capture_output,
            allow_clock: self.allow_clock.then_some(true),
            allow_net: self.allow_net.clone(),
            env: self.env.iter().cloned().collect(),
            args: self.guest_argv(file),
            random_seed: self.random_seed,
            on_denied: self.on_denied,
            stdin: match &self.stdin_file {
                Some(path) => Some(StdinPolicy::File(path.clone())),
                None => self.stdin.clone(),
            },
            // One run, one sandbox: a pool would only reserve address space.
            instance_pool: None,
            // `--cache-dir` / `--no-cache`: see `CacheArgs::dir`.
            compile_cache: None,
            max_module_size: self.max_module_size,
            // Eight structural limits: set them in a policy file.
            module_limits: None,
            wasm_exceptions: self.wasm_exceptions.then_some(true),
            wasm_gc: self.wasm_gc.then_some(true),
            allowed_modules: self.allowed_modules.clone(),
        }
    }

    /// argv of a WASI command: the module's file name, then the guest
    /// arguments (not with `-e`, whose arguments are typed values). `None`
    /// keeps the policy file's `args` when the command line gives none.
    fn guest_argv(&self, file: &Policy) -> Option<Vec<String>> {
        // A called export gets values (typed, WAVE or bytes), not argv.
        let typed = self.function.is_some() || self.invoke.is_some() || self.call_bytes.is_some();
        if file.args.is_some() && (typed || self.args.is_empty()) {
            return None;
        }
        let mut argv = vec![argv0(&self.module)];
        if !typed {
            argv.extend(self.args.iter().cloned());
        }
        Some(argv)
    }
}

/// argv[0] of a WASI command: the module's file name.
fn argv0(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

/// Exits with a clap-formatted usage error of `aegis run` (exit code 2).
pub fn run_usage_error(message: String) -> ! {
    let mut cli = Cli::command();
    cli.build();
    let run = cli
        .find_subcommand_mut("run")
        .expect("the run subcommand exists");
    run.error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

/// Options of `aegis compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The module to compile (.wasm binary or .wat text).
    #[arg(value_name = "MODULE")]
    pub module: PathBuf,

    /// The cache to fill.
    #[command(flatten)]
    pub cache: CacheArgs,

    /// Output format and verbosity.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of `aegis validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The module to check (.wasm binary or .wat text).
    #[arg(value_name = "MODULE")]
    pub module: PathBuf,

    /// Check the module as a runtime with this policy would load it: its
    /// wasm features, module size and structure limits, and pinned
    /// `allowed_modules` (a module not listed: permission_denied, exit 5).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Output format and verbosity.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of `aegis inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The module to inspect (.wasm binary or .wat text).
    #[arg(value_name = "MODULE")]
    pub module: PathBuf,

    /// List the exports.
    #[arg(long)]
    pub exports: bool,

    /// List the imports.
    #[arg(long)]
    pub imports: bool,

    /// List imports and exports (the default when neither is asked for).
    #[arg(long)]
    pub all: bool,

    /// Also tell, for each import, what this policy makes of it before
    /// anything runs: `granted`, `denied: <capability>` or `unsatisfied`
    /// (nothing in Aegis provides it). The module is checked as with
    /// `aegis validate --policy`.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Output format and verbosity.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl InspectArgs {
    /// Whether to list imports and exports: `(imports, exports)`.
    pub fn sections(&self) -> (bool, bool) {
        if self.all || (!self.imports && !self.exports) {
            (true, true)
        } else {
            (self.imports, self.exports)
        }
    }
}

/// An error of aegis-core as the text of a clap usage error (without the
/// `invalid argument: ` prefix clap's own message makes redundant).
fn reason(err: Error) -> String {
    match err {
        Error::InvalidArgument { message } => message,
        other => other.to_string(),
    }
}

/// Parses a byte size with aegis-core's grammar (`65536`, `64MiB`, `100MB`).
fn parse_size(text: &str) -> Result<Size, String> {
    aegis_core::units::parse_size(text)
        .map(Size)
        .map_err(reason)
}

/// `off`, or a number of fuel units.
fn parse_fuel(text: &str) -> Result<Switch<u64>, String> {
    match text {
        "off" => Ok(Switch::Off(Off::Off)),
        _ => text
            .parse()
            .map(Switch::On)
            .map_err(|_| format!("`{text}` is not a number of fuel units or `off`")),
    }
}

/// `off`, or seconds with aegis-core's grammar (`2`, `0.5`).
fn parse_timeout(text: &str) -> Result<Switch<f64>, String> {
    match text {
        "off" => Ok(Switch::Off(Off::Off)),
        _ => aegis_core::units::parse_seconds("timeout", text)
            .map(|d| Switch::On(d.as_secs_f64()))
            .map_err(reason),
    }
}

/// `true` (the default limit), `false`, or a byte limit per stream.
fn parse_capture(text: &str) -> Result<Capture, String> {
    match text {
        "true" => Ok(Capture::Enabled(true)),
        "false" => Ok(Capture::Enabled(false)),
        _ => parse_size(text).map(Capture::Limit),
    }
}

/// `inherit` or `empty`: the `stdin` option's words (a file is `--stdin-file`).
fn parse_stdin(text: &str) -> Result<StdinPolicy, String> {
    match text {
        "inherit" => Ok(StdinPolicy::Inherit),
        "empty" => Ok(StdinPolicy::Empty),
        _ => Err(format!(
            "`{text}` is not `inherit` or `empty` (give a file with --stdin-file PATH)"
        )),
    }
}

/// `errno` or `error`, as aegis-core spells them.
fn parse_on_denied(text: &str) -> Result<OnDenied, String> {
    serde_json::from_value(serde_json::Value::from(text))
        .map_err(|_| format!("`{text}` is not `errno` or `error`"))
}

/// Parses a read-only `HOST[::GUEST]` grant with aegis-core's parser.
fn parse_read(text: &str) -> Result<DirGrant, String> {
    DirGrant::parse(text, DirAccess::ReadOnly).map_err(|e| e.to_string())
}

/// Parses a read-write `HOST[::GUEST]` grant with aegis-core's parser.
fn parse_write(text: &str) -> Result<DirGrant, String> {
    DirGrant::parse(text, DirAccess::ReadWrite).map_err(|e| e.to_string())
}

/// Checks a network rule with aegis-core's parser.
fn parse_net(text: &str) -> Result<String, String> {
    text.parse::<NetRule>()
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// Parses `KEY=VALUE` (the value may be empty or contain `=`).
fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dir_grants_use_the_core_syntax() {
        let g = parse_read("/x/job:42").unwrap();
        assert_eq!(
            (g.host.to_str(), g.guest.as_str()),
            (Some("/x/job:42"), "/x/job:42")
        );
        let g = parse_write("/tmp/data::/data").unwrap();
        assert_eq!(
            (g.host.to_str(), g.guest.as_str()),
            (Some("/tmp/data"), "/data")
        );
        assert_eq!(g.access, DirAccess::ReadWrite);
        for bad in ["", "::/data", "data::", "/a::b::c", "/a:::b"] {
            let err = parse_read(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    fn run_args(argv: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("aegis").chain(argv.iter().copied()))?;
        match cli.command {
            Command::Run(args) => Ok(*args),
            other => panic!("not run: {other:?}"),
        }
    }

    #[test]
    fn guest_arguments_come_only_after_double_dash() {
        let a = run_args(&["run", "m.wat", "-e", "add", "--", "-1", "2"]).unwrap();
        assert_eq!(a.args, ["-1", "2"]);
        let a = run_args(&["run", "m.wat", "--", "x", "--timeout", "1"]).unwrap();
        assert_eq!(a.args, ["x", "--timeout", "1"]);
        assert_eq!(a.timeout, None);
        for argv in [
            &["run", "m.wat", "--memory-limt", "1MiB"][..],
            &["run", "m.wat", "x", "--timeout", "1"],
            &["run", "m.wat", "x"],
            &["run", "m.wat", "-e", "add", "-1", "2"],
            &["run", "m.wat", "--timeout", "1", "--timeout", "2"],
            &["run", "m.wat", "--allow-clock", "--allow-clock"],
            &["run", "m.wat", "-f", "json", "-f", "human"],
            &["-f", "json", "run", "m.wat", "-f", "human"],
            &["-f", "json", "run", "m.wat"],
        ] {
            let err = run_args(argv).expect_err(&argv.join(" "));
            assert_eq!(err.exit_code(), 2, "{argv:?}: {err}");
        }
    }

    #[test]
    fn contradicting_choices_are_refused() {
        let check = |argv: &[&str]| run_args(argv).unwrap().check();
        assert!(check(&["run", "m.wat", "--allow-logging"]).is_ok());
        assert!(check(&["run", "m.wat", "-f", "json", "--capture-output"]).is_ok());
        assert!(check(&["run", "m.wat", "--env", "A=1", "--env", "B=1"]).is_ok());
        for argv in [
            &["run", "m.wat", "--metrics", "-q"][..],
            &["run", "m.wat", "--invoke", "add", "--", "1", "2"],
            &["run", "m.wat", "--call-bytes", "upper", "--", "x"],
            &["run", "m.wat", "--env", "A=1", "--env", "A=2"],
            &["run", "m.wat", "--env", "A=1", "--env", "A=1"],
        ] {
            assert!(check(argv).is_err(), "{argv:?}");
        }
        // Logging with capture is the core's rule, not a clap conflict.
        assert!(run_args(&["run", "m.wat", "--allow-logging", "--capture-output"]).is_ok());
    }

    fn policy_of(argv: &[&str]) -> Policy {
        run_args(argv).unwrap().flags_policy(&Policy::default())
    }

    #[test]
    fn each_flag_sets_the_option_of_its_name() {
        let p = policy_of(&[
            "run",
            "m.wat",
            "--memory-limit",
            "16MiB",
            "--fuel-limit",
            "off",
            "--timeout",
            "0.5",
            "--stack-limit",
            "256KiB",
            "--table-elements-limit",
            "10",
            "--handle-limit",
            "20",
            "--result-limit",
            "1KiB",
            "--allow-read",
            "/r",
            "--allow-read",
            "/r2::/data",
            "--allow-write",
            "/w",
            "--allow-write",
            "/w2::/out",
            "--capture-output=4KiB",
            "--allow-clock",
            "--allow-net",
            "127.0.0.1:80",
            "--env",
            "A=1",
            "--random-seed",
            "7",
            "--on-denied",
            "error",
            "--max-module-size",
            "1MiB",
            "--wasm-exceptions",
            "--wasm-gc",
            "--allow-module",
            "sha256:ab",
            "--",
            "x",
        ]);
        let expected = Policy::from_json(
            r#"{
                "memory_limit": 16777216, "fuel_limit": "off", "timeout": 0.5,
                "stack_limit": 262144, "table_elements_limit": 10, "handle_limit": 20,
                "result_limit": 1024,
                "allow_read": ["/r"], "allow_write": ["/w"],
                "map_dirs": [{"host": "/r2", "guest": "/data", "access": "read"},
                             {"host": "/w2", "guest": "/out", "access": "write"}],
                "capture_output": 4096, "allow_clock": true,
                "allow_net": ["127.0.0.1:80"], "env": {"A": "1"}, "args": ["m.wat", "x"],
                "random_seed": 7, "on_denied": "error", "max_module_size": 1048576,
                "wasm_exceptions": true, "wasm_gc": true, "allowed_modules": ["sha256:ab"]
            }"#,
        )
        .unwrap();
        assert_eq!(p, expected);
        // A flag not given leaves its option unset; `--no-fuel-limit` is `off`.
        let p = policy_of(&["run", "m.wat", "-e", "f", "--no-fuel-limit", "--", "1"]);
        assert_eq!(
            p,
            Policy::from_json(r#"{"fuel_limit": "off", "args": ["m.wat"]}"#).unwrap()
        );
        assert_eq!(
            policy_of(&["run", "m.wat", "--capture-output"]).capture_output,
            Some(Capture::Enabled(true))
        );
    }

    #[test]
    fn flags_override_the_policy_file() {
        let file = Policy::from_toml(
            "timeout = 9\nallow_clock = true\nargs = [\"tool\", \"--flag\"]\nenv = { A = \"1\" }",
        )
        .unwrap();
        let merged = |argv: &[&str]| {
            let flags = run_args(argv).unwrap().flags_policy(&file);
            file.overridden_by(&flags).unwrap()
        };
        let p = merged(&["run", "m.wat", "--timeout", "1", "--env", "B=2"]);
        assert_eq!(p.timeout, Some(Switch::On(1.0)));
        assert_eq!(p.allow_clock, Some(true));
        assert_eq!(p.env.keys().collect::<Vec<_>>(), ["B"]);
        // The file's argv stands unless guest arguments are given.
        assert_eq!(p.args.unwrap(), ["tool", "--flag"]);
        let p = merged(&["run", "m.wat", "--", "x"]);
        assert_eq!(p.args.unwrap(), ["m.wat", "x"]);
    }

    #[test]
    fn values_use_the_core_grammar() {
        assert_eq!(parse_size("64MiB"), Ok(Size(64 << 20)));
        assert!(
            parse_size("64XB")
                .unwrap_err()
                .contains("`64XB` is not a size")
        );
        assert_eq!(parse_timeout("off"), Ok(Switch::Off(Off::Off)));
        assert_eq!(parse_timeout("0.25"), Ok(Switch::On(0.25)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_fuel("1e9").is_err());
        assert_eq!(parse_on_denied("error"), Ok(OnDenied::Error));
        assert!(parse_on_denied("warn").is_err());
        assert_eq!(parse_capture("false"), Ok(Capture::Enabled(false)));
    }

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_env("A="), Ok(("A".into(), String::new())));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
    }
}
