//! `#[derive(Model)]`: one Rust struct is both a Terraform schema block and
//! the typed value that converts to and from the protocol's [`Value`]s, the
//! way terraform-plugin-framework's `tfsdk` struct tags work. Field names are
//! attribute names, doc comments are the Markdown descriptions, and the
//! field's type gives the attribute's type, so the schema and the model
//! cannot drift apart.
//!
//! Field options, `#[tf(...)]`:
//! - `required`, `optional`, `computed` (`optional, computed` together for
//!   "optional with a value the provider fills in"), `sensitive`;
//! - `replace`: a change to this attribute replaces the resource;
//! - `default = <value>`: the planned value when the configuration leaves an
//!   `optional, computed` attribute out (a literal, `["a", "b"]`, or any
//!   expression of the field's value type); the description gets
//!   "Default: `<value>`." from the same declaration;
//! - `validate = <validator>` (repeatable): a [`Validator`] of the known
//!   value, run when the configuration is validated and planned;
//! - `keep`: a computed attribute that keeps its prior value in an update
//!   plan (set once, at create: IDs, ARNs), as `UseStateForUnknown`;
//! - `timeouts(create = "60m", update = "60m", delete = "60m")`: the shared
//!   `timeouts` block (`Tf<tfplugin::timeouts::Timeouts>`) with these
//!   operations and defaults;
//! - `name = "use"`: the attribute name when it is not a valid Rust name;
//! - `block`: a nested block instead of an attribute (`Tf<T>`/`Option<T>`
//!   = single, `Vec<T>` = list), with `max_items = N` / `min_items = N`;
//! - `nested`: a nested attribute (`x = { ... }`, `x = [{ ... }]`) whose
//!   members keep their own flags, so optional ones may be left out; the
//!   field's type is as for `block`, with the attribute's own flags.
//!
//! `#[derive(TfEnum)]` on an enum of unit variants: a string attribute whose
//! values are the variant names (or `#[tf(name = "...")]`); any other value
//! is refused as "Invalid <type name in words>" (or `#[tf(noun = "...")]`
//! on the enum).
//!
//! [`Value`]: ../tfplugin/value/enum.Value.html
//! [`Validator`]: ../tfplugin/validate/trait.Validator.html

extern crate proc_macro;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{
    parse_macro_input, Attribute, Data, DeriveInput, Expr, Fields, Ident, Lit, LitStr, Meta,
};

#[proc_macro_derive(Model, attributes(tf))]
pub fn derive_model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_model(input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[proc_macro_derive(TfEnum, attributes(tf))]
pub fn derive_enum(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_enum(input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Default)]
struct FieldOpts {
    required: bool,
    optional: bool,
    computed: bool,
    sensitive: bool,
    replace: bool,
    block: bool,
    nested: bool,
    keep: bool,
    name: Option<String>,
    min_items: Option<i64>,
    max_items: Option<i64>,
    default: Option<Expr>,
    validators: Vec<Expr>,
    /// `(operation ident, default duration text)`.
    timeouts: Option<Vec<(Ident, LitStr)>>,
}

fn doc_text(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &a.meta {
            if let Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            {
                let v = s.value();
                lines.push(v.strip_prefix(' ').unwrap_or(&v).to_string());
            }
        }
    }
    // Doc comments wrap at ~80 columns; Markdown joins such lines anyway,
    // and a blank line stays a paragraph break.
    let mut out = String::new();
    for line in lines {
        if line.trim().is_empty() {
            out.push_str("\n\n");
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            out.push_str(line.trim_end());
        }
    }
    out.trim().to_string()
}

