//! Command-line definitions (clap derive): `aegis run`, `validate`, `inspect`.

use std::path::PathBuf;
use std::time::Duration;

use aegis_core::{DirAccess, DirGrant, NetRule};
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::cache::CacheArgs;
use crate::size::{parse_seconds, parse_size};

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
  aegis run hello.wasm -f json --capture-output -- first
  aegis compile plugin.wasm          # later runs skip compilation
  aegis validate plugin.wasm
  aegis inspect plugin.wasm --exports";

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
  -q, --quiet            only results and errors";

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

    /// Quiet: print only results and errors (no metrics, no notes).
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

    /// Memory limit in bytes; units allowed: 64MiB, 512KiB, 1GiB (binary), 100MB (decimal).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub memory_limit: Option<u64>,

    /// Fuel (instruction budget) per call.
    #[arg(long, value_name = "UNITS")]
    pub fuel_limit: Option<u64>,

    /// Turn fuel metering off (the wall-clock timeout still applies).
    #[arg(long, conflicts_with = "fuel_limit")]
    pub no_fuel_limit: bool,

    /// Wall-clock limit per call, in seconds (fractions allowed: 0.5).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,

    /// Maximum wasm stack in bytes (units allowed, at least 4KiB).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub stack_limit: Option<u64>,

    /// Maximum number of table elements across all tables (default 1000000).
    #[arg(long, value_name = "ELEMENTS")]
    pub table_elements_limit: Option<u64>,

    /// Maximum WASI handles (open files, directories, streams, sockets) held
    /// at once (default 1024).
    #[arg(long, value_name = "HANDLES")]
    pub handle_limit: Option<usize>,

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
    /// only: JSON formats own stdout, use --capture-output there).
    #[arg(long, conflicts_with = "capture_output")]
    pub allow_logging: bool,

    /// Capture the guest's stdout and stderr (at most 1 MiB each) into the
    /// JSON document's `stdout` and `stderr` (JSON formats only).
    #[arg(long)]
    pub capture_output: bool,

    /// Let the guest read the real wall and monotonic clocks (otherwise they read zero).
    #[arg(long)]
    pub allow_clock: bool,

    /// Allow outbound connections to HOST:PORT (also IP:PORT, NET/PREFIX[:PORT]).
    /// Only WASI 0.2 components have sockets. Repeatable.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_net)]
    pub allow_net: Vec<NetRule>,

    /// Set an environment variable for the guest (none are inherited). Repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

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
  each other (--allow-logging with -f json, --capture-output with -f human,
  --metrics with -q, one --env KEY or one guest directory given twice) are
  usage errors (exit 2): aegis never runs with a setting it did not understand.
  Directory grants are HOST or HOST::GUEST; `--allow-read /x/job:42` grants
  the directory `/x/job:42` (a single `:` is part of the path).";

impl RunArgs {
    /// Refuses choices that contradict each other or the output format,
    /// instead of letting one silently override the other.
    pub fn check(&self) -> Result<(), String> {
        let json = self.output.format != Format::Human;
        let quiet = self.output.quiet;
        if self.allow_logging && json {
            return Err(
                "--allow-logging writes the guest's output to stdout, which \
                 -f json reserves for one JSON document; use --capture-output to put \
                 the guest's output into the document"
                    .into(),
            );
        }
        if self.capture_output && !json {
            return Err("--capture-output puts the guest's output into the JSON \
                 document of -f json or -f json-compact; use --allow-logging to see \
                 it on the terminal"
                .into());
        }
        if self.metrics && quiet {
            return Err("--metrics asks for metrics and -q for none; choose one".into());
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

/// Parses a read-only `HOST[::GUEST]` grant with aegis-core's parser.
fn parse_read(text: &str) -> Result<DirGrant, String> {
    DirGrant::parse(text, DirAccess::ReadOnly).map_err(|e| e.to_string())
}

/// Parses a read-write `HOST[::GUEST]` grant with aegis-core's parser.
fn parse_write(text: &str) -> Result<DirGrant, String> {
    DirGrant::parse(text, DirAccess::ReadWrite).map_err(|e| e.to_string())
}

/// Parses a network rule with aegis-core's parser.
fn parse_net(text: &str) -> Result<NetRule, String> {
    text.parse::<NetRule>().map_err(|e| e.to_string())
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
            &["run", "m.wat", "-f", "json", "--allow-logging"][..],
            &["run", "m.wat", "--capture-output"],
            &["run", "m.wat", "--metrics", "-q"],
            &["run", "m.wat", "--env", "A=1", "--env", "A=2"],
            &["run", "m.wat", "--env", "A=1", "--env", "A=1"],
        ] {
            assert!(check(argv).is_err(), "{argv:?}");
        }
        assert!(run_args(&["run", "m.wat", "--allow-logging", "--capture-output"]).is_err());
    }

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_env("A="), Ok(("A".into(), String::new())));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
    }
}
