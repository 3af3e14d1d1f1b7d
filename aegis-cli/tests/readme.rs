//! The README's CLI section, executed: every `$` command in its `sh` blocks,
//! every JSON example's shape, and the exit-code table as `--help` prints it.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value as Json;

/// The text between `<!-- section:cli -->` and `<!-- /section:cli -->`.
fn cli_section() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md is readable");
    let start = readme
        .find("<!-- section:cli -->")
        .expect("README has the cli section");
    let end = readme
        .find("<!-- /section:cli -->")
        .expect("README closes the cli section");
    readme[start..end].to_string()
}

/// The fenced blocks of one language, as (line before the fence, body).
fn blocks(section: &str, lang: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let lines: Vec<&str> = section.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == format!("```{lang}") {
            let before = if i > 0 {
                lines[i - 1].to_string()
            } else {
                String::new()
            };
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && lines[i].trim() != "```" {
                body.push(lines[i]);
                i += 1;
            }
            found.push((before, body.join("\n")));
        }
        i += 1;
    }
    found
}

/// `$ command` lines with the stdout lines expected under them.
fn examples(section: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (_, body) in blocks(section, "sh") {
        for line in body.lines() {
            if let Some(cmd) = line.strip_prefix("$ ") {
                out.push((cmd.to_string(), String::new()));
            } else if let Some((_, expected)) = out.last_mut() {
                expected.push_str(line);
                expected.push('\n');
            }
        }
    }
    out
}

#[test]
fn every_shell_example_prints_what_the_readme_shows() {
    let section = cli_section();
    let examples = examples(&section);
    assert!(examples.len() >= 15, "the CLI section lost its examples");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_aegis")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (cmd, expected) in examples {
        assert!(
            cmd.starts_with("aegis ") || cmd.contains("| aegis "),
            "example does not run aegis: {cmd}"
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .current_dir(fixtures())
            .env("PATH", &path)
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("sh runs");
        assert_eq!(stdout(&out), expected, "README example: $ {cmd}");
        assert_clean_stderr(&out);
    }
}

/// The same keys, recursively, and the same JSON types (values may differ:
/// timings and the like).
fn assert_same_shape(example: &Json, actual: &Json, at: &str) {
    match (example, actual) {
        (Json::Object(a), Json::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            assert_eq!(ka, kb, "keys differ at {at}");
            for (k, v) in a {
                assert_same_shape(v, &b[k], &format!("{at}.{k}"));
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            assert_eq!(a.len(), b.len(), "array length differs at {at}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same_shape(x, y, &format!("{at}[{i}]"));
            }
        }
        (Json::Number(_), Json::Number(_)) => {}
        (a, b) => assert_eq!(a, b, "value differs at {at}"),
    }
}

#[test]
fn json_examples_match_the_real_schema() {
    let section = cli_section();
    let mut checked = 0;
    for (before, body) in blocks(&section, "json") {
        let Some(args) = before
            .strip_prefix("<!-- json-schema: ")
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        let example: Json = serde_json::from_str(&body).expect("README JSON example parses");
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = run(&args);
        assert_same_shape(&example, &json(&out), "$");
        checked += 1;
    }
    assert!(
        checked >= 2,
        "the JSON examples lost their json-schema markers"
    );
}

#[test]
fn exit_code_table_matches_help() {
    let help = stdout(&expect_code(&["--help"], 0));
    let table = &help[help.find("Exit codes:").expect("--help has the table")..];
    let section = cli_section();
    let documented = blocks(&section, "text")
        .into_iter()
        .any(|(_, body)| body.trim_end() == table.trim_end());
    assert!(
        documented,
        "README's exit-code table differs from --help:\n{table}"
    );
}

/// The flag table of `aegis run` lists exactly the flags `aegis run --help`
/// defines (aliases included), so the README and the command cannot drift.
#[test]
fn the_flag_table_lists_every_run_flag() {
    let section = cli_section();
    let start = section
        .find("### `aegis run <MODULE>")
        .expect("the CLI section documents aegis run");
    let mut documented = std::collections::BTreeSet::new();
    let rows = section[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| option |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    for row in rows {
        let first = row.trim_start_matches("| ").split(" | ").next().unwrap();
        let words = first.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
        documented.extend(
            words
                .filter(|w| w.starts_with("--") && w.len() > 2)
                .map(String::from),
        );
    }
    assert_eq!(
        documented,
        run_help_flags(),
        "README's `aegis run` flag table differs from `aegis run --help`"
    );
}
