//! Rendering: values, metrics and errors as human text or JSON, and where each goes.

use std::io::Write;

use aegis_core::{Error, Metrics, Value};
use serde_json::{Value as Json, json};

use crate::args::Format;
use crate::exit_code;
use crate::size::human_bytes;

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

    /// Reports an error on stderr (one line; the wasm backtrace with `-v`).
    pub fn print_error(&self, err: &Error) {
        let (message, backtrace) = split_error(err);
        print_stderr(&format!("aegis: error[{}]: {message}", err.code()));
        if let Some(bt) = backtrace {
            self.verbose(1, format!("wasm backtrace:\n{bt}"));
        }
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

/// The error's one-line message and, for traps, its wasm backtrace.
pub fn split_error(err: &Error) -> (String, Option<String>) {
    match err {
        Error::Trap {
            message, backtrace, ..
        } => (
            format!("trap: {message}"),
            Some(backtrace.clone()).filter(|b| !b.is_empty()),
        ),
        other => (other.to_string(), None),
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

/// The JSON form of metrics.
pub fn metrics_json(m: &Metrics) -> Json {
    let denied: Vec<Json> = m
        .denied
        .iter()
        .map(|d| json!({"capability": d.capability, "operation": d.operation, "target": d.target}))
        .collect();
    json!({
        "calls": m.calls,
        "wall_time_us": u64::try_from(m.wall_time.as_micros()).unwrap_or(u64::MAX),
        "fuel_consumed": m.fuel_consumed,
        "memory_current": m.memory_current,
        "memory_peak": m.memory_peak,
        "host_calls": m.host_calls,
        "denied_count": m.denied_count,
        "denied": denied,
    })
}

/// The JSON error object: stable code, message, exit code, and details.
pub fn error_json(err: &Error) -> Json {
    let (message, backtrace) = split_error(err);
    let mut obj = json!({
        "code": err.code().as_str(),
        "message": message,
        "exit_code": exit_code::for_error(err),
    });
    match err {
        Error::Trap { code, .. } => obj["trap"] = json!(code),
        Error::Exit { status } => obj["status"] = json!(status),
        _ => {}
    }
    if let Some(bt) = backtrace {
        obj["backtrace"] = json!(bt);
    }
    obj
}

/// The metrics as an aligned table for people.
pub fn metrics_table(m: &Metrics) -> String {
    let rows = [
        ("calls", m.calls.to_string()),
        (
            "wall time",
            format!("{:.3} ms", m.wall_time.as_secs_f64() * 1e3),
        ),
        ("fuel consumed", m.fuel_consumed.to_string()),
        ("memory current", human_bytes(m.memory_current)),
        ("memory peak", human_bytes(m.memory_peak)),
        ("host calls", m.host_calls.to_string()),
        ("denied operations", m.denied_count.to_string()),
    ];
    let mut text = String::from("Metrics:");
    for (name, value) in rows {
        text.push_str(&format!("\n  {name:<18} {value}"));
    }
    for d in &m.denied {
        text.push_str(&format!(
            "\n    denied {} {} {}",
            d.capability, d.operation, d.target
        ));
    }
    text
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
    fn error_objects_carry_code_and_exit_code() {
        let e = error_json(&Error::Exit { status: 3 });
        assert_eq!(e["code"], "exit");
        assert_eq!(e["status"], 3);
        assert_eq!(e["exit_code"], 3);
    }
}
