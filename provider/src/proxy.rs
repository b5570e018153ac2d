//! Which requests go through the proxy the environment names. Decided as
//! Go's HTTP clients decide (golang.org/x/net/http/httpproxy, used by
//! kubectl, client-go, Terraform and the hashicorp providers): never for
//! `localhost` or a loopback address (kind, k3d, an SSH tunnel to
//! `https://127.0.0.1:6443`), else unless `NO_PROXY` excludes the host.

use hyper_util::client::proxy::matcher::{Intercept, Matcher};

/// `localhost`, or an IP address in 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The environment's proxy settings with Go's loopback rule on top.
pub struct ProxyRules(Matcher);

impl ProxyRules {
    /// `HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`, `ALL_PROXY` and
    /// `NO_PROXY`/`no_proxy` of this process.
    pub fn from_env() -> ProxyRules {
        ProxyRules(Matcher::from_env())
    }

    pub fn new(matcher: Matcher) -> ProxyRules {
        ProxyRules(matcher)
    }

    /// The proxy to reach `uri` through; `None` to connect directly.
    pub fn intercept(&self, uri: &http::Uri) -> Option<Intercept> {
        if uri.host().is_some_and(is_loopback) {
            return None;
        }
        self.0.intercept(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(no_proxy: &str) -> ProxyRules {
        ProxyRules::new(
            Matcher::builder()
                .https("http://proxy.example:3128")
                .no(no_proxy)
                .build(),
        )
    }

    #[test]
    fn loopback_is_never_proxied_and_no_proxy_still_applies() {
        let r = rules("corp.example, 10.0.0.0/8");
        let direct = |u: &str| r.intercept(&u.parse().unwrap()).is_none();
        for u in [
            "https://127.0.0.1:6443",
            "https://127.1.2.3:6443",
            "https://[::1]:6443",
            "https://localhost:6443",
            "https://LOCALHOST",
            "https://api.corp.example",
            "https://10.1.2.3:6443",
        ] {
            assert!(direct(u), "{u} goes direct");
        }
        for u in [
            "https://k8s.example.com:6443",
            "https://192.168.1.10:6443",
            "https://localhost.example.com",
        ] {
            assert!(!direct(u), "{u} goes through the proxy");
        }
        assert!(is_loopback("127.0.0.1") && is_loopback("[::1]") && !is_loopback("128.0.0.1"));
    }
}
