//! A site serves OIDC documents: a bucket and, with CloudFront hosting, an
//! Origin Access Control, an ACM certificate, a distribution and DNS
//! records. A standalone `irsa_oidc_issuer` has a site of its own; an
//! `irsa_issuer_host` is a site that issuers share. Both resources carry
//! the site's attributes under the same names, and [`SiteState`] is those
//! attributes: each lifecycle file (`plan`, `create`, `refresh`, `update`,
//! `delete`) has the site's share of its step over a `SiteState`, which
//! both resources call, so a host and an issuer are planned, made,
//! refreshed, repaired and removed alike.

use std::collections::BTreeMap;

use tfplugin::Tf;

use super::model::{Hosting, PriceClass, TtlModel};

/// What refresh records in a settings map for a part found gone.
pub(crate) const MISSING: &str = "missing";

/// The site's attributes, as both resources name them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SiteState {
    pub hosting: Tf<Hosting>,
    pub domain: Tf<String>,
    pub route53_zone_id: Tf<String>,
    pub price_class: Tf<PriceClass>,
    pub cache_ttl: Tf<TtlModel>,
    pub tags: Tf<BTreeMap<String, Tf<String>>>,
    pub force_destroy: Tf<bool>,
    pub wait_for_deployment: Tf<bool>,
    pub bucket: Tf<String>,
    pub region: Tf<String>,
    pub distribution_id: Tf<String>,
    pub distribution_domain_name: Tf<String>,
    pub certificate_arn: Tf<String>,
    pub origin_access_control_id: Tf<String>,
    pub dns_records: Tf<BTreeMap<String, String>>,
    pub distribution_settings: Tf<BTreeMap<String, String>>,
    pub bucket_settings: Tf<BTreeMap<String, String>>,
}

/// A resource model that has the site's attributes.
pub(crate) trait SiteModel {
    fn site_state(&self) -> SiteState;
    fn set_site_state(&mut self, site: SiteState);
    /// Runs `f` over the model's site attributes.
    fn with_site<R>(&mut self, f: impl FnOnce(&mut SiteState) -> R) -> R {
        let mut s = self.site_state();
        let r = f(&mut s);
        self.set_site_state(s);
        r
    }
}

/// Implements [`SiteModel`] for a model whose fields have the site's names.
macro_rules! site_model {
    ($model:ty) => {
        impl $crate::resources::oidc_issuer::site::SiteModel for $model {
            fn site_state(&self) -> $crate::resources::oidc_issuer::site::SiteState {
                $crate::resources::oidc_issuer::site::SiteState {
                    hosting: self.hosting.clone(),
                    domain: self.domain.clone(),
                    route53_zone_id: self.route53_zone_id.clone(),
                    price_class: self.price_class.clone(),
                    cache_ttl: self.cache_ttl.clone(),
                    tags: self.tags.clone(),
                    force_destroy: self.force_destroy.clone(),
                    wait_for_deployment: self.wait_for_deployment.clone(),
                    bucket: self.bucket.clone(),
                    region: self.region.clone(),
                    distribution_id: self.distribution_id.clone(),
                    distribution_domain_name: self.distribution_domain_name.clone(),
                    certificate_arn: self.certificate_arn.clone(),
                    origin_access_control_id: self.origin_access_control_id.clone(),
                    dns_records: self.dns_records.clone(),
                    distribution_settings: self.distribution_settings.clone(),
                    bucket_settings: self.bucket_settings.clone(),
                }
            }
            fn set_site_state(&mut self, s: $crate::resources::oidc_issuer::site::SiteState) {
                self.hosting = s.hosting;
                self.domain = s.domain;
                self.route53_zone_id = s.route53_zone_id;
                self.price_class = s.price_class;
                self.cache_ttl = s.cache_ttl;
                self.tags = s.tags;
                self.force_destroy = s.force_destroy;
                self.wait_for_deployment = s.wait_for_deployment;
                self.bucket = s.bucket;
                self.region = s.region;
                self.distribution_id = s.distribution_id;
                self.distribution_domain_name = s.distribution_domain_name;
                self.certificate_arn = s.certificate_arn;
                self.origin_access_control_id = s.origin_access_control_id;
                self.dns_records = s.dns_records;
                self.distribution_settings = s.distribution_settings;
                self.bucket_settings = s.bucket_settings;
            }
        }
    };
}
pub(crate) use site_model;

impl SiteState {
    /// The hosting a state or plan names.
    pub fn hosting_mode(&self) -> Hosting {
        self.hosting.known().copied().unwrap_or(Hosting::CloudFront)
    }

    /// Refresh found the distribution gone (the bucket still there).
    pub fn distribution_missing(&self) -> bool {
        says_missing(&self.distribution_settings, "distribution")
    }

    /// Refresh found the bucket gone (the distribution still there).
    pub fn bucket_missing(&self) -> bool {
        says_missing(&self.bucket_settings, "bucket")
    }

    /// The CloudFront-only parts are null with S3 hosting.
    pub fn clear_cloudfront(&mut self) {
        self.distribution_id = Tf::Null;
        self.distribution_domain_name = Tf::Null;
        self.certificate_arn = Tf::Null;
        self.origin_access_control_id = Tf::Null;
        self.dns_records = Tf::Null;
        self.distribution_settings = Tf::Null;
    }

    /// The Origin Access Control and certificate the distribution is built with.
    pub fn origin_and_certificate(&self) -> (String, String) {
        let text = |v: &Tf<String>| v.as_deref().unwrap_or_default().to_string();
        (
            text(&self.origin_access_control_id),
            text(&self.certificate_arn),
        )
    }
}

fn says_missing(settings: &Tf<BTreeMap<String, String>>, part: &str) -> bool {
    settings
        .known()
        .and_then(|m| m.get(part))
        .is_some_and(|v| v == MISSING)
}

/// A settings map that says the part is gone.
pub(crate) fn missing(part: &str) -> Tf<BTreeMap<String, String>> {
    Tf::Known(BTreeMap::from([(part.to_string(), MISSING.to_string())]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_refresh_found_gone_is_told_apart() {
        let mut s = SiteState {
            distribution_settings: missing("distribution"),
            bucket_settings: Tf::Known(BTreeMap::from([("versioning".into(), "Enabled".into())])),
            ..SiteState::default()
        };
        assert!(s.distribution_missing() && !s.bucket_missing());
        s.clear_cloudfront();
        assert!(s.distribution_settings.is_null() && !s.distribution_missing());
        assert_eq!(
            s.hosting_mode(),
            Hosting::CloudFront,
            "unknown counts as CloudFront"
        );
    }
}
