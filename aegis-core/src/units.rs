//! The units every front-end writes settings in: byte sizes (`65536`,
//! `64MiB`, `1.5GiB`, `512KB`) and durations in seconds (`2`, `0.5`).
//!
//! One grammar, used by policy files, the CLI's flags and every binding that
//! accepts a size as text; and one way to show a duration to people
//! ([`format_duration`]).

use std::time::Duration;

use crate::error::{Error, Result};

/// Multiplier of a size suffix, case-insensitive: binary for `K/M/G/T` and
/// `KiB/MiB/GiB/TiB`, decimal for `KB/MB/GB/TB`.
fn suffix_multiplier(suffix: &str) -> Option<u64> {
    Some(match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return None,
    })
}

/// Parses a byte count with an optional unit suffix, e.g. `64MiB` or `1.5G`;
/// `invalid_argument` naming the text otherwise.
pub fn parse_size(text: &str) -> Result<u64> {
    let shown = crate::error::bounded_message(text.to_string());
    let t = text.trim().replace('_', "");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let bad = || {
        Error::invalid_argument(format!(
            "`{shown}` is not a size (expected bytes, optionally with a unit: 65536, 512KiB, 64MiB, 1GiB, 100MB)"
        ))
    };
    let too_large = || Error::invalid_argument(format!("`{shown}` is too large"));
    let multiplier = suffix_multiplier(suffix.trim()).ok_or_else(bad)?;
    if number.is_empty() {
        return Err(bad());
    }
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(multiplier).ok_or_else(too_large);
    }
    let fractional: f64 = number.parse().map_err(|_| bad())?;
    let bytes = (fractional * multiplier as f64).round();
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(too_large());
    }
    Ok(bytes as u64)
}

/// A positive, finite number of seconds as a `Duration`; `invalid_argument`
/// naming `what` otherwise.
pub fn seconds(what: &str, secs: f64) -> Result<Duration> {
    if !secs.is_finite() || secs <= 0.0 {
        return Err(Error::invalid_argument(format!(
            "{what} must be a positive number of seconds, got {secs}"
        )));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|_| Error::invalid_argument(format!("{what} of {secs} seconds is too long")))
}

/// Parses a positive number of seconds, fractions allowed (`2`, `0.5`, `1e-3`).
pub fn parse_seconds(what: &str, text: &str) -> Result<Duration> {
    let secs: f64 = text.trim().parse().map_err(|_| {
        Error::invalid_argument(format!(
            "{what}: `{}` is not a number of seconds (e.g. 2 or 0.5)",
            crate::error::bounded_message(text.to_string())
        ))
    })?;
    seconds(what, secs)
}

/// A duration for people, rounded to three significant digits in the
/// largest unit that keeps it at least 1: `25 µs`, `1.23 ms`, `2.5 s`
/// (whole seconds from 100 s: `1234 s`). Messages and human output use it;
/// machine output (JSON, details) keeps exact numbers.
pub fn format_duration(duration: Duration) -> String {
    const UNITS: [(u128, &str); 4] = [
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "µs"),
        (1, "ns"),
    ];
    let nanos = duration.as_nanos();
    let step = match nanos {
        0..1_000 => 1,
        // Whole seconds from 100 s on; three significant digits below.
        100_000_000_000.. => 1_000_000_000,
        _ => 10u128.pow(nanos.ilog10() - 2),
    };
    let rounded = (nanos + step / 2) / step * step;
    let (size, unit) = UNITS
        .into_iter()
        .find(|(size, _)| rounded >= *size)
        .unwrap_or((1_000_000_000, "s"));
    let whole = rounded / size;
    let mut text = whole.to_string();
    let fraction = format!("{:09}", rounded % size * (1_000_000_000 / size));
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        text.push('.');
        text.push_str(fraction);
    }
    format!("{text} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536").unwrap(), 65536);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("64mib").unwrap(), 64 << 20);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("100MB").unwrap(), 100_000_000);
        assert_eq!(parse_size("1_000").unwrap(), 1000);
        for bad in ["", "MiB", "12 apples", "-5", "99999999999999999999TiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_seconds("t", "0.5").unwrap(),
            Duration::from_millis(500)
        );
        for bad in ["0", "-1", "nan", "inf", "1e300", "soon"] {
            assert!(parse_seconds("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_for_people_are_rounded() {
        let shown = |nanos: u64| format_duration(Duration::from_nanos(nanos));
        assert_eq!(shown(0), "0 s");
        assert_eq!(shown(7), "7 ns");
        assert_eq!(shown(999), "999 ns");
        assert_eq!(shown(25_000), "25 µs");
        assert_eq!(shown(1_234_567), "1.23 ms");
        assert_eq!(shown(999_600), "1 ms");
        assert_eq!(shown(12_345_678), "12.3 ms");
        assert_eq!(shown(501_234_567), "501 ms");
        assert_eq!(shown(2_500_000_000), "2.5 s");
        assert_eq!(shown(30_000_000_000), "30 s");
        assert_eq!(shown(99_960_000_000), "100 s");
        assert_eq!(shown(1_234_567_000_000), "1235 s");
        assert_eq!(format_duration(Duration::MAX), "18446744073709551616 s");
    }
}
