//! The service account issuer URL: validation, the forms IAM uses, and the
//! message shown when a cluster's issuer differs from the published one.
//!
//! STS compares the token's `iss` claim with the IAM OIDC provider URL as
//! strings, so an issuer is valid here only in the one spelling that works
//! everywhere: `https://`, a lowercase host, an optional path, no port
//! (IAM: "The URL should not contain a port number"), no trailing slash, no
//! query, no fragment, no userinfo, at most 255 characters (IAM's limit).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::discovery::{DISCOVERY_PATH, JWKS_PATH};
use super::Finding;

/// Longest issuer accepted (the length limit of an IAM OIDC provider URL).
pub const MAX_ISSUER_LEN: usize = 255;

/// A validated issuer URL, e.g. `https://oidc.example.com/cluster-a`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssuerUrl {
    url: String,
    /// Byte offset where the path (or the end) starts.
    host_end: usize,
}

const SCHEME: &str = "https://";

/// Why an issuer URL was refused. Where the fix is obvious, `hint` holds a
/// sentence with the corrected value (or is empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    /// Nothing given.
    #[error("the issuer URL is empty; expected something like \"https://oidc.example.com\"")]
    Empty,
    /// Leading/trailing or embedded whitespace or control characters.
    #[error("the issuer URL \"{value}\" contains whitespace or control characters.{hint}")]
    Whitespace {
        /// The value given (control characters removed).
        value: String,
        /// Corrected value, as a sentence, or empty.
        hint: String,
    },
    /// Not `https://`.
    #[error(
        "the issuer URL \"{value}\" must start with \"https://\": AWS STS fetches the discovery \
         document over HTTPS.{hint}"
    )]
    NotHttps {
        /// The value given.
        value: String,
        /// Corrected value, as a sentence, or empty.
        hint: String,
    },
    /// `user@host`.
    #[error("the issuer URL \"{value}\" must not contain user information (\"...@\").{hint}")]
    UserInfo {
        /// The value given.
        value: String,
        /// Corrected value, as a sentence, or empty.
        hint: String,
    },
    /// `host:port`.
    #[error(
        "the issuer URL \"{value}\" contains a port: AWS IAM OIDC provider URLs must not contain \
         a port number, so the issuer has to be served on the default HTTPS port 443 and \
         written without a port.{hint}"
    )]
    Port {
        /// The value given.
        value: String,
        /// Corrected value, as a sentence, or empty.
        hint: String,
    },
    /// `https://` and nothing else, or `https:///path`.
    #[error("the issuer URL \"{value}\" has no host name")]
    MissingHost {
        /// The value given.
        value: String,
    },
    /// Capital letters in scheme or host.
    #[error(
        "the issuer URL \"{value}\" must have a lowercase scheme and host: tokens, IAM and STS \
         compare the issuer as an exact string.{hint}"
    )]
    NotLowercase {
        /// The value given.
        value: String,
        /// Corrected value, as a sentence, or empty.
        hint: String,
    },
    /// Not a DNS name nor an IP address.
    #[error("the issuer URL \"{value}\" has an invalid host: {reason}")]
    InvalidHost {
        /// The value given.
        value: String,
        /// What is wrong with the host.
        reason: String,
    },
    /// Ends with `/`.
    #[error(
        "the issuer URL \"{value}\" ends with a slash. \"{value}\" and \"{suggestion}\" are \
         different issuers (tokens carry the issuer exactly as kube-apiserver's \
         --service-account-issuer flag spells it, and STS compares it character by character); \
         use \"{suggestion}\" here and in the flag"
    )]
    TrailingSlash {
        /// The value given.
        value: String,
        /// The value without the trailing slash(es).
        suggestion: String,
    },
    /// `?query`.
    #[error("the issuer URL \"{value}\" must not contain a query (\"?...\").{hint}")]
    Query {
        /// The value given.
        value: String,
        /// Corrected value, as a sentence, or empty.
        hint: String,
    },
    /// `#fragment`.
    #[error("the issuer URL \"{value}\" must not contain a fragment (\"#...\").{hint}")]
    Fragment {
        /// The value given.
        value: String,
        /// Corrected value, as a sentence, or empty.
        hint: String,
    },
    /// A path that cannot be served as-is.
    #[error("the issuer URL \"{value}\" has an invalid path: {reason}")]
    InvalidPath {
        /// The value given.
        value: String,
        /// What is wrong with the path.
        reason: String,
    },
    /// Over [`MAX_ISSUER_LEN`].
    #[error(
        "the issuer URL is {len} characters long; an AWS IAM OIDC provider URL may have at most \
         {MAX_ISSUER_LEN}"
    )]
    TooLong {
        /// Its length.
        len: usize,
    },
}

