//! Protocol-level tests of what protocol 6.10 added, against the real
//! plugin process over gRPC (AutoMTLS), playing the hosts that cannot be
//! run here: OpenTofu's provider functions (it calls GetFunctions for a name
//! its cached schema lacks, then CallFunction, on a provider it never
//! configured), and the RPCs of features this provider has no type for
//! (state stores, actions), which Terraform never calls for an undeclared
//! type but which must answer with a diagnostic, not UNIMPLEMENTED.

use irsa_acceptance::plugin_client::{
    decode_value, dynamic_value, object_of, provider_client, PluginProcess,
};
use tfplugin::{proto, Model, Value};

fn msgpack(ty: &tfplugin::Type, v: &Value) -> proto::DynamicValue {
    proto::DynamicValue {
        msgpack: tfplugin::msgpack::encode(ty, v),
        json: vec![],
    }
}

fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::string(*s)).collect())
}

const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com";

/// OpenTofu: GetFunctions, then CallFunction with each argument encoded by
/// its parameter's type (variadic ones too), without GetProviderSchema or
/// ConfigureProvider in this process. The result is the data source's
/// document for the same inputs; a bad argument is a FunctionError with its
/// index; an unknown name is an error, not a crash.
#[tokio::test]
async fn opentofu_calls_functions_on_an_unconfigured_provider() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = provider_client(p.connect().await.unwrap());
    let funcs = client
        .get_functions(proto::get_functions::Request {})
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<&String> = funcs.functions.keys().collect();
    names.sort();
    assert_eq!(names, ["jwks_from_pem", "trust_policy"]);
    let tp = &funcs.functions["trust_policy"];
    let params: Vec<&str> = tp.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(params, ["oidc_provider_arn", "service_accounts"]);
    let variadic = tp.variadic_parameter.as_ref().expect("variadic audiences");
    assert_eq!(variadic.name, "audiences");
    assert_eq!(variadic.r#type, b"\"string\"");
    assert!(!tp.parameters[0].allow_null_value && !tp.parameters[0].allow_unknown_values);
    assert_eq!(tp.r#return.as_ref().unwrap().r#type, b"\"string\"");

    let string = tfplugin::Type::String;
    let list = tfplugin::Type::list(tfplugin::Type::String);
    let call = |args: Vec<proto::DynamicValue>| proto::call_function::Request {
        name: "trust_policy".into(),
        arguments: args,
    };
    let r = client
        .call_function(call(vec![
            msgpack(&string, &Value::string(ARN)),
            msgpack(&list, &strings(&["jobs/*", "default/app"])),
            msgpack(&string, &Value::string("sts.amazonaws.com")),
        ]))
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.is_none(), "{:?}", r.error);
    let from_function = tfplugin::msgpack::decode(&string, &r.result.unwrap().msgpack).unwrap();

    // The data source on the same inputs (this one needs no configuration).
    let block = irsa::data_sources::trust_policy::TrustPolicyModel::block();
    let config = object_of(
        &block,
        vec![
            ("oidc_provider_arn", Value::string(ARN)),
            ("service_accounts", strings(&["jobs/*", "default/app"])),
            ("audience", Value::string("sts.amazonaws.com")),
        ],
    );
    let ds = client
        .read_data_source(proto::read_data_source::Request {
            type_name: "irsa_trust_policy".into(),
            config: Some(dynamic_value(&block, &config)),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ds.diagnostics.is_empty(), "{:?}", ds.diagnostics);
    let state = decode_value(&block, ds.state.as_ref().unwrap());
    assert_eq!(
        state.attr("json"),
        &from_function,
        "function and data source differ"
    );

    // The second service account is refused: argument 1, element named.
    let r = client
        .call_function(call(vec![
            msgpack(&string, &Value::string(ARN)),
            msgpack(&list, &strings(&["default/app", "*"])),
        ]))
        .await
        .unwrap()
        .into_inner();
    let e = r.error.expect("a function error");
    assert_eq!(e.function_argument, Some(1), "{e:?}");
    assert!(
        e.text.starts_with("element 1: Invalid service account"),
        "{e:?}"
    );
    assert!(r.result.is_none());
    // The third argument (the first variadic one).
    let r = client
        .call_function(call(vec![
            msgpack(&string, &Value::string(ARN)),
            msgpack(&list, &strings(&["default/app"])),
            msgpack(&string, &Value::string("")),
        ]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.error.expect("error").function_argument, Some(2));
    // Too few arguments and an unknown name: errors without an argument.
    let r = client
        .call_function(call(vec![msgpack(&string, &Value::string(ARN))]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.error.expect("error").function_argument, None);
    let r = client
        .call_function(proto::call_function::Request {
            name: "nope".into(),
            arguments: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.expect("error").text.contains("nope"));
}

/// GetProviderSchema and GetMetadata declare every new kind; the identity
/// schemas come from GetResourceIdentitySchemas; GenerateResourceConfig is
/// a declared capability.
#[tokio::test]
async fn schema_declares_functions_ephemeral_and_list_resources() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = provider_client(p.connect().await.unwrap());
    let s = client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let keys = |m: &std::collections::HashMap<String, proto::Schema>| {
        let mut k: Vec<String> = m.keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&s.ephemeral_resource_schemas),
        ["irsa_service_account_token"]
    );
    assert_eq!(
        keys(&s.list_resource_schemas),
        ["irsa_oidc_issuer", "irsa_webhook"]
    );
    assert_eq!(s.functions.len(), 2);
    assert!(s.state_store_schemas.is_empty() && s.action_schemas.is_empty());
    let caps = s.server_capabilities.unwrap();
    assert!(caps.generate_resource_config && caps.get_provider_schema_optional);
    let token = s.ephemeral_resource_schemas["irsa_service_account_token"]
        .block
        .as_ref()
        .unwrap();
    let t = token.attributes.iter().find(|a| a.name == "token").unwrap();
    assert!(t.sensitive && t.computed);
    let list = s.list_resource_schemas["irsa_oidc_issuer"]
        .block
        .as_ref()
        .unwrap();
    let names: Vec<&str> = list.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["name_prefix"]);

    let m = client
        .get_metadata(proto::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.functions.len(), 2);
    assert_eq!(m.ephemeral_resources.len(), 1);
    assert_eq!(m.list_resources.len(), 2);
}

/// GenerateResourceConfig: the state without what is only computed and
/// without values equal to their declared defaults.
#[tokio::test]
async fn generate_resource_config_keeps_only_configuration() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = provider_client(p.connect().await.unwrap());
    let block = irsa::resources::oidc_issuer::model::IssuerModel::block();
    let jwks = r#"{"keys":[]}"#;
    let state = object_of(
        &block,
        vec![
            ("name", Value::string("prod")),
            ("jwks", Value::string(jwks)),
            ("hosting", Value::string("s3")),
            ("key_retention", Value::string("24h")),
            ("force_destroy", Value::Bool(true)),
            (
                "issuer_url",
                Value::string("https://prod-oidc-123456789012.s3.eu-west-1.amazonaws.com"),
            ),
            ("bucket", Value::string("prod-oidc-123456789012")),
        ],
    );
    let r = client
        .generate_resource_config(proto::generate_resource_config::Request {
            type_name: "irsa_oidc_issuer".into(),
            state: Some(dynamic_value(&block, &state)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let config = decode_value(&block, r.config.as_ref().unwrap());
    assert_eq!(config.attr("name"), &Value::string("prod"));
    assert_eq!(config.attr("jwks"), &Value::string(jwks));
    assert_eq!(
        config.attr("hosting"),
        &Value::string("s3"),
        "not the default"
    );
    assert_eq!(
        config.attr("force_destroy"),
        &Value::Bool(true),
        "not the default"
    );
    assert!(
        config.attr("key_retention").is_null(),
        "the default: left to the plan"
    );
    assert!(
        config.attr("issuer_url").is_null() && config.attr("bucket").is_null(),
        "computed"
    );
}

/// The RPCs of features without a type here answer a diagnostic naming
/// the type (never UNIMPLEMENTED, never a crash).
#[tokio::test]
async fn state_store_and_action_rpcs_name_the_unknown_type() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = provider_client(p.connect().await.unwrap());
    let v = client
        .validate_state_store_config(proto::validate_state_store::Request {
            type_name: "irsa_store".into(),
            config: None,
        })
        .await
        .expect("served")
        .into_inner();
    assert!(
        v.diagnostics[0].detail.contains("irsa_store"),
        "{:?}",
        v.diagnostics
    );
    let l = client
        .lock_state(proto::lock_state::Request {
            type_name: "irsa_store".into(),
            state_id: "default".into(),
            operation: "plan".into(),
        })
        .await
        .expect("served")
        .into_inner();
    assert_eq!(l.diagnostics.len(), 1);
    let mut read = client
        .read_state_bytes(proto::read_state_bytes::Request {
            type_name: "irsa_store".into(),
            state_id: "default".into(),
        })
        .await
        .expect("served")
        .into_inner();
    let first = read.message().await.unwrap().expect("one message");
    assert_eq!(first.diagnostics.len(), 1);
    assert!(read.message().await.unwrap().is_none());
    let a = client
        .plan_action(proto::plan_action::Request {
            action_type: "irsa_act".into(),
            config: None,
            client_capabilities: None,
        })
        .await
        .expect("served")
        .into_inner();
    assert!(a.diagnostics[0].detail.contains("irsa_act"));
    let mut invoke = client
        .invoke_action(proto::invoke_action::Request {
            action_type: "irsa_act".into(),
            config: None,
            client_capabilities: None,
        })
        .await
        .expect("served")
        .into_inner();
    let e = invoke.message().await.unwrap().expect("one event");
    assert!(matches!(
        e.r#type,
        Some(proto::invoke_action::event::Type::Completed(ref c)) if c.diagnostics.len() == 1
    ));
    // An unknown list resource streams one event with the error.
    let mut list = client
        .list_resource(proto::list_resource::Request {
            type_name: "irsa_nope".into(),
            config: None,
            include_resource_object: false,
            limit: 10,
        })
        .await
        .expect("served")
        .into_inner();
    let e = list.message().await.unwrap().expect("one event");
    assert_eq!(e.diagnostic.len(), 1);
    assert!(e.identity.is_none());
}

/// A list whose configuration is bad streams the error naming the
/// attribute, before any AWS call (there is no AWS behind this process).
#[tokio::test]
async fn a_bad_list_configuration_is_an_error_event_naming_the_attribute() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = provider_client(p.connect().await.unwrap());
    let block = irsa::resources::oidc_issuer::list::IssuerListConfig::block();
    let config = object_of(&block, vec![("name_prefix", Value::string("Prod_"))]);
    let v = client
        .validate_list_resource_config(proto::validate_list_resource_config::Request {
            type_name: "irsa_oidc_issuer".into(),
            config: Some(dynamic_value(&block, &config)),
            include_resource_object: None,
            limit: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.diagnostics.len(), 1, "{:?}", v.diagnostics);
    let mut list = client
        .list_resource(proto::list_resource::Request {
            type_name: "irsa_oidc_issuer".into(),
            config: Some(dynamic_value(&block, &config)),
            include_resource_object: false,
            limit: 100,
        })
        .await
        .unwrap()
        .into_inner();
    let e = list.message().await.unwrap().expect("an event");
    let d = &e.diagnostic[0];
    assert_eq!(d.summary, "Invalid name prefix");
    let path = d.attribute.as_ref().expect("a path");
    assert!(matches!(
        path.steps[0].selector,
        Some(proto::attribute_path::step::Selector::AttributeName(ref n)) if n == "name_prefix"
    ));
    assert!(list.message().await.unwrap().is_none(), "the stream ends");
}
