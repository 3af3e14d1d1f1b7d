//! The command line fails closed: a mapping, flag or combination `aegis` does
//! not understand is a usage error (exit 2), never a run with other settings.

mod common;

use common::*;

/// A host directory whose name holds a single `:` is granted as itself, not
/// split into another host directory and a guest path. A decoy directory
/// named like the text before the colon is what the old `PATH:GUEST` syntax
/// granted instead.
#[test]
fn a_host_path_with_a_colon_is_granted_as_is() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("job:42");
    let decoy = tmp.path().join("job");
    std::fs::create_dir(&real).unwrap();
    std::fs::create_dir(&decoy).unwrap();
    std::fs::write(real.join("input.txt"), "real data\n").unwrap();
    std::fs::write(decoy.join("input.txt"), "decoy data\n").unwrap();
    let real_text = real.to_str().unwrap();

    // HOST alone: the guest sees it at the same path.
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "-vv",
            "--allow-read",
            real_text,
            "--",
            "1",
            "2",
        ],
        0,
    );
    let grant = format!("read {real_text} as {real_text}");
    assert!(stderr(&out).contains(&grant), "{}", stderr(&out));

    // HOST::GUEST: the guest reads the colon directory at /data.
    let guest = wasi_tool();
    let mapping = format!("{real_text}::/data");
    let out = expect_code(
        &[
            "run",
            guest.to_str().unwrap(),
            "--allow-logging",
            "--allow-read",
            &mapping,
        ],
        0,
    );
    let text = stdout(&out);
    assert!(text.contains("read: real data\n"), "{text}");
    assert!(!text.contains("decoy"), "{text}");
}

/// Mappings that could mean two things, or have an empty side, are refused
/// with a message naming them, by every grant flag.
#[test]
fn ambiguous_directory_mappings_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    for flag in ["--allow-read", "--allow-write"] {
        for spec in [
            format!("{dir}::/a::/b"),
            format!("{dir}:::/data"),
            format!("{dir}::"),
            "::/data".to_string(),
            String::new(),
        ] {
            let out = expect_code(&["run", "add.wat", "-e", "add", flag, &spec], 2);
            let err = stderr(&out);
            assert!(err.contains(&format!("`{spec}`")), "{flag} {spec}: {err}");
            assert!(err.contains("HOST::GUEST"), "{flag} {spec}: {err}");
            assert_eq!(stdout(&out), "");
        }
    }
}

/// Two grants under one guest path would let the guest pick which directory
/// it gets: refused by aegis-core before anything runs.
#[test]
fn one_guest_path_granted_twice_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ra = format!("{}::/data", a.path().display());
    let wb = format!("{}::/data/", b.path().display());
    let out = expect_code(
        &[
            "run",
            "args.wat",
            "--allow-logging",
            "--allow-read",
            &ra,
            "--allow-write",
            &wb,
        ],
        2,
    );
    let err = stderr(&out);
    assert!(err.contains("error[invalid_argument]"), "{err}");
    assert!(err.contains("granted twice"), "{err}");
    assert_eq!(stdout(&out), "", "the guest must not run");
}

/// A misspelt flag is not handed to the guest as an argument.
#[test]
fn an_unknown_flag_is_a_usage_error() {
    for args in [
        &[
            "run",
            "args.wat",
            "--allow-logging",
            "--memory-limt",
            "1MiB",
        ][..],
        &[
            "run",
            "args.wat",
            "--memory-limt",
            "1MiB",
            "--allow-logging",
        ],
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--fuel-limt",
            "10",
            "--",
            "1",
            "2",
        ],
    ] {
        let out = expect_code(args, 2);
        let err = stderr(&out);
        assert!(err.contains("unexpected argument"), "{args:?}: {err}");
        assert_eq!(stdout(&out), "", "{args:?}: the guest must not run");
    }
}

/// Guest arguments come only after `--`: an aegis flag after a guest argument
/// is neither applied silently nor passed to the guest silently.
#[test]
fn guest_arguments_need_double_dash() {
    let out = expect_code(
        &["run", "args.wat", "--allow-logging", "x", "--timeout", "1"],
        2,
    );
    let err = stderr(&out);
    assert!(err.contains("'x'"), "{err}");
    assert!(
        err.contains("tip: aegis options go before `--`"),
        "the tip shows `--`: {err}"
    );
    assert_eq!(stdout(&out), "");
    // After `--`, everything is the guest's, flags included.
    let out = expect_code(
        &[
            "run",
            "args.wat",
            "--allow-logging",
            "--",
            "x",
            "--timeout",
            "1",
        ],
        0,
    );
    assert_eq!(stdout(&out), "args.wat x --timeout 1\n\n");
    // Typed arguments: negative numbers after `--`; before it they are refused.
    let out = expect_code(&["run", "add.wat", "-e", "add", "--", "-1", "-2"], 0);
    assert_eq!(stdout(&out), "Result: -3\n");
    expect_code(&["run", "add.wat", "-e", "add", "-1", "-2"], 2);
    expect_code(&["run", "add.wat", "-e", "add", "1", "2"], 2);
}

