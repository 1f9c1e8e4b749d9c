//! `#[derive(Event)]`: one definition of an event enum yields everything the
//! rest of the code needs to know about its events: names, kinds, codecs,
//! acks and requests.
//!
//! ```ignore
//! #[derive(Event)]
//! #[event(payload = crate::payload, sent_by = "client")]
//! pub enum ClientEvent {
//!     #[event(name = "identify", ack = IdentifyOk, expect = "a name (a string)")]
//!     Identify { name: String },
//! }
//! ```
//!
//! With `payload` and `sent_by` on the enum, it also writes the codecs:
//! serde both ways (`decode`, `args`, `arg_text`, `from_parts`,
//! `from_array`, `to_array`, calling the `payload` module), and the lean
//! codec in the direction the receiving page needs (`write_args` for events
//! a client sends, `read_args` for events a server sends; payloads derive
//! [`FromJson`](macro@FromJson) / [`ToJson`](macro@ToJson)). With `ack = T`
//! on a variant: `IdentifyAck = Ack<T>` and the request type `Identify {
//! name }`, its `From` into the event and its `Request` impl (`Ack` and
//! `Request` as the caller has them in scope).
//!
//! It always generates, next to the enum:
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
use syn::{parse_macro_input, Data, DeriveInput, Error, Fields, LitStr, Path, Type, Variant};

mod json;

/// The lean reading of a payload type (`sio_proto::read::FromJson`, and
/// `FromObject` for a struct), from its definition and `#[serde(…)]`
/// attributes: see `src/json.rs` for the shapes it takes.
#[proc_macro_derive(FromJson, attributes(serde))]
pub fn derive_from_json(input: TokenStream) -> TokenStream {
    run(input, json::expand_from)
}

/// The lean writing of a payload type (`sio_proto::read::ToJson`).
#[proc_macro_derive(ToJson, attributes(serde))]
pub fn derive_to_json(input: TokenStream) -> TokenStream {
    run(input, json::expand_to)
}

/// See the crate documentation.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    run(input, expand)
}

/// Parses the item, expands it, and turns an error into a compile error
/// that points at the offending part.
fn run(
    input: TokenStream,
    expand: fn(&DeriveInput) -> Result<proc_macro2::TokenStream, Error>,
) -> TokenStream {
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
    run(input, expand_codes)
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
    Ok(Named {
        variant,
        name,
        ack: None,
        expect: None,
    })
}

/// One event (or code): its variant, its wire name, and for events the
/// rest of its `#[event(…)]`.
struct Named<'a> {
    variant: &'a Variant,
    name: LitStr,
    /// `ack = T`: a request event, answered with `Ack<T>`.
    ack: Option<Type>,
    /// `expect = "…"`: the argument in a person's words, for errors.
    expect: Option<LitStr>,
}

