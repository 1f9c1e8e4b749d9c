//! `#[derive(FromJson, ToJson)]`: the lean (serde-free) codec of a payload
//! type, written from the same definition and `#[serde(…)]` attributes its
//! serde derives read, against the traits of `sio_proto::read`.
//!
//! Supported shapes, the ones events carry: structs with named fields
//! (`#[serde(default)]` and `skip_serializing_if` on fields), newtypes
//! (`#[serde(transparent)]` or a one-field tuple struct), and enums
//! internally tagged with `#[serde(tag = "…", rename_all = "snake_case")]`
//! whose variants have named fields or none. Anything else is a compile
//! error that says so, rather than a codec that reads differently.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Error, Fields, FieldsNamed, Ident, LitStr};

/// What `#[serde(…)]` says about a container.
#[derive(Default)]
struct Container {
    tag: Option<String>,
    snake_case: bool,
}

/// What `#[serde(…)]` says about a field.
#[derive(Default)]
struct Field {
    default: bool,
    skip_none: bool,
    rename: Option<String>,
}

fn container(input: &DeriveInput) -> Result<Container, Error> {
    let mut out = Container::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("tag") {
                out.tag = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("rename_all") {
                let rule = meta.value()?.parse::<LitStr>()?;
                if rule.value() != "snake_case" {
                    return Err(Error::new_spanned(
                        rule,
                        "only rename_all = \"snake_case\" is supported",
                    ));
                }
                out.snake_case = true;
            } else if meta.path.is_ident("transparent") {
            } else {
                return Err(meta.error("this serde attribute has no lean reading yet"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn field(field: &syn::Field) -> Result<Field, Error> {
    let mut out = Field::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                if meta.input.peek(syn::Token![=]) {
                    return Err(meta.error("only a plain #[serde(default)] is supported"));
                }
                out.default = true;
            } else if meta.path.is_ident("skip_serializing_if") {
                let path = meta.value()?.parse::<LitStr>()?;
                if path.value() != "Option::is_none" {
                    return Err(Error::new_spanned(
                        path,
                        "only skip_serializing_if = \"Option::is_none\"",
                    ));
                }
                out.skip_none = true;
            } else if meta.path.is_ident("rename") {
                out.rename = Some(meta.value()?.parse::<LitStr>()?.value());
            } else {
                return Err(meta.error("this serde attribute has no lean reading yet"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// `FieldName` → `field_name`, as serde's `rename_all = "snake_case"`.
fn snake(ident: &Ident) -> String {
    let mut out = String::new();
    for (i, ch) in ident.to_string().chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// `name: object.field("name")?, …` for named fields.
fn read_fields(fields: &FieldsNamed) -> Result<Vec<TokenStream>, Error> {
    fields
        .named
        .iter()
        .map(|f| {
            let ident = f.ident.as_ref().expect("named");
            let attrs = field(f)?;
            let key = attrs.rename.unwrap_or_else(|| ident.to_string());
            Ok(if attrs.default {
                quote!(#ident: object.defaulted(#key)?)
            } else {
                quote!(#ident: object.field(#key)?)
            })
        })
        .collect()
}

/// Writes `"key":value` members (after any already in `out`'s object).
fn write_fields(fields: &FieldsNamed, first: bool) -> Result<TokenStream, Error> {
    let mut steps = Vec::new();
    let mut first = first;
    let last = fields.named.len().saturating_sub(1);
    for (index, f) in fields.named.iter().enumerate() {
        let ident = f.ident.as_ref().expect("named");
        let attrs = field(f)?;
        if attrs.skip_none && index != last {
            return Err(Error::new_spanned(
                ident,
                "ToJson: a skipped field must come last",
            ));
        }
        let key = attrs.rename.unwrap_or_else(|| ident.to_string());
        let mut prefix = String::new();
        prefix.push_str(if first { "" } else { "," });
        prefix.push('"');
        prefix.push_str(&key);
        prefix.push_str("\":");
        let member = quote! {
            out.push_str(#prefix);
            ::sio_proto::read::ToJson::write_json(#ident, out);
        };
        if attrs.skip_none {
            // A skipped member cannot know whether a comma is needed: only
            // supported last, where it never precedes one.
            steps.push(quote!(if let ::core::option::Option::Some(#ident) = #ident { #member }));
        } else {
            steps.push(member);
            first = false;
        }
    }
    Ok(quote!( #( #steps )* ))
}

pub fn expand_from(input: &DeriveInput) -> Result<TokenStream, Error> {
    let ty = &input.ident;
    let attrs = container(input)?;
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => {
                let reads = read_fields(fields)?;
                Ok(quote! {
                    impl ::sio_proto::read::FromObject for #ty {
                        fn from_object(object: &::sio_proto::read::Object<'_>) -> ::core::result::Result<Self, ::sio_proto::read::ReadError> {
                            ::core::result::Result::Ok(#ty { #( #reads, )* })
                        }
                    }
                    impl ::sio_proto::read::FromJson for #ty {
                        fn from_json(text: &str) -> ::core::result::Result<Self, ::sio_proto::read::ReadError> {
                            ::sio_proto::read::object(text)
                        }
                    }
                })
            }
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => Ok(quote! {
                impl ::sio_proto::read::FromJson for #ty {
                    fn from_json(text: &str) -> ::core::result::Result<Self, ::sio_proto::read::ReadError> {
                        ::sio_proto::read::FromJson::from_json(text).map(#ty)
                    }
                }
            }),
            _ => Err(Error::new_spanned(
                ty,
                "FromJson: named fields or a newtype",
            )),
        },
        Data::Enum(data) => {
            let Some(tag) = attrs.tag else {
                return Err(Error::new_spanned(
                    ty,
                    "FromJson: enums must be internally tagged (#[serde(tag = \"…\")])",
                ));
            };
            let mut arms = Vec::new();
            for variant in &data.variants {
                let ident = &variant.ident;
                let name = if attrs.snake_case {
                    snake(ident)
                } else {
                    ident.to_string()
                };
                let build = match &variant.fields {
                    Fields::Named(fields) => {
                        let reads = read_fields(fields)?;
                        quote!(#ty::#ident { #( #reads, )* })
                    }
                    Fields::Unit => quote!(#ty::#ident),
                    Fields::Unnamed(_) => {
                        return Err(Error::new_spanned(
                            ident,
                            "FromJson: tagged variants have named fields",
                        ))
                    }
                };
                arms.push(quote!(#name => ::core::result::Result::Ok(#build)));
            }
            Ok(quote! {
                impl ::sio_proto::read::FromJson for #ty {
                    fn from_json(text: &str) -> ::core::result::Result<Self, ::sio_proto::read::ReadError> {
                        let object = ::sio_proto::read::Object::parse(text)?;
                        let tag: ::std::string::String = object.field(#tag)?;
                        match tag.as_str() {
                            #( #arms, )*
                            _ => ::core::result::Result::Err(::sio_proto::read::unknown_tag(#tag, &tag)),
                        }
                    }
                }
            })
        }
        Data::Union(_) => Err(Error::new_spanned(ty, "FromJson: not for unions")),
    }
}

pub fn expand_to(input: &DeriveInput) -> Result<TokenStream, Error> {
    let ty = &input.ident;
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => {
                let idents: Vec<_> = fields
                    .named
                    .iter()
                    .map(|f| f.ident.as_ref().expect("named"))
                    .collect();
                let writes = write_fields(fields, true)?;
                Ok(quote! {
                    impl ::sio_proto::read::ToJson for #ty {
                        fn write_json(&self, out: &mut ::std::string::String) {
                            let #ty { #( #idents ),* } = self;
                            out.push('{');
                            #writes
                            out.push('}');
                        }
                    }
                })
            }
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => Ok(quote! {
                impl ::sio_proto::read::ToJson for #ty {
                    fn write_json(&self, out: &mut ::std::string::String) {
                        ::sio_proto::read::ToJson::write_json(&self.0, out);
                    }
                }
            }),
            _ => Err(Error::new_spanned(ty, "ToJson: named fields or a newtype")),
        },
        _ => Err(Error::new_spanned(
            ty,
            "ToJson: structs only (no event sent by a client carries an enum yet)",
        )),
    }
}
