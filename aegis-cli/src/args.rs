//! Command-line definitions (clap derive): `aegis run`, `validate`, `inspect`.

use std::path::PathBuf;
use std::time::Duration;

use aegis_core::NetRule;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::cache::CacheArgs;
use crate::size::{parse_seconds, parse_size};

const EXAMPLES: &str = "\
Examples:
  aegis run add.wat -e add -- 7 8
  aegis run add.wat -e add --fuel-limit 1000000 --metrics -- 7 8
  aegis run hello.wasm --allow-logging -- first second
  aegis run tool.wasm --allow-read ./data:/data --allow-write ./out:/out \\
      --env MODE=fast --allow-clock --allow-logging
  aegis run loop.wat -e spin --fuel-limit 10000 --timeout 0.5 --memory-limit 16MiB
  aegis run client.wasm --allow-net 127.0.0.1:8080 --allow-net example.com:443
  aegis run add.wat -e add -f json -- 7 8
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
        "{EXAMPLES}\n\nEvery option of `run`: aegis help run\n\n{}",
        crate::exit_code::TABLE
    ),
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Output format: `human`, or one JSON document on stdout (`json` pretty,
    /// `json-compact` on one line).
    #[arg(
        short = 'f',
        long,
        value_enum,
        default_value_t = Format::Human,
        global = true,
        display_order = 100
    )]
    pub format: Format,

    /// More diagnostics on stderr: -v limits and timings, -vv grants,
    /// -vvv the module's imports and exports.
    #[arg(short, long, action = ArgAction::Count, global = true, display_order = 101)]
    pub verbose: u8,

    /// Quiet: print only results and errors (no metrics, no notes).
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        display_order = 102
    )]
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
#[derive(Debug, Args)]
#[command(
    allow_negative_numbers = true,
    after_help = format!("{EXAMPLES}\n\n{}", crate::exit_code::TABLE),
)]
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

    /// Grant read-only access to a host directory, seen by the guest at GUEST
    /// (default: the same path). Repeatable.
    #[arg(long, value_name = "PATH[:GUEST]", value_parser = parse_dir)]
    pub allow_read: Vec<DirSpec>,

    /// Grant read-write access to a host directory, seen by the guest at GUEST
    /// (default: the same path). Repeatable.
    #[arg(long, value_name = "PATH[:GUEST]", value_parser = parse_dir)]
    pub allow_write: Vec<DirSpec>,

    /// Let the guest write to stdout and stderr (in JSON formats its output is
    /// captured into the document instead).
    #[arg(long)]
    pub allow_logging: bool,

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

    /// Print the call's metrics (fuel, time, memory, host calls, denied operations).
    #[arg(long)]
    pub metrics: bool,

    /// Compiled code is cached on disk between runs.
    #[command(flatten)]
    pub cache: CacheArgs,

    /// Arguments: typed values with -e, argv for a WASI command
    /// (argv[0] is the module's file name).
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
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
}

/// Options of `aegis validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The module to check (.wasm binary or .wat text).
    #[arg(value_name = "MODULE")]
    pub module: PathBuf,
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

/// A directory grant as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSpec {
    /// Directory on the host.
    pub host: PathBuf,
    /// Path the guest sees, if different from `host`.
    pub guest: Option<String>,
}

/// Parses `PATH[:GUEST]`; the last `:` separates the guest path.
fn parse_dir(text: &str) -> Result<DirSpec, String> {
    let (host, guest) = match text.rsplit_once(':') {
        Some((host, guest)) => (host, Some(guest.to_string())),
        None => (text, None),
    };
    if host.is_empty() || guest.as_deref() == Some("") {
        return Err(format!("`{text}` is not PATH or PATH:GUEST"));
    }
    Ok(DirSpec {
        host: PathBuf::from(host),
        guest,
    })
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
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dir_specs() {
        assert_eq!(
            parse_dir("/tmp/data:/data"),
            Ok(DirSpec {
                host: "/tmp/data".into(),
                guest: Some("/data".into())
            })
        );
        assert_eq!(parse_dir("data").unwrap().guest, None);
        assert!(parse_dir(":/data").is_err());
        assert!(parse_dir("data:").is_err());
    }

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_env("A="), Ok(("A".into(), String::new())));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
    }
}
