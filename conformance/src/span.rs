//! Spans of time given on the command line (`explore --time`,
//! `load --duration`): a number with a unit, or a bare number of seconds.

use std::time::Duration;

/// Parses `s` as a positive, finite number followed by one of `units`
/// (suffix and seconds per unit, tried in order, so `ms` must come before
/// `s` and `m`), or a bare number of seconds. `flag` and `examples` name
/// the flag and the forms to give in the error. The caller checks its cap.
pub(crate) fn parse_span(
    s: &str,
    flag: &str,
    examples: &str,
    units: &[(&str, f64)],
) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = units
        .iter()
        .find_map(|(suffix, scale)| t.strip_suffix(suffix).map(|n| (n, *scale)))
        .unwrap_or((t, 1.0));
    let bad = || format!("{flag} '{s}' is not a time: give e.g. {examples}");
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    if !v.is_finite() || v <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(v * scale))
}
