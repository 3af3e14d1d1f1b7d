//! The units every front-end writes settings in: byte sizes (`65536`,
//! `64MiB`, `1.5GiB`, `512KB`) and durations in seconds (`2`, `0.5`).
//!
//! One grammar, used by policy files, the CLI's flags and every binding that
//! accepts a size as text.

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
}
