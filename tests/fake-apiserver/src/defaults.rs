//! Defaulting of pod templates as kube-apiserver does on every write
//! (`pkg/apis/core/v1/defaults.go`: SetDefaults_PodSpec, _Container,
//! _Probe, _HTTPGetAction, _ContainerPort, _SecretVolumeSource, ...), and
//! resource.Quantity canonicalisation (`0.5` -> `500m`, `1024Mi` -> `1Gi`).

use serde_json::{json, Value};

fn set_default(map: &mut Value, key: &str, value: Value) {
    if let Some(m) = map.as_object_mut() {
        if m.get(key).is_none_or(Value::is_null) {
            m.insert(key.to_string(), value);
        }
    }
}

/// `Always` for `:latest` or no tag (and no digest), else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn probe(p: &mut Value) {
    if !p.is_object() {
        return;
    }
    set_default(p, "timeoutSeconds", json!(1));
    set_default(p, "periodSeconds", json!(10));
    set_default(p, "successThreshold", json!(1));
    set_default(p, "failureThreshold", json!(3));
    if p["httpGet"].is_object() {
        set_default(&mut p["httpGet"], "path", json!("/"));
        set_default(&mut p["httpGet"], "scheme", json!("HTTP"));
    }
}

fn container(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    let image = c["image"].as_str().unwrap_or("").to_string();
    set_default(c, "imagePullPolicy", json!(pull_policy(&image)));
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    set_default(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            set_default(p, "protocol", json!("TCP"));
        }
    }
    for pr in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(pr) {
            probe(p);
        }
    }
    // `get_mut`, not `c["env"]`: IndexMut would insert `"env": null`, which
    // a real API server never stores (and the next write would see).
    if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
        for e in env {
            if e["valueFrom"]["fieldRef"].is_object() {
                set_default(&mut e["valueFrom"]["fieldRef"], "apiVersion", json!("v1"));
            }
        }
    }
    for kind in ["limits", "requests"] {
        if let Some(list) = c
            .get_mut("resources")
            .and_then(|r| r.get_mut(kind))
            .and_then(Value::as_object_mut)
        {
            for (_, q) in list.iter_mut() {
                if let Some(s) = q.as_str() {
                    if let Some(canon) = canonical_quantity(s) {
                        *q = json!(canon);
                    }
                }
            }
        }
    }
}

/// SetDefaults_PodSpec and what it reaches.
pub(crate) fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            cs.iter_mut().for_each(container);
        }
    }
    if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in vols {
            for (src, field) in [
                ("secret", "defaultMode"),
                ("configMap", "defaultMode"),
                ("projected", "defaultMode"),
                ("downwardAPI", "defaultMode"),
            ] {
                if v[src].is_object() {
                    set_default(&mut v[src], field, json!(420));
                }
            }
            if let Some(sources) = v
                .get_mut("projected")
                .and_then(|p| p.get_mut("sources"))
                .and_then(Value::as_array_mut)
            {
                for s in sources {
                    if s["serviceAccountToken"].is_object() {
                        set_default(
                            &mut s["serviceAccountToken"],
                            "expirationSeconds",
                            json!(3600),
                        );
                    }
                }
            }
        }
    }
}

