//! Value types for the rules attributes share: each decodes only from a
//! valid value, so a model that holds one holds a valid one, and a bad value
//! is refused at validate/plan time naming its attribute. One rule, one
//! place, its tests beside it.
//!
//! - [`GoDuration`]: Go's `time.ParseDuration` grammar, non-negative;
//! - [`aws`]: AWS regions, partitions and ARNs;
//! - [`dns`]: DNS labels and subdomains (RFC 1123), as Kubernetes names them;
//! - closed sets of strings: `#[derive(TfEnum)]` on an enum.

pub mod aws;
pub mod dns;
pub mod duration;

pub use aws::{Arn, Partition, Region};
pub use dns::{DnsLabel, DnsSubdomain};
pub use duration::GoDuration;
pub use tfplugin_derive::TfEnum;

use crate::diag::{AttrPath, Diagnostic, Diagnostics, PathStep};

/// The error for a value its type refuses. The summary names what was
/// expected (`noun`, e.g. "duration"), else the attribute ("Invalid
/// namespace"); the detail starts with the attribute's path.
pub fn invalid(path: &AttrPath, noun: Option<&str>, why: impl std::fmt::Display) -> Diagnostics {
    let noun = noun
        .map(str::to_string)
        .unwrap_or_else(|| attribute_noun(path));
    let detail = if path.0.is_empty() {
        why.to_string()
    } else {
        format!("`{path}`: {why}")
    };
    Diagnostic::error(format!("Invalid {noun}"), detail)
        .at(path.clone())
        .into()
}

/// `failure_policy` -> "failure policy": the last attribute name of `path`.
fn attribute_noun(path: &AttrPath) -> String {
    path.0
        .iter()
        .rev()
        .find_map(|s| match s {
            PathStep::Attr(a) => Some(a.replace('_', " ")),
            _ => None,
        })
        .unwrap_or_else(|| "value".to_string())
}

/// A string type whose values pass `check`: `TfType` for it, refusing other
/// strings with `check`'s sentence.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $noun:expr, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The value if it passes the rule; else why not, as a sentence.
            pub fn parse(text: &str) -> Result<$name, String> {
                $check(text).map(|()| $name(text.to_string()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl $crate::model::TfType for $name {
            fn tf_type() -> $crate::value::Type {
                $crate::value::Type::String
            }
            fn from_value(
                v: &$crate::value::Value,
                path: &$crate::diag::AttrPath,
            ) -> Result<Self, $crate::diag::Diagnostics> {
                match v {
                    $crate::value::Value::String(s) => {
                        $name::parse(s).map_err(|why| $crate::types::invalid(path, $noun, why))
                    }
                    other => Err($crate::model::type_error(path, "a string", other)),
                }
            }
            fn to_value(&self) -> $crate::value::Value {
                $crate::value::Value::String(self.0.clone())
            }
        }
    };
}
pub(crate) use checked_string;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_type_or_else_the_attribute() {
        let p = AttrPath::root("tolerations").index(0).attr("operator");
        let d = invalid(&p, None, "\"x\" is wrong.");
        assert_eq!(d.0[0].summary, "Invalid operator");
        assert_eq!(d.0[0].detail, "`tolerations[0].operator`: \"x\" is wrong.");
        assert_eq!(d.0[0].path.as_ref(), Some(&p));
        let d = invalid(&AttrPath::root("aws_region"), Some("AWS region"), "no");
        assert_eq!(d.0[0].summary, "Invalid AWS region");
        let d = invalid(&AttrPath::root("failure_policy"), None, "no");
        assert_eq!(d.0[0].summary, "Invalid failure policy");
    }
}
