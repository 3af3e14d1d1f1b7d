//! `aegis --help` lists every command, option, example and exit code.

mod common;

use common::*;

const RUN_OPTIONS: [&str; 17] = [
    "--function",
    "--memory-limit",
    "--fuel-limit",
    "--timeout",
    "--stack-limit",
    "--allow-read",
    "--allow-write",
    "--allow-logging",
    "--allow-clock",
    "--allow-net",
    "--env",
    "--metrics",
    "--format",
    "--verbose",
    "--quiet",
    "[ARGS]...",
    "json-compact",
];

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