/// resource.Quantity in canonical form, or None if `s` is not a quantity.
/// Values are kept to nano precision (rounded up), printed with the
/// largest suffix that keeps the number whole: binary suffixes stay binary
/// while the value is whole bytes, decimal ones use multiples of 10^3.
pub fn canonical_quantity(s: &str) -> Option<String> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(split);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    // value = digits * 10^-frac_len, in nanos.
    let digits: i128 = format!("{int_part}{frac_part}").parse().ok()?;
    let frac_len = frac_part.len() as u32;
    let (binary, mult_num, exp10): (bool, i128, i32) = match suffix {
        "Ki" => (true, 1 << 10, 0),
        "Mi" => (true, 1 << 20, 0),
        "Gi" => (true, 1 << 30, 0),
        "Ti" => (true, 1 << 40, 0),
        "Pi" => (true, 1 << 50, 0),
        "Ei" => (true, 1 << 60, 0),
        "n" => (false, 1, -9),
        "u" => (false, 1, -6),
        "m" => (false, 1, -3),
        "" => (false, 1, 0),
        "k" => (false, 1, 3),
        "M" => (false, 1, 6),
        "G" => (false, 1, 9),
        "T" => (false, 1, 12),
        "P" => (false, 1, 15),
        "E" => (false, 1, 18),
        _ => return None,
    };
    // nanos = digits * mult * 10^(exp10 + 9 - frac_len), rounded up.
    let e = exp10 + 9 - frac_len as i32;
    let base = digits.checked_mul(mult_num)?;
    let nanos = if e >= 0 {
        base.checked_mul(10i128.checked_pow(e as u32)?)?
    } else {
        let d = 10i128.checked_pow((-e) as u32)?;
        (base + d - 1) / d
    };
    let sign = if neg && nanos != 0 { "-" } else { "" };
    const NANO: i128 = 1_000_000_000;
    if nanos == 0 {
        return Some("0".into());
    }
    if binary && nanos % NANO == 0 {
        let bytes = nanos / NANO;
        let mut k = 0;
        let mut v = bytes;
        while k < 6 && v % 1024 == 0 && v >= 1024 {
            v /= 1024;
            k += 1;
        }
        let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k];
        return Some(format!("{sign}{v}{suffix}"));
    }
    let suffixes = [
        (27, "E"),
        (24, "P"),
        (21, "T"),
        (18, "G"),
        (15, "M"),
        (12, "k"),
        (9, ""),
        (6, "m"),
        (3, "u"),
        (0, "n"),
    ];
    for (p, suf) in suffixes {
        let d = 10i128.pow(p);
        if nanos % d == 0 {
            return Some(format!("{sign}{}{suf}", nanos / d));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_canonical() {
        for (i, o) in [
            ("0.5", "500m"),
            ("1000m", "1"),
            ("1.5", "1500m"),
            ("100m", "100m"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("128974848", "128974848"),
            ("64Mi", "64Mi"),
            ("0.5Gi", "512Mi"),
            ("1k", "1k"),
            ("1000", "1k"),
            ("2000Ki", "2000Ki"),
            ("0", "0"),
            ("0.0001", "100u"),
            ("50m", "50m"),
        ] {
            assert_eq!(canonical_quantity(i).as_deref(), Some(o), "{i}");
        }
        assert_eq!(canonical_quantity("abc"), None);
        assert_eq!(canonical_quantity("1Xi"), None);
    }

    #[test]
    fn pod_spec_defaults() {
        let mut s = json!({"containers": [{"name": "c", "image": "repo/x:v1",
            "ports": [{"containerPort": 8443}],
            "readinessProbe": {"httpGet": {"port": 8443, "path": "/healthz"}},
            "resources": {"requests": {"cpu": "0.05", "memory": "64Mi"}}},
            {"name": "d", "image": "repo/y"}],
            "volumes": [{"name": "cert", "secret": {"secretName": "s"}}]});
        pod_spec(&mut s);
        let c = &s["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(s["containers"][1]["imagePullPolicy"], "Always");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTP");
        assert_eq!(c["readinessProbe"]["timeoutSeconds"], 1);
        assert_eq!(c["resources"]["requests"]["cpu"], "50m");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(s["volumes"][0]["secret"]["defaultMode"], 420);
        assert_eq!(
            (
                s["dnsPolicy"].as_str(),
                s["restartPolicy"].as_str(),
                s["schedulerName"].as_str()
            ),
            (
                Some("ClusterFirst"),
                Some("Always"),
                Some("default-scheduler")
            )
        );
        assert_eq!(s["securityContext"], json!({}));
        assert_eq!(s["terminationGracePeriodSeconds"], 30);
    }

    /// Defaulting adds only what the API server adds: no `null` members
    /// (`env`, `ports`, `initContainers`, `projected`) and nothing more on
    /// a second pass, so a write that leaves the template alone (a merge
    /// patch of metadata) does not change the pod-template-hash.
    #[test]
    fn pod_spec_defaults_add_no_nulls_and_are_idempotent() {
        let mut s = json!({"containers": [{"name": "c", "image": "repo/x:v1"}],
            "volumes": [{"name": "cert", "secret": {"secretName": "s"}}]});
        pod_spec(&mut s);
        let once = s.clone();
        assert!(!once.to_string().contains("null"), "{once}");
        assert!(once["volumes"][0].get("projected").is_none(), "{once}");
        assert!(once["containers"][0].get("env").is_none(), "{once}");
        assert!(once["containers"][0].get("ports").is_none(), "{once}");
        assert!(once.get("initContainers").is_none(), "{once}");
        pod_spec(&mut s);
        assert_eq!(s, once);
    }
}