/// A flag given twice is refused, whatever the values: no "last one wins".
#[test]
fn a_repeated_single_value_flag_is_a_usage_error() {
    for args in [
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--timeout",
            "1",
            "--timeout",
            "30",
        ][..],
        &["run", "add.wat", "-e", "add", "-e", "sub"],
        &[
            "run",
            "add.wat",
            "--memory-limit",
            "1MiB",
            "--memory-limit",
            "1GiB",
        ],
        &["run", "add.wat", "--allow-clock", "--allow-clock"],
        &["run", "add.wat", "-f", "json", "-f", "human"],
    ] {
        let out = expect_code(args, 2);
        assert!(
            stderr(&out).contains("cannot be used multiple times"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

/// Output options belong to the command: given before its name they could
/// silently lose to the same option after it, so they are refused there.
#[test]
fn output_options_come_after_the_command_name() {
    for args in [
        &["-f", "json", "run", "add.wat", "-f", "human"][..],
        &["-f", "json", "run", "add.wat"],
        &["-q", "validate", "add.wat"],
    ] {
        let out = expect_code(args, 2);
        assert!(
            stderr(&out).contains("unexpected argument"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("go after the command name"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    let out = expect_code(&["validate", "add.wat", "-f", "json-compact"], 0);
    assert_eq!(json(&out)["valid"], true);
}

/// Choices that contradict each other are refused instead of one silently
/// overriding the other.
#[test]
fn contradicting_choices_are_usage_errors() {
    for (args, needle) in [
        (
            &[
                "run",
                "add.wat",
                "-e",
                "add",
                "--metrics",
                "-q",
                "--",
                "1",
                "2",
            ][..],
            "-q",
        ),
        (
            &["run", "args.wat", "--env", "A=1", "--env", "A=2"],
            "--env A is given twice",
        ),
    ] {
        let out = expect_code(args, 2);
        let err = stderr(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(err.contains("Usage:"), "{args:?}: {err}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

/// Logging with capture is refused by aegis-core's rule (`invalid_argument`),
/// wherever the two come from; logging with a JSON format is refused by the
/// CLI, since stdout holds the one document. Nothing runs.
#[test]
fn logging_conflicts_are_invalid_arguments() {
    let out = expect_code(
        &["run", "args.wat", "--allow-logging", "--capture-output"],
        2,
    );
    let err = stderr(&out);
    assert!(err.contains("error[invalid_argument]"), "{err}");
    assert!(
        err.contains("allow_logging and capture_output cannot both be set"),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
    for format in ["json", "json-compact"] {
        let out = expect_code(&["run", "args.wat", "--allow-logging", "-f", format], 2);
        let doc = json(&out);
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["error"]["code"], "invalid_argument");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.contains("--capture-output"), "{message}");
        assert_eq!(doc["stdout"], "", "the guest must not run");
        assert!(doc["metrics"].is_null(), "the guest must not run");
    }
    // From a policy file too.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("log.toml");
    std::fs::write(&policy, "allow_logging = true").unwrap();
    let policy = policy.to_str().unwrap();
    let out = expect_code(&["run", "args.wat", "--policy", policy, "-f", "json"], 2);
    assert_eq!(json(&out)["error"]["code"], "invalid_argument");
    let out = expect_code(
        &["run", "args.wat", "--policy", policy, "--capture-output"],
        2,
    );
    assert!(
        stderr(&out).contains("cannot both be set"),
        "{}",
        stderr(&out)
    );
}

/// In the human format, captured output is printed when the guest is done,
/// as it wrote it.
#[test]
fn capture_output_in_the_human_format_prints_after_the_run() {
    let out = expect_code(&["run", "args.wat", "--capture-output", "--", "hi"], 0);
    assert_eq!(stdout(&out), "args.wat hi\n\n");
    let out = expect_code(&["run", "args.wat", "--capture-output=4", "--", "hi"], 0);
    assert_eq!(stdout(&out), "args");
}

/// In JSON formats the guest's output goes into the document only when asked
/// with --capture-output; stdout stays one JSON document.
#[test]
fn capture_output_fills_the_json_document() {
    let out = expect_code(
        &[
            "run",
            "args.wat",
            "-f",
            "json-compact",
            "--capture-output",
            "--",
            "hi",
        ],
        0,
    );
    assert_eq!(json(&out)["stdout"], "args.wat hi\n\n");
    let out = expect_code(&["run", "args.wat", "-f", "json-compact", "--", "hi"], 0);
    assert_eq!(json(&out)["stdout"], "");
    assert!(
        stderr(&out).contains("--capture-output"),
        "the note names the JSON flag: {}",
        stderr(&out)
    );
}
