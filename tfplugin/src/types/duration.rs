//! Durations as Terraform users write them everywhere (hashicorp/aws
//! `timeouts`, `time_rotating`, ...): Go's `time.ParseDuration` grammar.
//!
//! `[+-]?(<decimal>[.<decimal>]<unit>)+` with the units `ns`, `us` (`µs`,
//! `μs`), `ms`, `s`, `m`, `h`, or a lone `0`. Arithmetic is exact, in whole
//! nanoseconds (Go uses a float for fractions and may be off by one
//! nanosecond; a fraction finer than a nanosecond is dropped, as in Go).
//! Negative durations parse (Go's grammar has them) but no attribute takes
//! one: [`GoDuration`] refuses them, naming the attribute.

use std::fmt;
use std::time::Duration;

use crate::diag::{AttrPath, Diagnostics};
use crate::model::{type_error, TfType};
use crate::value::{Type, Value};

/// Go's `time.Duration` limit: the largest `int64` of nanoseconds (~2562047h).
const MAX_NANOS: u128 = i64::MAX as u128;

/// Why a text is not a Go duration; `Display` says it in a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationError {
    Empty,
    /// A number is missing where one must start (`h`, `1h.m`).
    ExpectedNumber,
    MissingUnit,
    UnknownUnit(String),
    Overflow,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => write!(f, "it is empty"),
            DurationError::ExpectedNumber => write!(f, "a number must come before each unit"),
            DurationError::MissingUnit => write!(f, "a number has no unit"),
            DurationError::UnknownUnit(u) => write!(
                f,
                "{u:?} is not a unit (use ns, us, ms, s, m or h; there is no unit for days)"
            ),
            DurationError::Overflow => write!(f, "it is longer than Go allows (about 2562047h)"),
        }
    }
}

/// Parses Go's duration grammar into signed nanoseconds.
pub fn parse_go_duration(text: &str) -> Result<i128, DurationError> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, tail) = parse_term(rest)?;
        total = total.checked_add(nanos).ok_or(DurationError::Overflow)?;
        if total > MAX_NANOS + u128::from(negative) {
            return Err(DurationError::Overflow);
        }
        rest = tail;
    }
    let signed = total as i128;
    Ok(if negative { -signed } else { signed })
}

/// One `<decimal>[.<decimal>]<unit>`: its nanoseconds and the rest of the text.
fn parse_term(s: &str) -> Result<(u128, &str), DurationError> {
    let int_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (int_digits, mut rest) = s.split_at(int_end);
    let mut frac_digits = "";
    if let Some(after_dot) = rest.strip_prefix('.') {
        let end = after_dot
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_dot.len());
        frac_digits = &after_dot[..end];
        rest = &after_dot[end..];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(DurationError::ExpectedNumber);
    }
    let unit_end = rest
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(rest.len());
    let (unit, tail) = rest.split_at(unit_end);
    if unit.is_empty() {
        return Err(DurationError::MissingUnit);
    }
    let scale = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
    let whole = decimal(int_digits)?
        .checked_mul(scale)
        .ok_or(DurationError::Overflow)?;
    Ok((whole + fraction_nanos(frac_digits, scale), tail))
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

fn decimal(digits: &str) -> Result<u128, DurationError> {
    digits.bytes().try_fold(0u128, |acc, b| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .filter(|v| *v <= MAX_NANOS)
            .ok_or(DurationError::Overflow)
    })
}

/// `0.<digits>` of `scale` nanoseconds, truncated to whole nanoseconds.
/// Digits past the 20th cannot change the result (scale < 10^13).
fn fraction_nanos(digits: &str, scale: u128) -> u128 {
    let digits = &digits[..digits.len().min(20)];
    let numerator = digits
        .bytes()
        .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0'));
    numerator * scale / 10u128.pow(digits.len() as u32)
}

/// A non-negative Go duration attribute. Keeps the text as written, so the
/// state holds what the configuration says and a plan shows no change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoDuration {
    text: String,
    nanos: u64,
}

