//! `#[derive(Event)]`: one definition of an event enum yields everything the
//! rest of the code needs to know about its events' names.
//!
//! ```ignore
//! #[derive(Event)]
//! pub enum ClientEvent {
//!     #[event(name = "identify")]
//!     Identify { name: String },
//! }
//! ```
//!
//! generates, next to the enum:
//! - `ClientEventKind`, one unit variant per event (`Copy`, `Eq`, `Hash`,
//!   `Debug`), so a server can register, dispatch and rate-limit by kind
//!   before it decodes the arguments, and match on kinds exhaustively;
//! - `ClientEventKind::ALL`, every kind, in declaration order: a list no one
//!   writes, so no one can forget an event in it;
//! - `ClientEventKind::name` (the wire name, a `const fn`) and
//!   `ClientEventKind::from_name`;
//! - `ClientEvent::kind` and `ClientEvent::name`.
//!
//! Why a derive: a wire name written once can only be wrong once, and a new
//! variant without `#[event(name = "…")]`, or two variants with one name, is
//! a compile error that names the variant.
//!
//! ```
//! use events_derive::Event;
//!
//! #[derive(Event)]
//! enum Sent {
//!     #[event(name = "identify")]
//!     Identify { name: String },
//!     #[event(name = "wave")]
//!     Wave(u32),
//! }
//!
//! assert_eq!(SentKind::ALL, &[SentKind::Identify, SentKind::Wave]);
//! assert_eq!(SentKind::from_name("wave"), Some(SentKind::Wave));
//! assert_eq!(SentKind::from_name("nope"), None);
//! assert_eq!(Sent::Identify { name: "Ada".into() }.name(), "identify");
//! assert_eq!(Sent::Wave(1).kind(), SentKind::Wave);
//! ```
//!
//! A variant without a wire name does not compile:
//!
//! ```compile_fail
//! #[derive(events_derive::Event)]
//! enum Sent {
//!     #[event(name = "identify")]
//!     Identify,
//!     Wave,
//! }
//! ```
//!
//! Nor do two variants with one wire name:
//!
//! ```compile_fail
//! #[derive(events_derive::Event)]
//! enum Sent {
//!     #[event(name = "identify")]
//!     Identify,
//!     #[event(name = "identify")]
//!     Again,
//! }
//! ```
//!
//! And a dispatch that forgets a kind (a handler, a codec arm) does not
//! compile either, because it matches on the derived kind exhaustively:
//!
//! ```compile_fail
//! #[derive(events_derive::Event)]
//! enum Sent {
//!     #[event(name = "identify")]
//!     Identify,
//!     #[event(name = "wave")]
//!     Wave,
//! }
//! fn handle(kind: SentKind) -> &'static str {
//!     match kind {
//!         SentKind::Identify => "identify handler",
//!     }
//! }
//! ```

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Error, Fields, LitStr, Variant};

/// See the crate documentation.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// `#[derive(WireCode)]`: a fieldless enum of stable codes, each with its
/// wire text in `#[code("…")]`, gets `ALL` (an array, in declaration
/// order), `as_str` (a `const fn`) and `from_wire`. The code lists refusals
/// carry are then written once, like the events.
///
/// ```
/// #[derive(Clone, Copy, Debug, PartialEq, events_derive::WireCode)]
/// enum Code {
///     #[code("name_empty")]
///     Empty,
///     #[code("name_too_long")]
///     TooLong,
/// }
/// assert_eq!(Code::ALL, [Code::Empty, Code::TooLong]);
/// assert_eq!(Code::TooLong.as_str(), "name_too_long");
/// assert_eq!(Code::from_wire("name_empty"), Some(Code::Empty));
/// assert_eq!(Code::from_wire("teapot"), None);
/// ```
///
/// A code without its text does not compile:
///
/// ```compile_fail
/// #[derive(Clone, Copy, events_derive::WireCode)]
/// enum Code {
///     #[code("name_empty")]
///     Empty,
///     TooLong,
/// }
/// ```
#[proc_macro_derive(WireCode, attributes(code))]
pub fn derive_wire_code(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand_codes(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

fn expand_codes(input: &DeriveInput) -> Result<proc_macro2::TokenStream, Error> {
    let Data::Enum(data) = &input.data else {
        return Err(Error::new(
            Span::call_site(),
            "#[derive(WireCode)] is for enums of codes",
        ));
    };
    let codes = data
        .variants
        .iter()
        .map(coded)
        .collect::<Result<Vec<_>, _>>()?;
    refuse_duplicates(&codes)?;
    let ty = &input.ident;
    let count = codes.len();
    let variants: Vec<_> = codes.iter().map(|c| &c.variant.ident).collect();
    let texts: Vec<_> = codes.iter().map(|c| &c.name).collect();
    Ok(quote! {
        impl #ty {
            /// Every code, in declaration order.
            pub const ALL: [#ty; #count] = [ #( #ty::#variants ),* ];

            /// The wire text.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    #( #ty::#variants => #texts, )*
                }
            }

            /// The code with this wire text, if any.
            #[must_use]
            pub fn from_wire(text: &str) -> ::core::option::Option<Self> {
                match text {
                    #( #texts => ::core::option::Option::Some(#ty::#variants), )*
                    _ => ::core::option::Option::None,
                }
            }
        }
    })
}