fn field_opts(attrs: &[Attribute]) -> syn::Result<FieldOpts> {
    let mut o = FieldOpts::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("tf")) {
        a.parse_nested_meta(|m| {
            let p = &m.path;
            let flag = |f: &mut bool| *f = true;
            if p.is_ident("required") {
                flag(&mut o.required);
            } else if p.is_ident("optional") {
                flag(&mut o.optional);
            } else if p.is_ident("computed") {
                flag(&mut o.computed);
            } else if p.is_ident("sensitive") {
                flag(&mut o.sensitive);
            } else if p.is_ident("replace") {
                flag(&mut o.replace);
            } else if p.is_ident("block") {
                flag(&mut o.block);
            } else if p.is_ident("nested") {
                flag(&mut o.nested);
            } else if p.is_ident("keep") {
                flag(&mut o.keep);
            } else if p.is_ident("name") {
                let s: LitStr = m.value()?.parse()?;
                o.name = Some(s.value());
            } else if p.is_ident("min_items") {
                let n: syn::LitInt = m.value()?.parse()?;
                o.min_items = Some(n.base10_parse()?);
            } else if p.is_ident("max_items") {
                let n: syn::LitInt = m.value()?.parse()?;
                o.max_items = Some(n.base10_parse()?);
            } else if p.is_ident("default") {
                o.default = Some(m.value()?.parse()?);
            } else if p.is_ident("validate") {
                o.validators.push(m.value()?.parse()?);
            } else if p.is_ident("timeouts") {
                let mut ops = Vec::new();
                m.parse_nested_meta(|op| {
                    let ident = op
                        .path
                        .get_ident()
                        .cloned()
                        .ok_or_else(|| op.error("operation"))?;
                    if !["create", "read", "update", "delete"].contains(&ident.to_string().as_str())
                    {
                        return Err(op.error("timeouts are for create, read, update and delete"));
                    }
                    let d: LitStr = op.value()?.parse()?;
                    ops.push((ident, d));
                    Ok(())
                })?;
                o.timeouts = Some(ops);
            } else {
                return Err(m.error("unknown tf option"));
            }
            Ok(())
        })?;
    }
    Ok(o)
}

struct Generated {
    decode: Vec<TokenStream>,
    lenient: Vec<TokenStream>,
    build: Vec<TokenStream>,
    build_opt: Vec<TokenStream>,
    encode: Vec<TokenStream>,
    types: Vec<TokenStream>,
    attributes: Vec<TokenStream>,
    blocks: Vec<TokenStream>,
    replace: Vec<LitStr>,
    names: Vec<LitStr>,
    defaults: Vec<TokenStream>,
    apply_defaults: Vec<TokenStream>,
    mark_unknown: Vec<TokenStream>,
    null_unknown: Vec<TokenStream>,
    validate: Vec<TokenStream>,
    timeout: Option<TokenStream>,
}

