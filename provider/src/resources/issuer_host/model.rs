//! `irsa_issuer_host`: the typed model (the schema comes from it). The
//! site's attributes have the names, defaults and rules of a standalone
//! `irsa_oidc_issuer`'s, and one lifecycle serves both (`oidc_issuer::site`).

use std::collections::BTreeMap;

use crate::resources::oidc_issuer::model::{
    domain, issuer_name, ttl, zone_id, Hosting, PriceClass, Site, TtlModel,
};
use crate::resources::oidc_issuer::site::{site_model, SiteModel};
use tfplugin::timeouts::Timeouts;
use tfplugin::{Diagnostics, Model, Tf};

pub const TYPE_NAME: &str = "irsa_issuer_host";

/// A host that many clusters' issuers share, as EKS serves `https://oidc.eks.<region>.amazonaws.com/id/<id>`: one
/// bucket and, with CloudFront hosting, one certificate, distribution and set of DNS records, made once. Each
/// `irsa_oidc_issuer` with `host` set publishes below its own path (`https://<domain>/<path>`) and has its own IAM
/// OIDC provider; adding one takes seconds and makes no CloudFront, ACM or Route53 write. The distribution caches no
/// error response (a path asked for before its issuer existed is not served as a stale 404).
///
/// A host with issuers on it cannot be destroyed: destroy the issuers first. Import with the `name`:
/// `terraform import irsa_issuer_host.this <name>`.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct HostModel {
    // Required
    /// Names the bucket (`<name>-oidc-<account id>`), the Origin Access Control (`<name>-irsa`) and the tag `irsa:name`.
    /// Lowercase letters, digits and hyphens, at most 45 characters. Changing it replaces the host.
    #[tf(required, replace, validate = issuer_name)]
    pub name: Tf<String>,

    // Optional
    /// `cloudfront` or `s3`. Default: `"cloudfront"`. Changing it replaces the host.
    #[tf(optional, computed, replace, keep)]
    pub hosting: Tf<Hosting>,
    /// CloudFront hosting: the host name issuers are served under (`https://<domain>/<path>`). Lowercase, no scheme,
    /// no trailing dot, at most 64 characters (ACM's limit for a certificate's domain name). Changing it replaces the
    /// host.
    #[tf(optional, replace, validate = domain)]
    pub domain: Tf<String>,
    /// CloudFront hosting: the public hosted zone that contains `domain`; the alias and certificate validation records go there.
    #[tf(optional, replace, validate = zone_id)]
    pub route53_zone_id: Tf<String>,
    /// CloudFront hosting: `PriceClass_100`, `PriceClass_200` or `PriceClass_All`. Default: `"PriceClass_100"` with
    /// CloudFront hosting, null with S3 hosting.
    #[tf(optional, computed)]
    pub price_class: Tf<PriceClass>,
    /// CloudFront TTLs in seconds, `{ min, default, max }`; issuers made on the host publish with
    /// `Cache-Control: public, max-age=<default>`. Default: `{ min = 0, default = 3600, max = 86400 }`.
    #[tf(optional, computed, keep, validate = ttl)]
    pub cache_ttl: Tf<TtlModel>,
    /// Delete the bucket on destroy even when it holds objects this provider did not write. Issuers' documents
    /// always refuse the destroy.
    #[tf(optional, computed, default = false)]
    pub force_destroy: Tf<bool>,
    /// Wait until CloudFront has deployed changes.
    #[tf(optional, computed, default = true)]
    pub wait_for_deployment: Tf<bool>,
    /// Tags for every AWS object of the host. Keys starting with `irsa:` are reserved for the provider's own tags, and
    /// `aws:` for AWS's. At most 50 per resource less the provider's own on the bucket (45 with CloudFront hosting,
    /// 46 with S3 hosting).
    #[tf(optional)]
    pub tags: Tf<BTreeMap<String, Tf<String>>>,

    // Computed
    /// The `name`: the value of an issuer's `host`.
    #[tf(computed, keep)]
    pub id: Tf<String>,
    /// `https://<domain>`, or the bucket's own HTTPS URL with S3 hosting: issuers are `<url>/<path>`.
    #[tf(computed, keep)]
    pub url: Tf<String>,
    /// The S3 bucket.
    #[tf(computed, keep)]
    pub bucket: Tf<String>,
    /// The bucket's region.
    #[tf(computed, keep)]
    pub region: Tf<String>,
    /// CloudFront distribution ID.
    #[tf(computed, keep)]
    pub distribution_id: Tf<String>,
    /// CloudFront distribution domain (`dxxxx.cloudfront.net`).
    #[tf(computed, keep)]
    pub distribution_domain_name: Tf<String>,
    /// ACM certificate (us-east-1).
    #[tf(computed, keep)]
    pub certificate_arn: Tf<String>,
    /// CloudFront Origin Access Control ID.
    #[tf(computed, keep)]
    pub origin_access_control_id: Tf<String>,
    /// The Route53 records this host owns (`"<type> <name>" => value`); drift shows here.
    #[tf(computed)]
    pub dns_records: Tf<BTreeMap<String, String>>,
    /// The CloudFront settings this host governs, `error_caching_min_ttl` among them; drift shows here.
    #[tf(computed)]
    pub distribution_settings: Tf<BTreeMap<String, String>>,
    /// The bucket settings this host governs (access block, encryption, versioning, policy digest); drift shows here.
    #[tf(computed)]
    pub bucket_settings: Tf<BTreeMap<String, String>>,

    /// How long each operation may take, as Go durations such as `45m`, `1h30m` or `1.5h`. ACM validation and
    /// CloudFront deployment dominate a create; a distribution must be disabled and deployed before it can be deleted.
    #[tf(timeouts(create = "60m", update = "60m", delete = "60m"))]
    pub timeouts: Tf<Timeouts>,
}

