//! Rendering: values, metrics and errors as human text or JSON, and where each goes.

use std::io::Write;

use aegis_core::units::format_duration;
use aegis_core::{Error, MetricValue, Metrics, Value};
use serde_json::{Value as Json, json};

use crate::args::Format;
use crate::exit_code;

/// Where and how the command reports: format, quiet and verbosity.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// The output format.
    pub format: Format,
    /// `-q`: results and errors only.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
}

impl Output {
    /// Whether the format is one of the JSON ones.
    pub fn is_json(&self) -> bool {
        self.format != Format::Human
    }

    /// A diagnostic on stderr, shown from verbosity `level` up.
    pub fn verbose(&self, level: u8, message: impl std::fmt::Display) {
        if self.verbose >= level {
            print_stderr(&format!("aegis: {message}"));
        }
    }

    /// A note on stderr, hidden by `-q`.
    pub fn note(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            print_stderr(&format!("aegis: note: {message}"));
        }
    }

    /// Prints a JSON document on stdout in the chosen layout.
    pub fn print_json(&self, doc: &Json) {
        let text = match self.format {
            Format::JsonCompact => doc.to_string(),
            _ => serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string()),
        };
        print_stdout(&text);
    }

    /// Reports an error on stderr: the core's one-line message
    /// (`Error::message`), and a trap's wasm backtrace with `-v`.
    pub fn print_error(&self, err: &Error) {
        print_stderr(&format!("aegis: error[{}]: {}", err.code(), err.message()));
        if let Error::Trap { backtrace, .. } = err
            && !backtrace.is_empty()
        {
            self.verbose(1, format!("wasm backtrace:\n{backtrace}"));
        }
    }

    /// A hint on stderr after an error, saying how to do what was meant
    /// (shown with `-q` too: it belongs to the error).
    pub fn hint(&self, message: impl std::fmt::Display) {
        print_stderr(&format!("aegis: hint: {message}"));
    }
}

/// Writes a line to stderr, ignoring a closed stream (never panics, unlike `eprintln!`).
pub fn print_stderr(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Writes a line to stdout, ignoring a closed pipe (`aegis ... | head`).
pub fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Writes bytes to stdout exactly as they are (the `--call-bytes` output),
/// ignoring a closed pipe.
pub fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Standard base64 (RFC 4648, with padding): the `--call-bytes` output in JSON.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for i in 0..4 {
            match i <= chunk.len() {
                true => text.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char),
                false => text.push('='),
            }
        }
    }
    text
}

/// Writes the guest's captured output as it is: `stdout` to stdout, `stderr`
/// to stderr (ignoring closed streams). Nothing captured, nothing written:
/// stdout is not even flushed, so a reader that stopped reading the guest's
/// logged output cannot hold the process.
pub fn write_captured(stdout: &[u8], stderr: &[u8]) {
    if !stdout.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(stdout);
        let _ = out.flush();
    }
    if !stderr.is_empty() {
        let _ = std::io::stderr().lock().write_all(stderr);
    }
}

/// `{"type":"i32","value":15}`; i64 values are decimal strings (exact beyond
/// 2^53), non-finite floats are the strings `nan`, `inf`, `-inf`.
pub fn value_json(value: &Value) -> Json {
    let v = match *value {
        Value::I32(v) => json!(v),
        Value::I64(v) => json!(v.to_string()),
        Value::F32(v) => float_json(f64::from(v), v.is_finite(), &v.to_string()),
        Value::F64(v) => float_json(v, v.is_finite(), &v.to_string()),
    };
    json!({ "type": value.ty().as_str(), "value": v })
}

/// A float as a JSON number using its shortest text (so f32 1.1 stays 1.1).
fn float_json(wide: f64, finite: bool, text: &str) -> Json {
    if !finite {
        return json!(if wide.is_nan() {
            "nan"
        } else if wide > 0.0 {
            "inf"
        } else {
            "-inf"
        });
    }
    let shortest: f64 = text.parse().unwrap_or(wide);
    json!(shortest)
}