impl Named<'_> {
    /// The payload's type: the variant's one field, if it has one.
    fn payload(&self) -> Result<Option<&Type>, Error> {
        let fields = match &self.variant.fields {
            Fields::Unit => return Ok(None),
            Fields::Named(fields) => &fields.named,
            Fields::Unnamed(fields) => &fields.unnamed,
        };
        match fields.len() {
            1 => Ok(fields.first().map(|field| &field.ty)),
            _ => Err(Error::new_spanned(
                &self.variant.ident,
                "an event carries one payload (a struct for several values)",
            )),
        }
    }

    /// `expect` as an `Option<&'static str>` expression.
    fn expect_tokens(&self) -> proc_macro2::TokenStream {
        match &self.expect {
            Some(text) => quote!(::core::option::Option::Some(#text)),
            None => quote!(::core::option::Option::None),
        }
    }

    /// `Variant`, `Variant(x)` or `Variant { field: x }`, binding the payload to `x`.
    fn bind(&self, ty: &syn::Ident) -> proc_macro2::TokenStream {
        let ident = &self.variant.ident;
        match &self.variant.fields {
            Fields::Unit => quote!(#ty::#ident),
            Fields::Unnamed(_) => quote!(#ty::#ident(x)),
            Fields::Named(fields) => {
                let field = fields.named.first().and_then(|f| f.ident.as_ref());
                quote!(#ty::#ident { #field: x })
            }
        }
    }
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
    let acks = ack_types(vis, ty, &events);
    let codec = match payload_module(input)? {
        Some((module, side)) => {
            let serde = codec(ty, &kind, &module, &events)?;
            let lean = lean_codec(ty, &kind, &module, side, &events)?;
            quote!(#serde #lean)
        }
        None => quote!(),
    };

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

        #acks

        #codec

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
    let (mut name, mut ack, mut expect) = (None, None, None);
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                name = Some(meta.value()?.parse::<LitStr>()?);
            } else if meta.path.is_ident("ack") {
                ack = Some(meta.value()?.parse::<Type>()?);
            } else if meta.path.is_ident("expect") {
                expect = Some(meta.value()?.parse::<LitStr>()?);
            } else {
                return Err(meta.error(
                    "unknown #[event] key: expected `name = \"…\"`, `ack = Type` or `expect = \"…\"`",
                ));
            }
            Ok(())
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
    Ok(Named {
        variant,
        name,
        ack,
        expect,
    })
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

/// For each request event (`#[event(ack = T)]`): `pub type IdentifyAck =
/// Ack<T>;`, the reply's type named after the event, and the request itself
/// as a type of its own (`Identify { name }`, the variant's fields), which
/// converts into the event and names its reply through `Request`. `Ack`
/// and `Request` are the caller's, as it has them in scope.
fn ack_types(
    vis: &syn::Visibility,
    ty: &syn::Ident,
    events: &[Named<'_>],
) -> proc_macro2::TokenStream {
    let items = events.iter().filter_map(|event| {
        let value = event.ack.as_ref()?;
        let variant = &event.variant.ident;
        let alias = format_ident!("{}Ack", variant);
        let wire = event.name.value();
        let alias_doc = format!(
            "The reply to `{wire}` (a request: sent with an ack). Derived from `#[event(ack = …)]`."
        );
        let request_doc = format!(
            "`{wire}` sent as a request: its reply is [`{alias}`]. Derived from \
             `#[event(ack = …)]`; converts into [`{ty}::{variant}`]."
        );
        let (definition, convert) = match &event.variant.fields {
            Fields::Named(fields) => {
                let names: Vec<_> = fields.named.iter().map(|f| &f.ident).collect();
                let types: Vec<_> = fields.named.iter().map(|f| &f.ty).collect();
                let docs: Vec<Vec<_>> = fields
                    .named
                    .iter()
                    .map(|f| {
                        f.attrs
                            .iter()
                            .filter(|a| a.path().is_ident("doc"))
                            .collect()
                    })
                    .collect();
                (
                    quote!(#vis struct #variant { #( #(#docs)* pub #names: #types, )* }),
                    quote!(#ty::#variant { #( #names: request.#names, )* }),
                )
            }
            Fields::Unnamed(fields) => {
                let types: Vec<_> = fields.unnamed.iter().map(|f| &f.ty).collect();
                let index = (0..types.len()).map(syn::Index::from);
                (
                    quote!(#vis struct #variant( #( pub #types ),* );),
                    quote!(#ty::#variant( #( request.#index ),* )),
                )
            }
            Fields::Unit => (quote!(#vis struct #variant;), quote!(#ty::#variant)),
        };
        Some(quote! {
            #[doc = #alias_doc]
            #vis type #alias = Ack<#value>;

            #[doc = #request_doc]
            #[derive(Debug, Clone, PartialEq)]
            #definition

            impl ::core::convert::From<#variant> for #ty {
                fn from(request: #variant) -> Self {
                    #convert
                }
            }

            impl Request for #variant {
                type Reply = #alias;
            }
        })
    });
    quote!( #( #items )* )
}

/// Which side sends an enum's events: the other side decodes them, so the
/// lean (page) codec is written in one direction only.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// The enum's `#[event(payload = path, sent_by = "client" | "server")]`:
/// the module whose `decode`, `encode`, `read`, `write`, `split`, `join`,
/// `Value`, `RawJson`, `EventError` and `PayloadError` the derived codec
/// calls, and who sends these events.
fn payload_module(input: &DeriveInput) -> Result<Option<(Path, Side)>, Error> {
    let (mut module, mut side) = (None, None);
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("payload") {
                module = Some(meta.value()?.parse::<Path>()?);
            } else if meta.path.is_ident("sent_by") {
                let value = meta.value()?.parse::<LitStr>()?;
                side = Some(match value.value().as_str() {
                    "client" => Side::Client,
                    "server" => Side::Server,
                    _ => return Err(Error::new_spanned(value, "sent_by = \"client\" or \"server\"")),
                });
            } else {
                return Err(meta.error(
                    "unknown #[event] key on the enum: expected `payload = path` or `sent_by = \"…\"`",
                ));
            }
            Ok(())
        })?;
    }
    match (module, side) {
        (Some(module), Some(side)) => Ok(Some((module, side))),
        (None, None) => Ok(None),
        _ => Err(Error::new(
            Span::call_site(),
            "#[event(payload = …)] and #[event(sent_by = …)] go together",
        )),
    }
}

/// The lean codec, serde-free, for the side that is not the sender: a
/// server event is read on the page (`read_args`), a client event written
/// there (`write_args`). Payloads implement `sio_proto::read::FromJson` /
/// `ToJson` (`#[derive(FromJson, ToJson)]`).
fn lean_codec(
    ty: &syn::Ident,
    kind: &syn::Ident,
    module: &Path,
    side: Side,
    events: &[Named<'_>],
) -> Result<proc_macro2::TokenStream, Error> {
    let mut arms = Vec::new();
    for event in events {
        let variant = &event.variant.ident;
        let bound = event.bind(ty);
        let expect = event.expect_tokens();
        let payload = event.payload()?;
        arms.push(match (side, payload) {
            (Side::Server, None) => {
                quote!(#kind::#variant => #module::read_none(args).map(|()| #ty::#variant))
            }
            (Side::Server, Some(payload)) => {
                quote!(#kind::#variant => #module::read::<#payload, A>(args, #expect).map(|x| #bound))
            }
            (Side::Client, None) => quote!(#bound => ::std::vec::Vec::new()),
            (Side::Client, Some(_)) => quote!(#bound => #module::write(x)),
        });
    }
    Ok(match side {
        Side::Server => quote! {
            impl #ty {
                /// Reads an event whose kind is known from its arguments' raw
                /// JSON text, without serde (the lean codec a page carries).
                ///
                /// # Errors
                /// [`EventError::BadPayload`](#module::EventError::BadPayload), naming the event.
                pub fn read_args<A: ::core::convert::AsRef<str>>(kind: #kind, args: &[A]) -> ::core::result::Result<Self, #module::EventError> {
                    let read: ::core::result::Result<Self, #module::PayloadError> = match kind {
                        #( #arms, )*
                    };
                    read.map_err(|reason| #module::EventError::BadPayload { event: kind.name(), reason })
                }
            }
        },
        Side::Client => quote! {
            impl #ty {
                /// The arguments as raw JSON text, without serde (the lean
                /// codec a page carries).
                #[must_use]
                pub fn write_args(&self) -> ::std::vec::Vec<#module::RawJson> {
                    match self {
                        #( #arms, )*
                    }
                }
            }
        },
    })
}

/// The serde codec: each variant's one payload is the event's one argument
/// (none for a unit variant, or for a payload that writes `null`, as an
/// `Option` that is `None`).
fn codec(
    ty: &syn::Ident,
    kind: &syn::Ident,
    module: &Path,
    events: &[Named<'_>],
) -> Result<proc_macro2::TokenStream, Error> {
    let mut encode = Vec::new();
    let mut text = Vec::new();
    let mut decode = Vec::new();
    for event in events {
        let variant = &event.variant.ident;
        let bound = event.bind(ty);
        let expect = event.expect_tokens();
        match event.payload()? {
            None => {
                encode.push(quote!(#bound => ::std::vec::Vec::new()));
                text.push(quote!(#bound => ::core::option::Option::None));
                decode.push(
                    quote!(#kind::#variant => #module::decode_none(args).map(|()| #ty::#variant)),
                );
            }
            Some(payload) => {
                encode.push(quote!(#bound => #module::encode(x)));
                text.push(quote!(#bound => #module::encode_text(x)));
                let build = event.bind(ty);
                decode.push(quote! {
                    #kind::#variant => #module::decode::<#payload>(args, #expect).map(|x| #build)
                });
            }
        }
    }
    Ok(quote! {
        impl #ty {
            /// The arguments that follow the name in the event array.
            #[must_use]
            pub fn args(&self) -> ::std::vec::Vec<#module::Value> {
                match self {
                    #( #encode, )*
                }
            }

            /// The one argument as JSON text, straight from the payload (no
            /// value tree: a server's per-event path), or `None` for none.
            #[must_use]
            pub fn arg_text(&self) -> ::core::option::Option<::std::string::String> {
                match self {
                    #( #text, )*
                }
            }

            /// Decodes the arguments of an event whose kind is known.
            ///
            /// # Errors
            /// [`EventError::BadPayload`](#module::EventError::BadPayload), naming the event.
            pub fn decode(kind: #kind, args: &[#module::Value]) -> ::core::result::Result<Self, #module::EventError> {
                let decoded: ::core::result::Result<Self, #module::PayloadError> = match kind {
                    #( #decode, )*
                };
                decoded.map_err(|reason| #module::EventError::BadPayload { event: kind.name(), reason })
            }

            /// Decodes an event from its name and arguments.
            ///
            /// # Errors
            /// An unknown name, or arguments of the wrong shape.
            pub fn from_parts(name: &str, args: &[#module::Value]) -> ::core::result::Result<Self, #module::EventError> {
                match #kind::from_name(name) {
                    ::core::option::Option::Some(kind) => Self::decode(kind, args),
                    ::core::option::Option::None => ::core::result::Result::Err(
                        #module::EventError::UnknownEvent(::std::borrow::ToOwned::to_owned(name)),
                    ),
                }
            }

            /// The whole Socket.IO event array, `["name", arg]`.
            #[must_use]
            pub fn to_array(&self) -> #module::Value {
                #module::join(self.name(), self.args())
            }

            /// Decodes a whole event array.
            ///
            /// # Errors
            /// Not an event array, an unknown name, or bad arguments.
            pub fn from_array(value: &#module::Value) -> ::core::result::Result<Self, #module::EventError> {
                let (name, args) = #module::split(value)?;
                Self::from_parts(name, args)
            }
        }
    })
}