site_model!(HostModel);

pub fn schema() -> tfplugin::Schema {
    HostModel::schema(0)
}

/// Static checks across attributes; each attribute's own rules are on the field.
pub fn validate(config: &HostModel) -> Diagnostics {
    crate::resources::oidc_issuer::model::check_site(&config.site_state(), true)
}

impl HostModel {
    /// The site a plan or state describes (defaults in place).
    pub fn site(&self) -> Site {
        Site::of(
            self.name.as_deref().unwrap_or_default(),
            &self.site_state(),
            true,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::{Type, Value};

    fn validate_value(v: &Value) -> Diagnostics {
        match HostModel::decode(v) {
            Err(d) => d,
            Ok(m) => {
                let mut d = m.validate_fields();
                d.extend(validate(&m));
                d
            }
        }
    }

    fn obj(attrs: Vec<(&str, Value)>) -> Value {
        let Type::Object(names) = schema().block.value_type() else {
            unreachable!()
        };
        let mut m: BTreeMap<String, Value> =
            names.keys().map(|k| (k.clone(), Value::Null)).collect();
        for (k, v) in attrs {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter()
            .map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_host_is_checked_as_a_standalone_issuer_site() {
        let good = obj(vec![
            ("name", Value::string("platform")),
            ("domain", Value::string("oidc.platform.example.com")),
            ("route53_zone_id", Value::string("Z0123456789ABC")),
        ]);
        assert!(
            !validate_value(&good).has_errors(),
            "{:?}",
            validate_value(&good)
        );
        let no_zone = obj(vec![
            ("name", Value::string("platform")),
            ("domain", Value::string("oidc.platform.example.com")),
        ]);
        assert_eq!(
            paths(&validate_value(&no_zone)),
            vec!["route53_zone_id".to_string()]
        );
        let s3_with_domain = obj(vec![
            ("name", Value::string("platform")),
            ("hosting", Value::string("s3")),
            ("domain", Value::string("oidc.platform.example.com")),
        ]);
        assert_eq!(
            paths(&validate_value(&s3_with_domain)),
            vec!["domain".to_string()]
        );
        let bad_name = obj(vec![
            ("name", Value::string("Platform")),
            ("hosting", Value::string("s3")),
        ]);
        assert_eq!(paths(&validate_value(&bad_name)), vec!["name".to_string()]);
    }

    #[test]
    fn the_host_leaves_room_for_its_own_bucket_tags() {
        let tags: BTreeMap<String, Value> = (0..46)
            .map(|i| (format!("k{i}"), Value::string("v")))
            .collect();
        let s3 = obj(vec![
            ("name", Value::string("platform")),
            ("hosting", Value::string("s3")),
            ("tags", Value::Map(tags.clone())),
        ]);
        assert!(
            !validate_value(&s3).has_errors(),
            "46 fit beside irsa:name, hosting, role and cache-ttl"
        );
        let mut more = tags;
        more.insert("k46".into(), Value::string("v"));
        let s3 = obj(vec![
            ("name", Value::string("platform")),
            ("hosting", Value::string("s3")),
            ("tags", Value::Map(more)),
        ]);
        assert_eq!(paths(&validate_value(&s3)), vec!["tags".to_string()]);
    }
}