impl GoDuration {
    /// Parses a non-negative Go duration; the error is a sentence that can
    /// be shown as is.
    pub fn parse(text: &str) -> Result<GoDuration, String> {
        match parse_go_duration(text) {
            Ok(n) if n < 0 => Err(format!("{text:?} is negative; a duration here must be 0 or more.")),
            Ok(n) => Ok(GoDuration {
                text: text.to_string(),
                nanos: n as u64,
            }),
            Err(why) => Err(format!(
                "{text:?} is not a Go duration: {why}. Write a number and a unit, e.g. \"1h30m\", \"1.5h\", \"90s\" or \"300ms\"."
            )),
        }
    }

    /// The duration, for a text known to be valid (defaults in code).
    pub fn from_static(text: &'static str) -> GoDuration {
        GoDuration::parse(text).expect("a valid Go duration")
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.nanos)
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&GoDuration> for Duration {
    fn from(d: &GoDuration) -> Duration {
        d.duration()
    }
}

impl TfType for GoDuration {
    fn tf_type() -> Type {
        Type::String
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        match v {
            Value::String(s) => {
                GoDuration::parse(s).map_err(|why| super::invalid(path, Some("duration"), why))
            }
            other => Err(type_error(path, "a string", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;

    #[test]
    fn accepts_what_go_accepts() {
        for (text, nanos) in [
            ("0", 0),
            ("+0", 0),
            ("-0", 0),
            ("0s", 0),
            ("1.5h", 5400 * S),
            ("1h30m", 5400 * S),
            ("90s", 90 * S),
            ("300ms", 300_000_000),
            ("1.5s", 1_500_000_000),
            (".5s", 500_000_000),
            ("5.s", 5 * S),
            ("1h1m1s1ms1us1ns", 3661 * S + 1_001_001),
            ("1\u{b5}s", 1_000),
            ("1\u{3bc}s", 1_000),
            ("2h45m", 9900 * S),
            ("-1.5h", -5400 * S),
            ("1m1m", 120 * S),
            ("0.000000001s", 1),
            ("0.0000000019s", 1),
            ("2562047h47m16.854775807s", i64::MAX as i128),
            ("-2562047h47m16.854775808s", i64::MIN as i128),
            ("8760h", 8760 * 3600 * S),
            // Digits past what a nanosecond can show do not matter.
            ("1.00000000000000000000000000001h", 3600 * S),
        ] {
            assert_eq!(parse_go_duration(text), Ok(nanos), "{text}");
        }
    }

    #[test]
    fn refuses_what_go_refuses() {
        for (text, why) in [
            ("", DurationError::Empty),
            ("-", DurationError::Empty),
            ("1", DurationError::MissingUnit),
            ("1h2", DurationError::MissingUnit),
            ("h", DurationError::ExpectedNumber),
            (".s", DurationError::ExpectedNumber),
            ("1h.m", DurationError::ExpectedNumber),
            ("1d", DurationError::UnknownUnit("d".into())),
            ("90x", DurationError::UnknownUnit("x".into())),
            ("1 h", DurationError::UnknownUnit(" h".into())),
            ("1H", DurationError::UnknownUnit("H".into())),
            ("1 day", DurationError::UnknownUnit(" day".into())),
            ("2562047h47m16.854775808s", DurationError::Overflow),
            ("9223372036854775808ns", DurationError::Overflow),
            ("99999999999999999999999h", DurationError::Overflow),
        ] {
            assert_eq!(parse_go_duration(text), Err(why), "{text:?}");
        }
    }

    #[test]
    fn the_attribute_type_refuses_negatives_and_keeps_the_text() {
        let d = GoDuration::parse("1.5h").unwrap();
        assert_eq!(d.duration(), Duration::from_secs(5400));
        assert_eq!(d.to_value(), Value::string("1.5h"));
        let neg = GoDuration::parse("-1h").unwrap_err();
        assert!(neg.contains("negative"), "{neg}");
        let days = GoDuration::parse("1d").unwrap_err();
        assert!(days.contains("\"d\" is not a unit"), "{days}");
    }

    #[test]
    fn a_bad_value_is_an_invalid_duration_at_its_attribute() {
        let path = AttrPath::root("timeouts").attr("create");
        let err = GoDuration::from_value(&Value::string("90x"), &path).unwrap_err();
        assert_eq!(err.0[0].summary, "Invalid duration");
        assert_eq!(err.0[0].path.as_ref(), Some(&path));
        assert!(
            err.0[0].detail.contains("`timeouts.create`"),
            "{:?}",
            err.0[0]
        );
    }
}