/// Validate a service account issuer URL (see the module docs for the rules).
///
/// # Errors
/// An [`IssuerError`] naming the problem and, where there is one obvious
/// fix, the corrected value.
pub fn validate_issuer_url(s: &str) -> Result<IssuerUrl, IssuerError> {
    if s.is_empty() {
        return Err(IssuerError::Empty);
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(IssuerError::Whitespace {
            value: visible(s),
            hint: hint_for(s),
        });
    }
    if s.len() > MAX_ISSUER_LEN {
        return Err(IssuerError::TooLong { len: s.len() });
    }
    let rest = match s.find("://") {
        Some(i) if &s[..i] == "https" => &s[i + 3..],
        Some(i) if s[..i].eq_ignore_ascii_case("https") => {
            return Err(IssuerError::NotLowercase {
                value: s.into(),
                hint: hint_for(s),
            })
        }
        _ => {
            return Err(IssuerError::NotHttps {
                value: s.into(),
                hint: hint_for(s),
            })
        }
    };
    if rest.contains('#') {
        return Err(IssuerError::Fragment {
            value: s.into(),
            hint: hint_for(s),
        });
    }
    if rest.contains('?') {
        return Err(IssuerError::Query {
            value: s.into(),
            hint: hint_for(s),
        });
    }
    let authority_len = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_len);
    if authority.contains('@') {
        return Err(IssuerError::UserInfo {
            value: s.into(),
            hint: hint_for(s),
        });
    }
    let host = split_port(authority).map_err(|()| IssuerError::Port {
        value: s.into(),
        hint: hint_for(s),
    })?;
    if host.is_empty() {
        return Err(IssuerError::MissingHost { value: s.into() });
    }
    if host.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(IssuerError::NotLowercase {
            value: s.into(),
            hint: hint_for(s),
        });
    }
    check_host(host).map_err(|reason| IssuerError::InvalidHost {
        value: s.into(),
        reason,
    })?;
    if path.ends_with('/') {
        return Err(IssuerError::TrailingSlash {
            value: s.into(),
            suggestion: s.trim_end_matches('/').to_string(),
        });
    }
    check_path(path).map_err(|reason| IssuerError::InvalidPath {
        value: s.into(),
        reason,
    })?;
    Ok(IssuerUrl {
        url: s.to_string(),
        host_end: SCHEME.len() + host.len(),
    })
}

