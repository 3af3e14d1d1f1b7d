//! Parsing of byte sizes (`65536`, `64MiB`, `1.5GiB`, `512KB`) and durations in seconds.

use std::time::Duration;

/// Multiplier of a size suffix, case-insensitive: binary for `K/M/G` and
/// `KiB/MiB/GiB`, decimal for `KB/MB/GB`.
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

/// Parses a byte count with an optional unit suffix, e.g. `64MiB` or `1.5G`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let bad = || {
        format!(
            "`{text}` is not a size (expected bytes, optionally with a unit: 65536, 512KiB, 64MiB, 1GiB, 100MB)"
        )
    };
    let multiplier = suffix_multiplier(suffix.trim()).ok_or_else(bad)?;
    if number.is_empty() {
        return Err(bad());
    }
    if let Ok(whole) = number.parse::<u64>() {
        return whole
            .checked_mul(multiplier)
            .ok_or_else(|| format!("`{text}` is too large"));
    }
    let fractional: f64 = number.parse().map_err(|_| bad())?;
    let bytes = (fractional * multiplier as f64).round();
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(bytes as u64)
}

/// Parses a positive number of seconds, fractions allowed (`2`, `0.5`, `1e-3`).
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds (e.g. 2 or 0.5)"))?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!(
            "timeout must be a positive number of seconds, got `{text}`"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{text}` seconds is too long"))
}

/// Formats a byte count for people: `65536 (64 KiB)`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            let shown = if bytes.is_multiple_of(size) {
                format!("{}", bytes / size)
            } else {
                format!("{value:.2}")
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
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64mib"), Ok(64 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
        assert_eq!(parse_size("1_000"), Ok(1000));
    }

    #[test]
    fn rejects_bad_sizes() {
        for bad in [
            "",
            "MiB",
            "abc",
            "-1",
            "12XB",
            "1.2.3",
            "99999999999999999999",
            "20000000TiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "abc", "inf", "nan", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn human_bytes_picks_units() {
        assert_eq!(human_bytes(100), "100 bytes");
        assert_eq!(human_bytes(65536), "65536 bytes (64 KiB)");
        assert_eq!(human_bytes(1536), "1536 bytes (1.50 KiB)");
    }
}