/// The JSON error object: aegis-core's (`code`, `message` and the error's
/// details, named as in every front-end) plus the process `exit_code`.
pub fn error_object(err: &Error) -> Json {
    let mut obj = err.to_json();
    obj["exit_code"] = json!(exit_code::for_error(err));
    obj
}

/// The metrics as an aligned table for people, one row per metric under the
/// names of the JSON output (and every front-end); durations rounded
/// (`1.23 ms`; the JSON output keeps exact seconds).
pub fn metrics_table(m: &Metrics) -> String {
    let mut text = String::from("Metrics:");
    for (name, value) in m.fields() {
        let shown = match value {
            MetricValue::Count(n) => n.to_string(),
            MetricValue::Bytes(n) => human_bytes(n),
            MetricValue::Seconds(d) => format_duration(d),
            MetricValue::Denied(list) => {
                for d in list {
                    let line =
                        format!("\n    {name} {} {} {}", d.capability, d.operation, d.target);
                    text.push_str(&line);
                }
                continue;
            }
        };
        text.push_str(&format!("\n  {name:<16}{shown}"));
    }
    text
}

/// Formats a byte count for people: `65536 bytes (64 KiB)`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if bytes >= size {
            let shown = if bytes.is_multiple_of(size) {
                format!("{}", bytes / size)
            } else {
                format!("{:.2}", bytes as f64 / size as f64)
            };
            return format!("{bytes} bytes ({shown} {unit})");
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_precision() {
        assert_eq!(
            value_json(&Value::I32(-3)),
            json!({"type":"i32","value":-3})
        );
        assert_eq!(
            value_json(&Value::I64(i64::MAX)),
            json!({"type":"i64","value":"9223372036854775807"})
        );
        assert_eq!(
            value_json(&Value::F32(1.1)),
            json!({"type":"f32","value":1.1})
        );
        assert_eq!(
            value_json(&Value::F64(f64::NEG_INFINITY)),
            json!({"type":"f64","value":"-inf"})
        );
        assert_eq!(
            value_json(&Value::F32(f32::NAN)),
            json!({"type":"f32","value":"nan"})
        );
    }

    #[test]
    fn error_objects_are_the_core_ones_plus_the_exit_code() {
        let e = error_object(&Error::Exit { status: 3 });
        assert_eq!(
            e,
            json!({"code": "exit", "message": "guest exited with status 3", "status": 3, "exit_code": 3})
        );
        let trap = Error::Trap {
            code: aegis_core::TrapCode::Unreachable,
            message: "wasm `unreachable` instruction executed".into(),
            backtrace: String::new(),
        };
        assert_eq!(error_object(&trap)["trap_code"], "unreachable");
    }

    #[test]
    fn metrics_rows_are_the_core_names() {
        let m = Metrics {
            calls: 1,
            wall_time: std::time::Duration::from_micros(25),
            memory_peak: 65536,
            denied_count: 1,
            denied: vec![aegis_core::DeniedOperation {
                capability: aegis_core::Capability::Clock,
                operation: aegis_core::Operation::ClockTimeGet,
                target: "realtime".into(),
            }],
            ..Metrics::default()
        };
        let table = metrics_table(&m);
        let names: Vec<&str> = table
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("    "))
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        let mut expected = aegis_core::METRIC_NAMES.to_vec();
        expected.pop(); // `denied`: one line per refusal, under `denied_count`
        assert_eq!(names, expected);
        assert!(table.contains("  wall_time       25 µs\n"), "{table}");
        assert!(
            table.contains("  memory_peak     65536 bytes (64 KiB)\n"),
            "{table}"
        );
        assert!(
            table.ends_with("\n    denied clock clock_time_get realtime"),
            "{table}"
        );
    }

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"\x00\xff\xfe"), "AP/+");
    }

    #[test]
    fn human_bytes_picks_units() {
        assert_eq!(human_bytes(100), "100 bytes");
        assert_eq!(human_bytes(65536), "65536 bytes (64 KiB)");
        assert_eq!(human_bytes(1536), "1536 bytes (1.50 KiB)");
    }
}