/// Reads a fieldless variant's `#[code("…")]`.
fn coded(variant: &Variant) -> Result<Named<'_>, Error> {
    if !matches!(variant.fields, Fields::Unit) {
        return Err(Error::new_spanned(&variant.ident, "a code carries no data"));
    }
    let attr = variant
        .attrs
        .iter()
        .find(|a| a.path().is_ident("code"))
        .ok_or_else(|| {
            Error::new_spanned(
                &variant.ident,
                format!(
                    "code `{}` needs its wire text: #[code(\"…\")]",
                    variant.ident
                ),
            )
        })?;
    let name = attr.parse_args::<LitStr>()?;
    if name.value().is_empty() {
        return Err(Error::new_spanned(&name, "a wire text cannot be empty"));
    }
    Ok(Named { variant, name })
}

/// One event: its variant and its wire name.
struct Named<'a> {
    variant: &'a Variant,
    name: LitStr,
}

fn expand(input: &DeriveInput) -> Result<proc_macro2::TokenStream, Error> {
    let Data::Enum(data) = &input.data else {
        return Err(Error::new(
            Span::call_site(),
            "#[derive(Event)] is for enums of events",
        ));
    };
    let events = data
        .variants
        .iter()
        .map(named)
        .collect::<Result<Vec<_>, _>>()?;
    refuse_duplicates(&events)?;

    let vis = &input.vis;
    let ty = &input.ident;
    let kind = format_ident!("{}Kind", ty);
    let variants: Vec<_> = events.iter().map(|e| &e.variant.ident).collect();
    let names: Vec<_> = events.iter().map(|e| &e.name).collect();
    let patterns = events.iter().map(|e| {
        let ident = &e.variant.ident;
        match &e.variant.fields {
            Fields::Named(_) => quote!(#ty::#ident { .. }),
            Fields::Unnamed(_) => quote!(#ty::#ident(..)),
            Fields::Unit => quote!(#ty::#ident),
        }
    });
    let kind_doc = format!(
        "Which [`{ty}`] a wire name is, known before its arguments are decoded. \
         Derived: a new event adds a kind, and every exhaustive match on kinds \
         then asks for it."
    );
    let variant_docs = names
        .iter()
        .map(|name| format!("`{}`", name.value()))
        .collect::<Vec<_>>();

    Ok(quote! {
        #[doc = #kind_doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #vis enum #kind {
            #( #[doc = #variant_docs] #variants, )*
        }

        impl #kind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [#kind] = &[ #( #kind::#variants ),* ];

            /// The wire name.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    #( #kind::#variants => #names, )*
                }
            }

            /// The kind with this wire name, if any.
            #[must_use]
            pub fn from_name(name: &str) -> ::core::option::Option<Self> {
                match name {
                    #( #names => ::core::option::Option::Some(#kind::#variants), )*
                    _ => ::core::option::Option::None,
                }
            }
        }

        impl #ty {
            /// Which kind of event this is.
            #[must_use]
            pub const fn kind(&self) -> #kind {
                match self {
                    #( #patterns => #kind::#variants, )*
                }
            }

            /// The wire name of this event.
            #[must_use]
            pub const fn name(&self) -> &'static str {
                self.kind().name()
            }
        }
    })
}

/// Reads a variant's `#[event(name = "…")]`.
fn named(variant: &Variant) -> Result<Named<'_>, Error> {
    let mut name = None;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                name = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(meta.error("unknown #[event] key: expected `name = \"…\"`"))
            }
        })?;
    }
    let name = name.ok_or_else(|| {
        Error::new_spanned(
            &variant.ident,
            format!(
                "event `{}` needs its wire name: #[event(name = \"…\")]",
                variant.ident
            ),
        )
    })?;
    if name.value().is_empty() {
        return Err(Error::new_spanned(&name, "a wire name cannot be empty"));
    }
    Ok(Named { variant, name })
}

/// Two events with one wire name could never be told apart on the wire.
fn refuse_duplicates(events: &[Named<'_>]) -> Result<(), Error> {
    for (i, event) in events.iter().enumerate() {
        if let Some(first) = events[..i]
            .iter()
            .find(|e| e.name.value() == event.name.value())
        {
            return Err(Error::new_spanned(
                &event.name,
                format!(
                    "`{}` and `{}` both use the wire name {:?}",
                    first.variant.ident,
                    event.variant.ident,
                    event.name.value()
                ),
            ));
        }
    }
    Ok(())
}