fn expand_model(input: DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(n) => &n.named,
            _ => {
                return Err(syn::Error::new_spanned(
                    ident,
                    "Model needs a struct with named fields",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                ident,
                "Model can only be derived for structs",
            ))
        }
    };
    let block_doc = doc_text(&input.attrs);
    let tp = quote!(::tfplugin);
    let mut g = Generated {
        decode: vec![],
        lenient: vec![],
        build: vec![],
        build_opt: vec![],
        encode: vec![],
        types: vec![],
        attributes: vec![],
        blocks: vec![],
        replace: vec![],
        names: vec![],
        defaults: vec![],
        apply_defaults: vec![],
        mark_unknown: vec![],
        null_unknown: vec![],
        validate: vec![],
        timeout: None,
    };

    for f in fields {
        let fid = f.ident.as_ref().expect("named field");
        let ty = &f.ty;
        let opts = field_opts(&f.attrs)?;
        let raw = fid.to_string();
        let name = opts
            .name
            .clone()
            .unwrap_or_else(|| raw.strip_prefix("r#").unwrap_or(&raw).to_string());
        let name_lit = LitStr::new(&name, Span::call_site());
        let desc = LitStr::new(&doc_text(&f.attrs), Span::call_site());
        g.names.push(name_lit.clone());
        let tmp = syn::Ident::new(&format!("__f_{}", name), Span::call_site());

        if opts.default.is_some() && !(opts.optional && opts.computed) {
            return Err(syn::Error::new_spanned(
                fid,
                "a default needs `optional, computed`: Terraform accepts a planned value other than the configuration's null only for computed attributes",
            ));
        }
        if opts.keep && !opts.computed {
            return Err(syn::Error::new_spanned(
                fid,
                "`keep` is for computed attributes",
            ));
        }

        g.decode.push(quote! {
            let #tmp = match <#ty as #tp::model::TfType>::from_value(
                __m.get(#name_lit).unwrap_or(&#tp::Value::Null),
                &__path.clone().attr(#name_lit),
            ) {
                ::std::result::Result::Ok(v) => ::std::option::Option::Some(v),
                ::std::result::Result::Err(e) => { __diags.extend(e); ::std::option::Option::None }
            };
        });
        g.build.push(quote!(#fid: #tmp.expect("decoded")));
        g.build_opt.push(quote!(#fid: #tmp?));
        g.lenient.push(quote! {
            let #tmp = match <#ty as #tp::model::TfType>::from_value(
                __m.get(#name_lit).unwrap_or(&#tp::Value::Null),
                &#tp::AttrPath::root(#name_lit),
            ) {
                ::std::result::Result::Ok(v) => ::std::option::Option::Some(v),
                ::std::result::Result::Err(e) => {
                    __diags.extend(e);
                    <#ty as #tp::model::TfType>::placeholder()
                }
            };
        });
        g.encode.push(quote! {
            __m.insert(::std::string::String::from(#name_lit), #tp::model::TfType::to_value(&self.#fid));
        });
        if opts.replace {
            g.replace.push(name_lit.clone());
        }
        g.validate.push(quote! {
            #tp::model::TfType::validate_value(&self.#fid, &__path.clone().attr(#name_lit), __diags);
        });
        for v in &opts.validators {
            g.validate.push(quote! {
                if let ::std::option::Option::Some(__v) = #tp::model::Known::known_value(&self.#fid) {
                    #tp::validate::run(&(#v), __v, &__path.clone().attr(#name_lit), __diags);
                }
            });
        }
        if let Some(ops) = &opts.timeouts {
            let op_idents: Vec<_> = ops
                .iter()
                .map(|(i, d)| {
                    let variant = Ident::new(&capitalize(&i.to_string()), i.span());
                    quote!((#tp::timeouts::Operation::#variant, #d))
                })
                .collect();
            let table = quote!(&[#(#op_idents),*]);
            g.types.push(quote! {
                __t.insert(::std::string::String::from(#name_lit), #tp::timeouts::value_type(#table));
            });
            g.blocks.push(quote! {
                #tp::timeouts::block(#name_lit, #table, #desc)
            });
            g.timeout = Some(quote! {
                fn timeout(&self, op: #tp::timeouts::Operation) -> ::std::option::Option<::std::time::Duration> {
                    #tp::timeouts::Timeouts::timeout_of(&self.#fid, op, #table)
                }
            });
            continue;
        }
        g.types.push(quote! {
            __t.insert(::std::string::String::from(#name_lit), <#ty as #tp::model::TfType>::tf_type());
        });
        if let Some(d) = &opts.default {
            g.defaults.push(quote! {
                (#name_lit, #tp::model::IntoDefault::into_default(#d))
            });
            g.apply_defaults.push(quote! {
                if #tp::model::TfType::to_value(&__config.#fid).is_null() {
                    let __d = #tp::model::IntoDefault::into_default(#d);
                    self.#fid = <#ty as #tp::model::TfType>::from_value(&__d, &#tp::AttrPath::root(#name_lit))
                        .expect("the declared default is a valid value of the attribute");
                }
            });
        }
        if opts.computed {
            g.null_unknown.push(quote! {
                #tp::model::MarkUnknown::null_if_unknown(&mut self.#fid);
            });
        }
        // A declared default decides the value; it is never unknown.
        if opts.computed && opts.default.is_none() {
            let keep = opts.keep;
            let optional = opts.optional;
            g.mark_unknown.push(quote! {
                if !(__keep_stable && #keep)
                    && !(#optional && !#tp::model::TfType::to_value(&__config.#fid).is_null())
                {
                    #tp::model::MarkUnknown::mark_unknown(&mut self.#fid);
                }
            });
        }
        if opts.block {
            let min = opts.min_items.unwrap_or(0);
            let max = match opts.max_items {
                Some(n) => quote!(#n),
                None => quote!(<#ty as #tp::model::BlockField>::MAX_ITEMS),
            };
            g.blocks.push(quote! {
                #tp::schema::NestedBlock {
                    type_name: ::std::string::String::from(#name_lit),
                    block: {
                        let mut b = <<#ty as #tp::model::BlockField>::Inner as #tp::model::Model>::block();
                        if !#desc.is_empty() { b.description = ::std::string::String::from(#desc); }
                        b
                    },
                    nesting: <#ty as #tp::model::BlockField>::NESTING,
                    min_items: #min,
                    max_items: #max,
                }
            });
        } else {
            let (required, computed, sensitive, force_new) =
                (opts.required, opts.computed, opts.sensitive, opts.replace);
            // Plain object members (a nested object type) need no flags;
            // the schema then marks them optional.
            let optional = opts.optional || !(required || computed);
            let nested = if opts.nested {
                quote!(::std::option::Option::Some(#tp::schema::NestedAttributes {
                    nesting: <#ty as #tp::model::BlockField>::NESTING,
                    attributes: <<#ty as #tp::model::BlockField>::Inner as #tp::model::Model>::block().attributes,
                }))
            } else {
                quote!(::std::option::Option::None)
            };
            let description = match &opts.default {
                Some(d) => {
                    quote!(#tp::model::describe_default(#desc, &#tp::model::IntoDefault::into_default(#d)))
                }
                None => quote!(::std::string::String::from(#desc)),
            };
            g.attributes.push(quote! {
                #tp::schema::Attribute {
                    name: ::std::string::String::from(#name_lit),
                    ty: <#ty as #tp::model::TfType>::tf_type(),
                    description: #description,
                    required: #required,
                    optional: #optional,
                    computed: #computed,
                    sensitive: #sensitive,
                    deprecated: false,
                    semantics: <#ty as #tp::model::TfType>::SEMANTICS,
                    force_new: #force_new,
                    nested_doc: <#ty as #tp::model::TfType>::doc_block().map(::std::boxed::Box::new),
                    nested: #nested,
                }
            });
        }
    }

    let Generated {
        decode,
        lenient,
        build,
        build_opt,
        encode,
        types,
        attributes,
        blocks,
        replace,
        names,
        defaults,
        apply_defaults,
        mark_unknown,
        null_unknown,
        validate,
        timeout,
    } = g;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #tp::model::TfType for #ident #ty_generics #where_clause {
            fn tf_type() -> #tp::Type {
                let mut __t = ::std::collections::BTreeMap::new();
                #(#types)*
                #tp::Type::Object(__t)
            }
            fn from_value(
                __v: &#tp::Value,
                __path: &#tp::AttrPath,
            ) -> ::std::result::Result<Self, #tp::Diagnostics> {
                let __m = #tp::model::object_entries(__v, __path)?;
                let mut __diags = #tp::Diagnostics::default();
                #(#decode)*
                if __diags.has_errors() {
                    return ::std::result::Result::Err(__diags);
                }
                ::std::result::Result::Ok(#ident { #(#build),* })
            }
            fn to_value(&self) -> #tp::Value {
                let mut __m = ::std::collections::BTreeMap::new();
                #(#encode)*
                #tp::Value::Object(__m)
            }
            fn doc_block() -> ::std::option::Option<#tp::schema::Block> {
                ::std::option::Option::Some(<Self as #tp::model::Model>::block())
            }
            fn validate_value(&self, __path: &#tp::AttrPath, __diags: &mut #tp::Diagnostics) {
                #(#validate)*
            }
        }
        impl #impl_generics #tp::model::Model for #ident #ty_generics #where_clause {
            const ATTRIBUTE_NAMES: &'static [&'static str] = &[#(#names),*];
            const REPLACE_ON_CHANGE: &'static [&'static str] = &[#(#replace),*];
            fn block() -> #tp::schema::Block {
                #tp::schema::Block {
                    description: ::std::string::String::from(#block_doc),
                    attributes: ::std::vec![#(#attributes),*],
                    blocks: ::std::vec![#(#blocks),*],
                    deprecated: false,
                }
            }
            fn decode_lenient(__v: &#tp::Value) -> (::std::option::Option<Self>, #tp::Diagnostics) {
                let __m = match #tp::model::object_entries(__v, &#tp::AttrPath::default()) {
                    ::std::result::Result::Ok(m) => m,
                    ::std::result::Result::Err(d) => return (::std::option::Option::None, d),
                };
                let mut __diags = #tp::Diagnostics::default();
                #(#lenient)*
                let __model = (|| ::std::option::Option::Some(#ident { #(#build_opt),* }))();
                (__model, __diags)
            }
            fn defaults() -> ::std::vec::Vec<(&'static str, #tp::Value)> {
                ::std::vec![#(#defaults),*]
            }
            #[allow(unused_variables)]
            fn apply_defaults(&mut self, __config: &Self) {
                #(#apply_defaults)*
            }
            #[allow(unused_variables)]
            fn mark_unknown_computed(&mut self, __config: &Self, __keep_stable: bool) {
                #(#mark_unknown)*
            }
            fn null_unknown_computed(&mut self) {
                #(#null_unknown)*
            }
            #timeout
        }
    })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// `TolerationOperator` -> "toleration operator".
fn words(ident: &str) -> String {
    let mut out = String::new();
    for (i, ch) in ident.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

fn expand_enum(input: DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let Data::Enum(e) = &input.data else {
        return Err(syn::Error::new_spanned(ident, "TfEnum is for enums"));
    };
    let mut noun = words(&ident.to_string());
    for a in input.attrs.iter().filter(|a| a.path().is_ident("tf")) {
        a.parse_nested_meta(|m| {
            if m.path.is_ident("noun") {
                let s: LitStr = m.value()?.parse()?;
                noun = s.value();
                Ok(())
            } else {
                Err(m.error("unknown tf option (use `noun`)"))
            }
        })?;
    }
    let mut variants = Vec::new();
    let mut names = Vec::new();
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(v, "TfEnum variants carry no data"));
        }
        let mut name = v.ident.to_string();
        for a in v.attrs.iter().filter(|a| a.path().is_ident("tf")) {
            a.parse_nested_meta(|m| {
                if m.path.is_ident("name") {
                    let s: LitStr = m.value()?.parse()?;
                    name = s.value();
                    Ok(())
                } else {
                    Err(m.error("unknown tf option (use `name`)"))
                }
            })?;
        }
        variants.push(v.ident.clone());
        names.push(LitStr::new(&name, Span::call_site()));
    }
    let noun = LitStr::new(&noun, Span::call_site());
    let tp = quote!(::tfplugin);
    Ok(quote! {
        impl #ident {
            /// Every value, in declaration order.
            pub const ALL: &'static [#ident] = &[#(#ident::#variants),*];
            /// The names Terraform users write, in declaration order.
            pub const NAMES: &'static [&'static str] = &[#(#names),*];
            pub fn as_str(self) -> &'static str {
                match self { #(#ident::#variants => #names),* }
            }
            pub fn parse(text: &str) -> ::std::option::Option<#ident> {
                match text { #(#names => ::std::option::Option::Some(#ident::#variants),)* _ => ::std::option::Option::None }
            }
        }
        impl ::std::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl #tp::model::TfType for #ident {
            fn tf_type() -> #tp::Type {
                #tp::Type::String
            }
            fn from_value(v: &#tp::Value, path: &#tp::AttrPath) -> ::std::result::Result<Self, #tp::Diagnostics> {
                match v {
                    #tp::Value::String(s) => #ident::parse(s).ok_or_else(|| {
                        #tp::types::invalid(
                            path,
                            ::std::option::Option::Some(#noun),
                            ::std::format!("{:?}: use {}.", s, #tp::validate::one_of_text(#ident::NAMES)),
                        )
                    }),
                    other => ::std::result::Result::Err(#tp::model::type_error(path, "a string", other)),
                }
            }
            fn to_value(&self) -> #tp::Value {
                #tp::Value::String(::std::string::String::from(self.as_str()))
            }
        }
    })
}
