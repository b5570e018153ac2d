//! Typed ephemeral resources (Terraform 1.10+, OpenTofu 1.11+): a value
//! made for one plan or apply (a token, a password) that Terraform keeps in
//! memory only, never in a plan or state file. A resource declares its model
//! and implements `open`; `renew` and `close` are optional. The framework
//! ([`handler`]) owns the rest:
//!
//! - validate: the model decodes (value types refuse bad values), the
//!   validators declared on its fields run, then
//!   [`EphemeralResource::validate`]: so bad input is refused at plan,
//!   naming the attribute, before any call;
//! - open: Terraform opens only a wholly known configuration; the framework
//!   checks it again, fills in the declared defaults (the result must agree
//!   with the configuration, as a plan does), then calls
//!   [`EphemeralResource::open`].

use std::time::SystemTime;

use async_trait::async_trait;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::framework::{EphemeralResourceHandler, OpenResponse, RenewResponse};
use crate::model::{Model, TfType};
use crate::resource::PrivateState;
use crate::schema::Schema;
use crate::value::Value;

/// What an open made: the configuration with its computed attributes set,
/// what renew and close need, and when to renew (if ever).
pub struct Opened<M, P> {
    pub result: M,
    pub private: P,
    pub renew_at: Option<SystemTime>,
    pub warnings: Diagnostics,
}

impl<M, P> Opened<M, P> {
    pub fn new(result: M, private: P) -> Opened<M, P> {
        Opened {
            result,
            private,
            renew_at: None,
            warnings: Diagnostics::default(),
        }
    }
}

/// What a renew did: new bookkeeping, and the next renewal (if any).
pub struct Renewed<P> {
    /// `None` keeps the bookkeeping as it was.
    pub private: Option<P>,
    pub renew_at: Option<SystemTime>,
}

#[async_trait]
pub trait EphemeralResource: Send + Sync + 'static {
    type Model: Model + Clone + Send + Sync + 'static;
    type Private: PrivateState;
    /// The ephemeral resource type name, e.g. `irsa_service_account_token`.
    const TYPE_NAME: &'static str;

    /// Rules that span several attributes; unknown values are skipped. No network.
    fn validate(&self, _config: &Self::Model) -> Diagnostics {
        Diagnostics::default()
    }

    /// Makes the value from a valid, wholly known configuration with its
    /// declared defaults filled in.
    async fn open(
        &self,
        ctx: &Ctx,
        config: Self::Model,
    ) -> Result<Opened<Self::Model, Self::Private>, Diagnostics>;

    /// Called at `renew_at` while Terraform still uses the value.
    async fn renew(
        &self,
        _ctx: &Ctx,
        _private: Option<Self::Private>,
    ) -> Result<Renewed<Self::Private>, Diagnostics> {
        Ok(Renewed {
            private: None,
            renew_at: None,
        })
    }

    /// Called when Terraform no longer needs the value.
    async fn close(&self, _ctx: &Ctx, _private: Option<Self::Private>) -> Result<(), Diagnostics> {
        Ok(())
    }
}

/// The handler the server calls for `resource`.
pub fn handler<E: EphemeralResource>(resource: E) -> std::sync::Arc<dyn EphemeralResourceHandler> {
    std::sync::Arc::new(Handler(resource))
}

struct Handler<E>(E);

impl<E: EphemeralResource> Handler<E> {
    fn check(&self, config: &Value) -> (Option<E::Model>, Diagnostics) {
        crate::model::check_config(config, |m| self.0.validate(m))
    }
}

fn failed(diagnostics: Diagnostics) -> OpenResponse {
    OpenResponse {
        result: Value::Null,
        private: Vec::new(),
        renew_at: None,
        diagnostics,
    }
}

