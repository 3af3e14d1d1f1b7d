//! The `aegis` command: run, validate and inspect WebAssembly in the Aegis sandbox.
//!
//! A thin layer over `aegis-core`: the flags (and a `--policy` file) make an
//! `aegis_core::Policy`, errors and metrics are reported in the core's own
//! words (`Error::to_json`, `Metrics::to_json`), and errors map onto exit
//! codes by their stable code (see `exit_code`).

mod args;
mod cache;
mod compile;
mod exit_code;
mod inspect;
mod output;
mod run;
mod signals;
mod validate;

use std::process::ExitCode;

use crate::args::{Cli, Command};
use crate::output::Output;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let options = cli.output();
    let out = Output {
        format: options.format,
        quiet: options.quiet,
        verbose: options.verbose,
    };
    let code = match &cli.command {
        Command::Run(args) => {
            if let Err(message) = args.check() {
                args::run_usage_error(message);
            }
            run::run(args, out)
        }
        Command::Validate(args) => validate::validate(args, out),
        Command::Inspect(args) => inspect::inspect(args, out),
        Command::Compile(args) => compile::compile(args, out),
    };
    ExitCode::from(code)
}