impl IssuerUrl {
    /// The issuer exactly as given (and as it must appear in `iss`).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The host (DNS name or IP address; IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.url[SCHEME.len()..self.host_end]
    }

    /// The path, `""` or like `"/cluster-a"`.
    pub fn path(&self) -> &str {
        &self.url[self.host_end..]
    }

    /// The issuer without `https://`: the form IAM uses in the OIDC provider
    /// ARN (`arn:aws:iam::<account>:oidc-provider/<host_path>`) and as the
    /// prefix of trust-policy condition keys (`<host_path>:sub`, `<host_path>:aud`).
    pub fn host_path(&self) -> &str {
        &self.url[SCHEME.len()..]
    }

    /// Whether the host is an IP address rather than a DNS name.
    pub fn is_ip_host(&self) -> bool {
        let host = self.host();
        host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok()
    }

    /// `<issuer>/openid/v1/jwks`, where this provider publishes the key set.
    pub fn jwks_uri(&self) -> String {
        format!("{}{JWKS_PATH}", self.url)
    }

    /// `<issuer>/.well-known/openid-configuration`, where STS looks first.
    pub fn discovery_url(&self) -> String {
        format!("{}{DISCOVERY_PATH}", self.url)
    }

    /// Warnings for issuers that are valid but unlikely to work with STS
    /// (an IP address or a host without a domain).
    pub fn findings(&self) -> Vec<Finding> {
        let host = self.host();
        let mut out = Vec::new();
        if self.is_ip_host() {
            out.push(Finding {
                kid: None,
                summary: format!("The issuer host {host} is an IP address"),
                detail: format!(
                    "AWS STS must fetch {} over HTTPS with a certificate it trusts, and IAM OIDC \
                     providers are meant for DNS names; certificates for IP addresses are rarely \
                     available. Use a DNS name for the issuer.",
                    self.discovery_url()
                ),
            });
        } else if !host.contains('.') {
            out.push(Finding {
                kid: None,
                summary: format!("The issuer host \"{host}\" has no domain"),
                detail: format!(
                    "AWS STS fetches {} from the internet; a single-label host name cannot be \
                     resolved in public DNS. Use a fully qualified domain name.",
                    self.discovery_url()
                ),
            });
        }
        out
    }
}

impl fmt::Display for IssuerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl AsRef<str> for IssuerUrl {
    fn as_ref(&self) -> &str {
        &self.url
    }
}

impl FromStr for IssuerUrl {
    type Err = IssuerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        validate_issuer_url(s)
    }
}

/// Whether two issuers are the same issuer: plain string equality, exactly
/// as STS compares `iss` with the IAM OIDC provider URL (no normalization
/// of case, trailing slash, or default port).
pub fn issuers_equal(a: &str, b: &str) -> bool {
    a == b
}

/// The message for a cluster whose issuer (`cluster`, from kube-apiserver's
/// `--service-account-issuer`, its discovery document or a token's `iss`)
/// differs from the issuer published for AWS (`published`). `None` when
/// they are equal.
pub fn issuer_mismatch_message(published: &str, cluster: &str) -> Option<String> {
    if issuers_equal(published, cluster) {
        return None;
    }
    let specific = if published.trim_end_matches('/') == cluster.trim_end_matches('/') {
        format!(
            " The only difference is a trailing slash: \"{cluster}\" and \"{published}\" are \
             different issuers."
        )
    } else if published.eq_ignore_ascii_case(cluster) {
        " The only difference is upper/lower case: issuers are compared case-sensitively."
            .to_string()
    } else {
        String::new()
    };
    Some(format!(
        "The cluster's service account issuer \"{cluster}\" is not the issuer \"{published}\" \
         published for AWS IAM. STS compares the iss claim of every token with the IAM OIDC \
         provider URL character by character, so it would refuse this cluster's tokens.{specific} \
         Change the kube-apiserver flag --service-account-issuer to \"{published}\". To keep \
         already-issued tokens valid meanwhile, give the new value as the first \
         --service-account-issuer flag and the old one as a second flag (the first signs new \
         tokens, all are accepted) until the old tokens have expired."
    ))
}

/// Split `host[:port]` (IPv6 in brackets). `Err` if any port (even empty or 443) is present.
fn split_port(authority: &str) -> Result<&str, ()> {
    if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) if end + 1 == authority.len() => Ok(authority),
            Some(end) if authority[end + 1..].starts_with(':') => Err(()),
            // Garbage after the bracket: let host checking report it.
            _ => Ok(authority),
        }
    } else if authority.contains(':') {
        Err(())
    } else {
        Ok(authority)
    }
}

