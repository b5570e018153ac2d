//! Timestamps in state: RFC 3339 in UTC, whole seconds, the form Terraform's
//! own `timestamp()` writes, so every time attribute reads the same.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn whole_seconds_round_trip() {
        let t = datetime!(2026-01-01 12:00:00.7 UTC);
        assert_eq!(rfc3339(t), "2026-01-01T12:00:00Z");
        assert_eq!(
            parse("2026-01-01T12:00:00Z"),
            Some(datetime!(2026-01-01 12:00:00 UTC))
        );
        assert_eq!(parse("yesterday"), None);
    }
}
