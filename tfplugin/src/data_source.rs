//! Typed data sources: a model and a read. The framework ([`handler`])
//! decodes the configuration (value types refuse bad values), runs the
//! validators declared on the fields and [`DataSource::validate`] at
//! validate time and again before a read, so `read` only sees a valid,
//! wholly known configuration.

use async_trait::async_trait;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::framework::DataSourceHandler;
use crate::model::{Model, TfType};
use crate::schema::Schema;
use crate::value::Value;

#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    type Model: Model + Send + Sync + 'static;
    /// The data source type name, e.g. `irsa_jwks`.
    const TYPE_NAME: &'static str;

    /// Rules that span several attributes; unknown values are skipped. No network.
    fn validate(&self, _config: &Self::Model) -> Diagnostics {
        Diagnostics::default()
    }

    /// The configuration with its computed attributes filled in, and
    /// warnings for the user.
    async fn read(
        &self,
        ctx: &Ctx,
        config: Self::Model,
    ) -> Result<(Self::Model, Diagnostics), Diagnostics>;
}

/// The handler the server calls for `data_source`.
pub fn handler<D: DataSource>(data_source: D) -> std::sync::Arc<dyn DataSourceHandler> {
    std::sync::Arc::new(Handler(data_source))
}

struct Handler<D>(D);

impl<D: DataSource> Handler<D> {
    fn check(&self, config: &Value) -> (Option<D::Model>, Diagnostics) {
        crate::model::check_config(config, |m| self.0.validate(m))
    }
}

#[async_trait]
impl<D: DataSource> DataSourceHandler for Handler<D> {
    fn type_name(&self) -> &'static str {
        D::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        D::Model::schema(0)
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        self.check(config).1
    }

    async fn read(&self, ctx: &Ctx, config: Value) -> Result<(Value, Diagnostics), Diagnostics> {
        if !config.is_wholly_known() {
            // Terraform reads a data source only once its configuration is known.
            return Err(Diagnostic::error(
                "Configuration not known",
                format!(
                    "{} was read with values that are not known yet; this is a bug in the caller.",
                    D::TYPE_NAME
                ),
            )
            .into());
        }
        let (model, diags) = self.check(&config);
        let model = match model {
            Some(m) if !diags.has_errors() => m,
            _ => return Err(diags),
        };
        let (state, mut warnings) = self.0.read(ctx, model).await?;
        let mut all = diags;
        all.extend(std::mem::take(&mut warnings));
        Ok((state.to_value(), all))
    }
}