/// Check a lowercase host: IPv6 in brackets, IPv4, or a DNS name.
fn check_host(host: &str) -> Result<(), String> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| "an IPv6 address must be enclosed in [ ]".to_string())?;
        return inner
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("\"{inner}\" is not an IPv6 address"));
    }
    if !host.is_ascii() {
        return Err(format!(
            "\"{host}\" contains non-ASCII characters; use the punycode form (\"xn--...\") of the domain"
        ));
    }
    if host.ends_with('.') {
        return Err(format!(
            "\"{host}\" ends with a dot; write the host without the trailing dot"
        ));
    }
    if host.len() > 253 {
        return Err("a DNS name may have at most 253 characters".into());
    }
    let last = host.rsplit('.').next().unwrap_or(host);
    if !last.is_empty() && last.chars().all(|c| c.is_ascii_digit()) {
        // Looks numeric: must then be a valid IPv4 address.
        return host
            .parse::<Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| format!("\"{host}\" is neither a valid IPv4 address nor a DNS name"));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err(format!("\"{host}\" has an empty label (\"..\")"));
        }
        if label.len() > 63 {
            return Err("a DNS label may have at most 63 characters".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!(
                "the character '{c}' is not allowed in a host name (letters, digits and '-' only)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "the label \"{label}\" must not start or end with '-'"
            ));
        }
    }
    Ok(())
}

/// Check a path: empty, or `/segment(/segment)*` with conservative characters.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Ok(());
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err("it contains an empty segment (\"//\")".into());
        }
        if segment == "." || segment == ".." {
            return Err(format!("it contains the segment \"{segment}\""));
        }
        if let Some(c) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')))
        {
            return Err(format!(
                "the character '{c}' is not allowed; use letters, digits, '-', '.', '_' and '~' \
                 (percent-encoding is not accepted because the path becomes part of the \
                 published object keys and of IAM condition keys)"
            ));
        }
    }
    Ok(())
}

/// A sentence proposing the obviously corrected issuer, or `""` if the
/// corrected form is not valid either.
fn hint_for(s: &str) -> String {
    let mut v: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    if let Some(i) = v.find('#') {
        v.truncate(i);
    }
    if let Some(i) = v.find('?') {
        v.truncate(i);
    }
    let rest = match v.find("://") {
        Some(i) if v[..i].eq_ignore_ascii_case("https") || v[..i].eq_ignore_ascii_case("http") => {
            v[i + 3..].to_string()
        }
        Some(_) => return String::new(),
        None => v.clone(),
    };
    let authority_len = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_len);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        }
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    let fixed = format!(
        "{SCHEME}{}{}",
        host.to_ascii_lowercase(),
        path.trim_end_matches('/')
    );
    if fixed != s && validate_issuer_url(&fixed).is_ok() {
        format!(" Use \"{fixed}\".")
    } else {
        String::new()
    }
}

