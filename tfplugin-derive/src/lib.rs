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
//! - `name = "use"`: the attribute name when it is not a valid Rust name;
//! - `block`: a nested block instead of an attribute (`Tf<T>`/`Option<T>`
//!   = single, `Vec<T>` = list), with `max_items = N` / `min_items = N`;
//! - `nested`: a nested attribute (`x = { ... }`, `x = [{ ... }]`) whose
//!   members keep their own flags, so optional ones may be left out; the
//!   field's type is as for `block`, with the attribute's own flags.
//!
//! [`Value`]: ../tfplugin/value/enum.Value.html

extern crate proc_macro;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{parse_macro_input, Attribute, Data, DeriveInput, Expr, Fields, Lit, LitStr, Meta};

#[proc_macro_derive(Model, attributes(tf))]
pub fn derive_model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(input) {
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
    name: Option<String>,
    min_items: Option<i64>,
    max_items: Option<i64>,
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
            if p.is_ident("required") {
                o.required = true;
            } else if p.is_ident("optional") {
                o.optional = true;
            } else if p.is_ident("computed") {
                o.computed = true;
            } else if p.is_ident("sensitive") {
                o.sensitive = true;
            } else if p.is_ident("replace") {
                o.replace = true;
            } else if p.is_ident("block") {
                o.block = true;
            } else if p.is_ident("nested") {
                o.nested = true;
            } else if p.is_ident("name") {
                let s: LitStr = m.value()?.parse()?;
                o.name = Some(s.value());
            } else if p.is_ident("min_items") {
                let n: syn::LitInt = m.value()?.parse()?;
                o.min_items = Some(n.base10_parse()?);
            } else if p.is_ident("max_items") {
                let n: syn::LitInt = m.value()?.parse()?;
                o.max_items = Some(n.base10_parse()?);
            } else {
                return Err(m.error("unknown tf option"));
            }
            Ok(())
        })?;
    }
    Ok(o)
}

fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
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

    let mut decode = Vec::new();
    let mut build = Vec::new();
    let mut encode = Vec::new();
    let mut types = Vec::new();
    let mut attributes = Vec::new();
    let mut blocks = Vec::new();
    let mut replace = Vec::new();
    let mut names = Vec::new();

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
        names.push(name_lit.clone());
        let tmp = syn::Ident::new(&format!("__f_{}", name), Span::call_site());

        decode.push(quote! {
            let #tmp = match <#ty as #tp::model::TfType>::from_value(
                __m.get(#name_lit).unwrap_or(&#tp::Value::Null),
                &__path.clone().attr(#name_lit),
            ) {
                ::std::result::Result::Ok(v) => ::std::option::Option::Some(v),
                ::std::result::Result::Err(e) => { __diags.extend(e); ::std::option::Option::None }
            };
        });
        build.push(quote!(#fid: #tmp.expect("decoded")));
        encode.push(quote! {
            __m.insert(::std::string::String::from(#name_lit), #tp::model::TfType::to_value(&self.#fid));
        });
        types.push(quote! {
            __t.insert(::std::string::String::from(#name_lit), <#ty as #tp::model::TfType>::tf_type());
        });
        if opts.replace {
            replace.push(name_lit.clone());
        }
        if opts.block {
            let min = opts.min_items.unwrap_or(0);
            let max = match opts.max_items {
                Some(n) => quote!(#n),
                None => quote!(<#ty as #tp::model::BlockField>::MAX_ITEMS),
            };
            blocks.push(quote! {
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
            let (required, optional, computed, sensitive, force_new) = (
                opts.required,
                opts.optional,
                opts.computed,
                opts.sensitive,
                opts.replace,
            );
            if !(required || optional || computed) {
                // Plain object members (a nested object type) need no flags;
                // the schema then marks them optional.
            }
            let optional = optional || !(required || computed);
            let nested = if opts.nested {
                quote!(::std::option::Option::Some(#tp::schema::NestedAttributes {
                    nesting: <#ty as #tp::model::BlockField>::NESTING,
                    attributes: <<#ty as #tp::model::BlockField>::Inner as #tp::model::Model>::block().attributes,
                }))
            } else {
                quote!(::std::option::Option::None)
            };
            attributes.push(quote! {
                #tp::schema::Attribute {
                    name: ::std::string::String::from(#name_lit),
                    ty: <#ty as #tp::model::TfType>::tf_type(),
                    description: ::std::string::String::from(#desc),
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
        }
    })
}
