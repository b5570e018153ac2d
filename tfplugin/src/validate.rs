//! Validators declared on model fields: `#[tf(validate = between(1, 100))]`.
//! The derive runs them on known values when the configuration is validated
//! and planned, and reports each failure at the field's attribute path. A
//! rule that spans several attributes belongs in the resource's `validate`.

use std::fmt::Display;
use std::time::Duration;

use crate::diag::{AttrPath, Diagnostic, Diagnostics};
use crate::types::GoDuration;

/// A value a validator refused: what to say, and optionally where inside
/// the value (e.g. the index of a list element).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub summary: String,
    pub detail: String,
    pub at: Vec<crate::diag::PathStep>,
}

impl Invalid {
    pub fn new(summary: impl Into<String>, detail: impl Into<String>) -> Invalid {
        Invalid {
            summary: summary.into(),
            detail: detail.into(),
            at: Vec::new(),
        }
    }
    /// The problem is at element `i` of the value.
    pub fn at_index(mut self, i: usize) -> Invalid {
        self.at.insert(0, crate::diag::PathStep::Index(i as i64));
        self
    }
    pub fn into_diagnostic(self, path: &AttrPath) -> Diagnostic {
        let mut p = path.clone();
        p.0.extend(self.at);
        Diagnostic::error(self.summary, self.detail).at(p)
    }
}

/// A rule on one attribute's known value: a function `Fn(&T) -> Result<(),
/// Invalid>`, or [`all`] around one that reports every problem it finds.
pub trait Validator<T: ?Sized> {
    fn check(&self, value: &T) -> Vec<Invalid>;
}

impl<T: ?Sized, F: Fn(&T) -> Result<(), Invalid>> Validator<T> for F {
    fn check(&self, value: &T) -> Vec<Invalid> {
        self(value).err().into_iter().collect()
    }
}

/// A validator that reports every problem of a value (each element of a
/// list, say), not only the first.
pub struct All<F>(F);

pub fn all<T: ?Sized, F: Fn(&T) -> Vec<Invalid>>(f: F) -> All<F> {
    All(f)
}

impl<T: ?Sized, F: Fn(&T) -> Vec<Invalid>> Validator<T> for All<F> {
    fn check(&self, value: &T) -> Vec<Invalid> {
        (self.0)(value)
    }
}

/// Runs `v` on `value` and records each failure at `path`. Called by derived code.
pub fn run<T: ?Sized>(v: &impl Validator<T>, value: &T, path: &AttrPath, diags: &mut Diagnostics) {
    for invalid in v.check(value) {
        diags.push(invalid.into_diagnostic(path));
    }
}

/// `summary` for a value outside `[min, max]`, with `why` appended (e.g. the
/// API's reason).
pub fn between(
    min: i64,
    max: i64,
    summary: &'static str,
    why: &'static str,
) -> impl Fn(&i64) -> Result<(), Invalid> {
    move |v: &i64| {
        if (min..=max).contains(v) {
            Ok(())
        } else {
            Err(Invalid::new(
                summary,
                format!(
                    "{v} is outside the allowed range {min} to {max}{}{why}",
                    if why.is_empty() { "" } else { ": " }
                ),
            ))
        }
    }
}

/// A duration of at least `min`.
pub fn at_least(
    min: Duration,
    summary: &'static str,
) -> impl Fn(&GoDuration) -> Result<(), Invalid> {
    move |d: &GoDuration| {
        if d.duration() >= min {
            Ok(())
        } else {
            Err(Invalid::new(
                summary,
                format!(
                    "{:?} is shorter than the minimum {}.",
                    d.as_str(),
                    human(min)
                ),
            ))
        }
    }
}

/// A list of `min` to `max` elements.
pub fn length<T>(
    min: usize,
    max: usize,
    summary: &'static str,
) -> impl Fn(&Vec<T>) -> Result<(), Invalid> {
    move |v: &Vec<T>| {
        if (min..=max).contains(&v.len()) {
            Ok(())
        } else {
            Err(Invalid::new(
                summary,
                format!(
                    "{} element(s) given; between {min} and {max} are allowed.",
                    v.len()
                ),
            ))
        }
    }
}

/// A Go-style rendering of a whole number of seconds: `10m`, `1h30m`, `45s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

/// Formats a list of allowed values for a message: `"a", "b" or "c"`.
pub fn one_of_text<T: Display>(values: &[T]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_report_at_the_attribute() {
        let mut d = Diagnostics::default();
        let r = between(1, 100, "Invalid replicas", "");
        run(&r, &5, &AttrPath::root("replicas"), &mut d);
        assert!(d.is_empty());
        run(&r, &0, &AttrPath::root("replicas"), &mut d);
        assert_eq!(d.0[0].summary, "Invalid replicas");
        assert_eq!(d.0[0].path, Some(AttrPath::root("replicas")));
        assert!(d.0[0]
            .detail
            .contains("0 is outside the allowed range 1 to 100"));
    }

    #[test]
    fn durations_have_a_minimum() {
        let v = at_least(Duration::from_secs(600), "Invalid certificate validity");
        assert!(v(&GoDuration::parse("10m").unwrap()).is_ok());
        let e = v(&GoDuration::parse("599s").unwrap()).unwrap_err();
        assert!(e.detail.contains("minimum 10m"), "{e:?}");
        assert_eq!(human(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human(Duration::ZERO), "0s");
    }

    #[test]
    fn element_paths_and_lists() {
        let mut d = Diagnostics::default();
        let inv = Invalid::new("Bad", "no").at_index(2);
        d.push(inv.into_diagnostic(&AttrPath::root("client_ids")));
        assert_eq!(d.0[0].path.as_ref().unwrap().to_string(), "client_ids[2]");
        let every = all(|v: &Vec<i64>| {
            v.iter()
                .enumerate()
                .filter(|(_, x)| **x < 0)
                .map(|(i, _)| Invalid::new("Negative", "no").at_index(i))
                .collect()
        });
        let mut d = Diagnostics::default();
        run(&every, &vec![-1, 2, -3], &AttrPath::root("n"), &mut d);
        let paths: Vec<String> =
            d.0.iter()
                .map(|x| x.path.as_ref().unwrap().to_string())
                .collect();
        assert_eq!(paths, ["n[0]", "n[2]"]);
        let l = length::<u8>(1, 2, "Too many");
        assert!(l(&vec![1]).is_ok());
        assert!(l(&vec![]).is_err());
        assert_eq!(one_of_text(&["a", "b", "c"]), "\"a\", \"b\" or \"c\"");
    }
}