fn visible(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_path_issuers() {
        let i = validate_issuer_url("https://oidc.example.com").unwrap();
        assert_eq!(i.as_str(), "https://oidc.example.com");
        assert_eq!(i.host(), "oidc.example.com");
        assert_eq!(i.path(), "");
        assert_eq!(i.host_path(), "oidc.example.com");
        assert_eq!(i.jwks_uri(), "https://oidc.example.com/openid/v1/jwks");
        assert_eq!(
            i.discovery_url(),
            "https://oidc.example.com/.well-known/openid-configuration"
        );
        assert!(i.findings().is_empty());

        let i = validate_issuer_url("https://s3.eu-west-1.amazonaws.com/my-bucket_1/cluster.a~b")
            .unwrap();
        assert_eq!(i.host(), "s3.eu-west-1.amazonaws.com");
        assert_eq!(i.path(), "/my-bucket_1/cluster.a~b");
        assert_eq!(
            i.host_path(),
            "s3.eu-west-1.amazonaws.com/my-bucket_1/cluster.a~b"
        );
        assert_eq!(i.to_string(), i.as_str());
        assert_eq!(
            "https://x.example".parse::<IssuerUrl>().unwrap().host(),
            "x.example"
        );
    }

    #[test]
    fn trailing_slash_explains_and_corrects() {
        let err = validate_issuer_url("https://oidc.example.com/").unwrap_err();
        assert_eq!(
            err,
            IssuerError::TrailingSlash {
                value: "https://oidc.example.com/".into(),
                suggestion: "https://oidc.example.com".into()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains(
            "\"https://oidc.example.com/\" and \"https://oidc.example.com\" are different issuers"
        ));
        assert!(msg.contains("use \"https://oidc.example.com\""), "{msg}");
        let err = validate_issuer_url("https://oidc.example.com/a/b/").unwrap_err();
        assert!(err
            .to_string()
            .contains("use \"https://oidc.example.com/a/b\""));
    }

    #[test]
    fn refuses_non_https() {
        let err = validate_issuer_url("http://oidc.example.com").unwrap_err();
        assert!(matches!(err, IssuerError::NotHttps { .. }));
        assert!(
            err.to_string()
                .contains("Use \"https://oidc.example.com\"."),
            "{err}"
        );
        let err = validate_issuer_url("oidc.example.com").unwrap_err();
        assert!(
            err.to_string()
                .contains("Use \"https://oidc.example.com\"."),
            "{err}"
        );
        assert!(matches!(
            validate_issuer_url("ftp://x.example"),
            Err(IssuerError::NotHttps { .. })
        ));
        let err = validate_issuer_url("HTTPS://x.example").unwrap_err();
        assert!(matches!(err, IssuerError::NotLowercase { .. }));
        assert!(
            err.to_string().contains("Use \"https://x.example\"."),
            "{err}"
        );
    }

    #[test]
    fn refuses_ports_including_443() {
        for s in [
            "https://x.example:443",
            "https://x.example:8443/p",
            "https://x.example:",
            "https://[::1]:443",
        ] {
            let err = validate_issuer_url(s).unwrap_err();
            assert!(matches!(err, IssuerError::Port { .. }), "{s}: {err:?}");
            assert!(err.to_string().contains("must not contain a port number"));
        }
        let err = validate_issuer_url("https://x.example:443/p").unwrap_err();
        assert!(
            err.to_string().contains("Use \"https://x.example/p\"."),
            "{err}"
        );
    }

    #[test]
    fn refuses_query_fragment_userinfo() {
        let err = validate_issuer_url("https://x.example/p?a=b").unwrap_err();
        assert!(matches!(err, IssuerError::Query { .. }));
        assert!(
            err.to_string().contains("Use \"https://x.example/p\"."),
            "{err}"
        );
        assert!(matches!(
            validate_issuer_url("https://x.example#f"),
            Err(IssuerError::Fragment { .. })
        ));
        assert!(matches!(
            validate_issuer_url("https://x.example?"),
            Err(IssuerError::Query { .. })
        ));
        let err = validate_issuer_url("https://user:pw@x.example").unwrap_err();
        assert!(matches!(err, IssuerError::UserInfo { .. }));
        assert!(
            err.to_string().contains("Use \"https://x.example\"."),
            "{err}"
        );
    }

    #[test]
    fn refuses_bad_hosts() {
        assert!(matches!(
            validate_issuer_url("https://"),
            Err(IssuerError::MissingHost { .. })
        ));
        assert!(matches!(
            validate_issuer_url("https:///p"),
            Err(IssuerError::MissingHost { .. })
        ));
        let err = validate_issuer_url("https://OIDC.Example.com/Path").unwrap_err();
        assert!(matches!(err, IssuerError::NotLowercase { .. }));
        // Path case is kept.
        assert!(
            err.to_string()
                .contains("Use \"https://oidc.example.com/Path\"."),
            "{err}"
        );
        for host in [
            "x.example.com.",
            "x..example",
            "-x.example",
            "x-.example",
            "x_y.example",
            "bücher.example",
            "256.1.1.1",
            "1.2.3",
            "a.123",
            "[::1",
            "[zz::1]",
        ] {
            let s = format!("https://{host}");
            assert!(
                matches!(
                    validate_issuer_url(&s),
                    Err(IssuerError::InvalidHost { .. })
                ),
                "{s}: {:?}",
                validate_issuer_url(&s)
            );
        }
        let long_label = format!("https://{}.example", "a".repeat(64));
        assert!(validate_issuer_url(&long_label).is_err());
    }

    #[test]
    fn ip_and_single_label_hosts_are_warned_about() {
        let v4 = validate_issuer_url("https://192.0.2.10").unwrap();
        assert!(v4.is_ip_host());
        assert_eq!(v4.findings().len(), 1);
        let v6 = validate_issuer_url("https://[2001:db8::1]/p").unwrap();
        assert!(v6.is_ip_host());
        assert_eq!(v6.host(), "[2001:db8::1]");
        assert_eq!(v6.findings().len(), 1);
        let single = validate_issuer_url("https://kubernetes").unwrap();
        assert!(!single.is_ip_host());
        assert!(single.findings()[0].summary.contains("no domain"));
    }

    #[test]
    fn refuses_bad_paths() {
        for s in [
            "https://x.example//a",
            "https://x.example/a//b",
            "https://x.example/./a",
            "https://x.example/a/..",
            "https://x.example/a%20b",
            "https://x.example/a b",
            "https://x.example/a:b",
        ] {
            assert!(validate_issuer_url(s).is_err(), "{s}");
        }
        assert!(matches!(
            validate_issuer_url("https://x.example/a%2Fb"),
            Err(IssuerError::InvalidPath { .. })
        ));
    }

    #[test]
    fn refuses_whitespace_and_length() {
        let err = validate_issuer_url(" https://x.example\n").unwrap_err();
        assert!(matches!(err, IssuerError::Whitespace { .. }));
        assert!(
            err.to_string().contains("Use \"https://x.example\"."),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'));
        assert_eq!(validate_issuer_url("").unwrap_err(), IssuerError::Empty);
        let long = format!("https://x.example/{}", "a".repeat(250));
        assert!(matches!(
            validate_issuer_url(&long),
            Err(IssuerError::TooLong { .. })
        ));
        let max = format!("https://x.example/{}", "a".repeat(MAX_ISSUER_LEN - 18));
        assert_eq!(max.len(), MAX_ISSUER_LEN);
        assert!(validate_issuer_url(&max).is_ok());
    }

    #[test]
    fn equality_is_exact() {
        assert!(issuers_equal("https://a.example", "https://a.example"));
        assert!(!issuers_equal("https://a.example/", "https://a.example"));
        assert!(!issuers_equal("https://A.example", "https://a.example"));
        assert!(issuer_mismatch_message("https://a.example", "https://a.example").is_none());
    }

    #[test]
    fn mismatch_message_for_trailing_slash() {
        let msg = issuer_mismatch_message("https://a.example", "https://a.example/").unwrap();
        assert!(msg.contains("\"https://a.example/\""), "{msg}");
        assert!(msg.contains("\"https://a.example\""), "{msg}");
        assert!(msg.contains("--service-account-issuer"), "{msg}");
        assert!(
            msg.contains("The only difference is a trailing slash"),
            "{msg}"
        );
        assert!(msg.contains("are different issuers"), "{msg}");
    }

    #[test]
    fn mismatch_message_generic_and_case() {
        let msg = issuer_mismatch_message(
            "https://oidc.example.com",
            "https://kubernetes.default.svc.cluster.local",
        )
        .unwrap();
        assert!(msg.contains("\"https://kubernetes.default.svc.cluster.local\""));
        assert!(msg.contains("Change the kube-apiserver flag --service-account-issuer to \"https://oidc.example.com\""));
        assert!(!msg.contains("trailing slash"));
        let msg = issuer_mismatch_message("https://a.example", "https://A.example").unwrap();
        assert!(msg.contains("case-sensitively"), "{msg}");
    }
}