#[async_trait]
impl<E: EphemeralResource> EphemeralResourceHandler for Handler<E> {
    fn type_name(&self) -> &'static str {
        E::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        E::Model::schema(0)
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        self.check(config).1
    }

    async fn open(&self, ctx: &Ctx, config: Value) -> OpenResponse {
        if !config.is_wholly_known() {
            return failed(
                Diagnostic::error(
                    "Configuration not known",
                    format!(
                        "{} was opened with values that are not known yet; this is a bug in the caller.",
                        E::TYPE_NAME
                    ),
                )
                .into(),
            );
        }
        let (model, mut diagnostics) = self.check(&config);
        let config = match model {
            Some(m) if !diagnostics.has_errors() => m,
            _ => return failed(diagnostics),
        };
        let mut with_defaults = config.clone();
        with_defaults.apply_defaults(&config);
        match self.0.open(ctx, with_defaults).await {
            Ok(opened) => {
                diagnostics.extend(opened.warnings);
                OpenResponse {
                    result: opened.result.to_value(),
                    private: opened.private.encode(),
                    renew_at: opened.renew_at,
                    diagnostics,
                }
            }
            Err(d) => {
                diagnostics.extend(d);
                failed(diagnostics)
            }
        }
    }

    async fn renew(&self, ctx: &Ctx, private: Vec<u8>) -> RenewResponse {
        match self.0.renew(ctx, E::Private::decode(&private)).await {
            Ok(r) => RenewResponse {
                private: r.private.map_or(private, |p| p.encode()),
                renew_at: r.renew_at,
                diagnostics: Diagnostics::default(),
            },
            Err(diagnostics) => RenewResponse {
                private,
                renew_at: None,
                diagnostics,
            },
        }
    }

    async fn close(&self, ctx: &Ctx, private: Vec<u8>) -> Diagnostics {
        self.0
            .close(ctx, E::Private::decode(&private))
            .await
            .err()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tf;
    use crate::types::GoDuration;
    use crate::validate::Invalid;

    /// A secret made on demand.
    #[derive(crate::model::Model, Clone, Debug, Default, PartialEq)]
    struct SecretModel {
        /// Who it is for.
        #[tf(required, validate = owner)]
        owner: Tf<String>,
        #[tf(optional, computed, default = "1h")]
        lifetime: Tf<GoDuration>,
        #[tf(computed, sensitive)]
        value: Tf<String>,
    }

    fn owner(o: &String) -> Result<(), Invalid> {
        if o.contains(' ') {
            Err(Invalid::new("Invalid owner", "no spaces"))
        } else {
            Ok(())
        }
    }

    #[derive(Default)]
    struct Secret {
        opened: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait]
    impl EphemeralResource for Secret {
        type Model = SecretModel;
        type Private = ();
        const TYPE_NAME: &'static str = "toy_secret";

        async fn open(
            &self,
            _ctx: &Ctx,
            mut config: SecretModel,
        ) -> Result<Opened<SecretModel, ()>, Diagnostics> {
            let lifetime = config.lifetime.known().unwrap().as_str().to_string();
            self.opened.lock().unwrap().push(lifetime.clone());
            config.value = Tf::Known(format!("s3cret-{lifetime}"));
            Ok(Opened::new(config, ()))
        }
    }

    fn config(owner: &str, lifetime: Value) -> Value {
        Value::object([
            ("owner", Value::string(owner)),
            ("lifetime", lifetime),
            ("value", Value::Null),
        ])
    }

    #[tokio::test]
    async fn open_fills_in_defaults_and_computed_values() {
        let h = handler(Secret::default());
        let r = h.open(&Ctx::background(), config("me", Value::Null)).await;
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        assert_eq!(r.result.attr("lifetime"), &Value::string("1h"));
        assert_eq!(r.result.attr("value"), &Value::string("s3cret-1h"));
        assert!(h.schema().block.find_attribute("value").unwrap().sensitive);
    }

    #[tokio::test]
    async fn bad_input_is_refused_naming_the_attribute_before_open() {
        let s = std::sync::Arc::new(Secret::default());
        struct Ref(std::sync::Arc<Secret>);
        #[async_trait]
        impl EphemeralResource for Ref {
            type Model = SecretModel;
            type Private = ();
            const TYPE_NAME: &'static str = "toy_secret";
            async fn open(
                &self,
                ctx: &Ctx,
                c: SecretModel,
            ) -> Result<Opened<SecretModel, ()>, Diagnostics> {
                self.0.open(ctx, c).await
            }
        }
        let h = handler(Ref(s.clone()));
        let bad = config("me you", Value::string("1d"));
        let d = h.validate(&bad).await;
        let paths: Vec<String> =
            d.0.iter()
                .map(|d| d.path.as_ref().unwrap().to_string())
                .collect();
        assert_eq!(paths, ["lifetime", "owner"], "{d:?}");
        let r = h.open(&Ctx::background(), bad).await;
        assert!(r.diagnostics.has_errors() && r.result.is_null());
        let r = h
            .open(&Ctx::background(), config("me", Value::unknown()))
            .await;
        assert!(r.diagnostics.has_errors());
        assert!(s.opened.lock().unwrap().is_empty(), "never opened");
    }
}
