//! `aegis --help` lists every command, option, example and exit code.

mod common;

use common::*;

const RUN_OPTIONS: [&str; 31] = [
    "--function",
    "--invoke",
    "--call-bytes",
    "--result-limit",
    "--policy",
    "--memory-limit",
    "--fuel-limit",
    "--timeout",
    "--stack-limit",
    "--allow-read",
    "--allow-write",
    "--allow-logging",
    "--capture-output",
    "--allow-clock",
    "--allow-net",
    "--env",
    "--random-seed",
    "--on-denied",
    "--stdin",
    "--stdin-file",
    "--max-module-size",
    "--wasm-exceptions",
    "--wasm-gc",
    "--allowed-modules",
    "--metrics",
    "--cache-dir",
    "--format",
    "--verbose",
    "--quiet",
    "[ARGS]...",
    "json-compact",
];

/// The options of `aegis_core::policy::OPTIONS` that have no `aegis run`
/// flag of their own name, and why.
const NOT_FLAGS: [(&str, &str); 4] = [
    (
        "map_dirs",
        "spelled `--allow-read HOST::GUEST` / `--allow-write HOST::GUEST` (access read / write)",
    ),
    (
        "args",
        "the guest's arguments come after `--` (argv[0] is the module's file name)",
    ),
    (
        "instance_pool",
        "one run is one sandbox: a pool would only reserve address space",
    ),
    (
        "module_limits",
        "eight structural limits in one table: set them in a --policy file",
    ),
];

/// One vocabulary: every option of the core that applies to a one-shot run
/// is a flag of the same name (`memory_limit` → `--memory-limit`).
#[test]
fn every_policy_option_has_a_flag_of_its_name() {
    let flags = run_help_flags();
    let options = aegis_core::policy::OPTIONS;
    for (name, why) in NOT_FLAGS {
        let option = options.iter().find(|o| o.name == name);
        let option = option.unwrap_or_else(|| panic!("stale exception `{name}`: {why}"));
        assert!(
            !flags.contains(&option.flag()),
            "`{name}` has its flag now: drop the exception ({why})"
        );
    }
    for option in options {
        if NOT_FLAGS.iter().any(|(name, _)| *name == option.name) {
            continue;
        }
        assert!(
            flags.contains(&option.flag()),
            "`{}` ({}) has no flag {} in `aegis run --help`: add it, or list it in NOT_FLAGS with a reason",
            option.name,
            option.doc,
            option.flag()
        );
    }
}

#[test]
fn top_level_help_lists_commands_examples_and_exit_codes() {
    let out = expect_code(&["--help"], 0);
    let help = stdout(&out);
    for needle in [
        "run",
        "validate",
        "inspect",
        "--format",
        "--verbose",
        "--quiet",
        "Examples:",
        "aegis run add.wat -e add -- 7 8",
        "aegis validate plugin.wasm",
        "aegis inspect plugin.wasm --exports",
        "Exit codes:",
        "limit exceeded",
        "permission denied",
        "proc_exit(N)",
    ] {
        assert!(
            help.contains(needle),
            "`{needle}` missing from --help:\n{help}"
        );
    }
    // Every run option appears in some example or in the options list.
    for option in [
        "--memory-limit",
        "--fuel-limit",
        "--timeout",
        "--allow-read",
        "--allow-write",
        "--allow-logging",
        "--allow-clock",
        "--allow-net",
        "--env",
        "--metrics",
        "-f json",
    ] {
        assert!(
            help.contains(option),
            "`{option}` missing from --help:\n{help}"
        );
    }
}

#[test]
fn run_help_lists_every_option() {
    let help = stdout(&expect_code(&["run", "--help"], 0));
    for option in RUN_OPTIONS {
        assert!(
            help.contains(option),
            "`{option}` missing from run --help:\n{help}"
        );
    }
    assert!(help.contains("Exit codes:"), "{help}");
}

#[test]
fn subcommand_help_and_version() {
    let help = stdout(&expect_code(&["inspect", "--help"], 0));
    for option in ["--exports", "--imports", "--all"] {
        assert!(help.contains(option), "{help}");
    }
    let help = stdout(&expect_code(&["help", "validate"], 0));
    assert!(help.contains("MODULE"), "{help}");
    let version = stdout(&expect_code(&["--version"], 0));
    assert_eq!(version, format!("aegis {}\n", env!("CARGO_PKG_VERSION")));
    // No subcommand: usage on stderr, exit 2.
    let out = expect_code(&[], 2);
    assert!(stderr(&out).contains("Usage"), "{}", stderr(&out));
}
