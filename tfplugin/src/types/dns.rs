//! DNS names as Kubernetes validates object names (apimachinery
//! `validation.IsDNS1123Label`, `IsDNS1035Label`, `IsDNS1123Subdomain`) and
//! as host names are written: lowercase letters, digits and `-`, each label
//! 1 to 63 characters, starting and ending alphanumeric.

use super::checked_string;

/// RFC 1123 label: 1-63 of `[a-z0-9-]`, starting and ending alphanumeric.
pub fn check_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty; a DNS label has 1 to 63 characters.".into());
    }
    if s.len() > 63 {
        return Err(format!(
            "{s:?} has {} characters; a DNS label has at most 63.",
            s.len()
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "{s:?} is not a DNS label: only lowercase letters, digits and `-` are allowed."
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(format!(
            "{s:?} is not a DNS label: it must start and end with a letter or digit."
        ));
    }
    Ok(())
}

/// RFC 1035 label (a Service name): an RFC 1123 label that starts with a letter.
pub fn check_1035_label(s: &str) -> Result<(), String> {
    check_label(s)?;
    if !s.as_bytes()[0].is_ascii_lowercase() {
        return Err(format!(
            "{s:?} must start with a letter (it names a Service, an RFC 1035 label)."
        ));
    }
    Ok(())
}

/// RFC 1123 subdomain: at most 253 characters of dot-separated labels.
pub fn check_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!(
            "{s:?} has {} characters; a DNS subdomain has at most 253.",
            s.len()
        ));
    }
    for label in s.split('.') {
        check_label(label).map_err(|why| format!("in {s:?}: {why}"))?;
    }
    Ok(())
}

checked_string!(
    /// An RFC 1123 DNS label, e.g. a namespace name.
    DnsLabel,
    None,
    check_label
);

checked_string!(
    /// An RFC 1035 DNS label: names that become Service names.
    Dns1035Label,
    None,
    check_1035_label
);

checked_string!(
    /// An RFC 1123 DNS subdomain, e.g. `eks.amazonaws.com`.
    DnsSubdomain,
    None,
    check_subdomain
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for ok in ["a", "kube-system", "0abc", &"a".repeat(63)] {
            assert!(check_label(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(check_label(bad).is_err(), "{bad}");
        }
        assert!(check_1035_label("webhook-1").is_ok());
        assert!(check_1035_label("1-webhook").is_err());
        assert!(check_1035_label(&format!("w{}", "a".repeat(62))).is_ok());
    }

    #[test]
    fn subdomains() {
        assert!(check_subdomain("eks.amazonaws.com").is_ok());
        assert!(check_subdomain("a").is_ok());
        for bad in ["", "a..b", ".a", "a.", "A.b", &"a.".repeat(127)] {
            assert!(check_subdomain(bad).is_err(), "{bad}");
        }
        let long = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(long.len(), 253);
        assert!(check_subdomain(&long).is_ok());
        assert!(check_subdomain(&format!("{long}e")).is_err());
    }

    #[test]
    fn the_types_refuse_bad_names() {
        assert_eq!(
            DnsLabel::parse("kube-system").unwrap().as_str(),
            "kube-system"
        );
        assert!(DnsLabel::parse("Kube_System").is_err());
        assert!(Dns1035Label::parse("1-webhook").is_err());
        assert!(DnsSubdomain::parse("eks.amazonaws.com").is_ok());
    }
}
