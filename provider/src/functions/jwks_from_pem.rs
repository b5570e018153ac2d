//! `provider::irsa::jwks_from_pem(public_keys_pem)`: the JWKS of the data
//! source `irsa_jwks` computed from PEM keys, as an expression, on the data
//! source's own checks.

use tfplugin::{Diagnostics, Function, Json, Model, Tf};

use crate::data_sources::jwks::{check_public_keys, jwks_from_pem};

/// The JSON Web Key Set of PEM public keys, exactly as `data.irsa_jwks` computes it from `public_keys_pem`
/// (and as kube-apiserver publishes it): compact JSON, keys sorted by `kid`, `kid` the base64url SHA-256 of the
/// key's DER SubjectPublicKeyInfo.
#[derive(Model, Debug)]
pub struct JwksFromPemArgs {
    /// PEM public keys (PKIX `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`, or a `CERTIFICATE`), e.g. `[file("sa.pub")]`:
    /// the files given to kube-apiserver's `--service-account-key-file`. One string may hold several blocks. An
    /// empty list, a malformed block or a private key is an error naming the list element; the key material is
    /// never repeated in the message.
    #[tf(required)]
    pub public_keys_pem: Tf<Vec<Tf<String>>>,
}

pub struct JwksFromPemFunction;

impl Function for JwksFromPemFunction {
    const NAME: &'static str = "jwks_from_pem";
    const SUMMARY: &'static str = "The JWKS of PEM public keys, as irsa_jwks computes it";
    type Args = JwksFromPemArgs;
    type Return = Json;

    fn call(&self, args: JwksFromPemArgs) -> Result<Json, Diagnostics> {
        let d = check_public_keys(&args.public_keys_pem, "");
        if d.has_errors() {
            return Err(d);
        }
        let items = args.public_keys_pem.known_items().unwrap_or_default();
        let (jwks, _warnings) = jwks_from_pem(&items)?;
        Json::parse(jwks.canonical_json()).map_err(|e| {
            tfplugin::Diagnostic::error("Cannot encode the JWKS", e.to_string()).into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Value;

    const PEM: &str = include_str!("../oidc/testdata/rsa2048.pub.pem");

    #[test]
    fn same_jwks_as_the_data_source() {
        let h = tfplugin::function::handler(JwksFromPemFunction);
        let v = h.call(vec![Value::string_list([PEM])]).unwrap();
        let (jwks, _) = jwks_from_pem(&[PEM.to_string()]).unwrap();
        assert_eq!(v.as_str().unwrap(), jwks.canonical_json());
    }

    #[test]
    fn bad_keys_are_refused_naming_the_element_without_echoing_them() {
        let h = tfplugin::function::handler(JwksFromPemFunction);
        let body = "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu";
        let private =
            format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n");
        let e = h
            .call(vec![Value::string_list([PEM, private.as_str()])])
            .unwrap_err();
        assert_eq!(e.argument, Some(0));
        assert!(e.text.starts_with("element 1: Invalid public key"), "{e:?}");
        assert!(!e.text.contains(body));
        let e = h.call(vec![Value::List(vec![])]).unwrap_err();
        assert_eq!(e.argument, Some(0));
        assert!(e.text.contains("No public keys"), "{e:?}");
    }
}
