//! `#[mbim_struct]`: an MBIM payload layout declared once, its codec generated.
//!
//! The struct is written field by field in wire order, as the specification's
//! table lists them. Each field's *wire form* follows from its type, or from an
//! `#[mbim(...)]` attribute where the type alone is ambiguous:
//!
//! | declaration | wire form |
//! |---|---|
//! | `u32`, `u64`, `Uuid`, `Ipv4Addr`, `[u8; N]`, an `mbim_enum!`/`mbim_flags!` type, an `inline` struct | the value in the static part |
//! | `String` | offset/length pair to UTF-16LE text |
//! | `Vec<u8>` | offset/length pair to bytes |
//! | `Option<T>` | offset alone to a fixed-size `T`; 0 = absent |
//! | `#[mbim(nested)] T` | offset/length pair to a structure |
//! | `#[mbim(count_of = items)] n: u32` | element count of the later field `items` (not kept in the struct: it is the `Vec`'s length) |
//! | `Vec<String>` | `count` offset/length pairs to strings |
//! | `#[mbim(struct_list)] Vec<T>` | `count` offset/length pairs to structures |
//! | `#[mbim(array_at_offset)] Vec<T>` | offset to `count` contiguous fixed-size elements |
//! | `#[mbim(inline_array)] Vec<T>` | `count` fixed-size elements in the static part |
//! | `#[mbim(bytes_at_offset)] Vec<u8>` | offset to `count` bytes |
//! | `#[mbim(rest)] Vec<u8>` | every byte to the end of the buffer (last field only) |
//! | `#[mbim(nested)] Option<T>` | offset/length pair to a structure; offset 0 = absent |
//! | `#[mbim(nested_list)] Vec<T>` | offset/length pair to a count and that many structures back to back, each followed by its data (Microsoft's struct arrays) |
//! | `#[mbim(inline_bytes)] Vec<u8>` | `count` bytes in the static part, padded to 4 |
//! | `#[mbim(utf8)] String` | offset/length pair to UTF-8 text |
//! | `Tlv` | one MBIM_TLV_IE in the static part (MBIMEx 3.0) |
//! | `#[mbim(tlv_string)] String` | a WCHAR_STR TLV in the static part |
//! | `#[mbim(tlv_u16_table)] Vec<u16>` | a UINT16_TBL TLV in the static part |
//! | `Vec<Tlv>` | TLVs one after another to the end of the buffer (last field only) |
//!
//! `#[mbim(personal)]` marks personal data (masked when printed unless asked),
//! `#[mbim(secret)]` a secret (never printed, redacted in `Debug`).
//! `#[mbim_struct(inline)]` additionally makes a struct of fixed-size fields
//! usable inline and in arrays.
//!
//! Generated: the struct (count fields removed), `Payload` (decode, encode),
//! `Delimited` (how many bytes a decoded structure spans), `Describe`, and a
//! `Debug` that hides personal data and secrets, so a stray `{:?}` in a log
//! line cannot leak an ICCID or a PIN.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::{
    parse_macro_input, spanned::Spanned, Attribute, Fields, GenericArgument, Ident, ItemStruct,
    PathArguments, Type,
};

/// Declares an MBIM payload structure; see the crate documentation.
#[proc_macro_attribute]
pub fn mbim_struct(attr: TokenStream, item: TokenStream) -> TokenStream {
    let inline = if attr.is_empty() {
        false
    } else {
        let attr = parse_macro_input!(attr as Ident);
        if attr != "inline" {
            return syn::Error::new(attr.span(), "expected `inline` or nothing")
                .to_compile_error()
                .into();
        }
        true
    };
    let item = parse_macro_input!(item as ItemStruct);
    match expand(item, inline) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Inline,
    String,
    Bytes,
    Nested,
    Reference,
    Count,
    StringList,
    StructList,
    ArrayAtOffset,
    InlineArray,
    BytesAtOffset,
    Rest,
    NestedOptional,
    NestedList,
    InlineBytes,
    Utf8,
    Tlv,
    TlvString,
    TlvU16Table,
    TlvList,
}

impl Kind {
    fn needs_count(self) -> bool {
        matches!(
            self,
            Kind::StringList
                | Kind::StructList
                | Kind::ArrayAtOffset
                | Kind::InlineArray
                | Kind::BytesAtOffset
                | Kind::InlineBytes
        )
    }

    /// Wire forms that take every byte to the end and so must come last.
    fn is_tail(self) -> bool {
        matches!(self, Kind::Rest | Kind::TlvList)
    }
}

struct FieldSpec {
    ident: Ident,
    ty: Type,
    kind: Kind,
    count_of: Option<Ident>,
    personal: bool,
    secret: bool,
    /// The attributes kept on the generated struct's field (docs, cfgs).
    kept_attrs: Vec<Attribute>,
    vis: syn::Visibility,
}

fn expand(item: ItemStruct, inline: bool) -> syn::Result<TokenStream2> {
    let Fields::Named(named) = &item.fields else {
        return Err(syn::Error::new(
            item.span(),
            "#[mbim_struct] needs a struct with named fields",
        ));
    };
    let mut specs = Vec::new();
    for field in &named.named {
        specs.push(field_spec(field)?);
    }
    check_counts(&specs)?;
    if inline {
        if let Some(spec) = specs.iter().find(|s| s.kind != Kind::Inline) {
            return Err(syn::Error::new(
                spec.ident.span(),
                "an inline struct may only hold fixed-size fields",
            ));
        }
    }

    let name = &item.ident;
    let vis = &item.vis;
    let attrs = &item.attrs;
    let kept_fields = specs.iter().filter(|s| s.kind != Kind::Count).map(|s| {
        let FieldSpec {
            ident,
            ty,
            kept_attrs,
            vis,
            ..
        } = s;
        quote! { #(#kept_attrs)* #vis #ident: #ty }
    });

    let decode_steps = specs.iter().map(decode_step);
    let field_inits = specs
        .iter()
        .filter(|s| s.kind != Kind::Count)
        .map(|s| &s.ident);
    let encode_steps = specs.iter().map(encode_step);
    let describe_fields = specs
        .iter()
        .filter(|s| s.kind != Kind::Count)
        .map(describe_field);
    let debug_fields = specs
        .iter()
        .filter(|s| s.kind != Kind::Count)
        .map(debug_field);
    let name_str = name.to_string();

    let inline_impl = if inline {
        let tys = specs.iter().map(|s| &s.ty);
        let reads = specs.iter().map(|s| {
            let ident = &s.ident;
            let ty = &s.ty;
            let field = ident.to_string();
            quote! {
                let #ident = <#ty as ::mbim_protocol::codec::Inline>::read_inline(cursor)
                    .map_err(|e| e.within(#field).within(#name_str))?;
            }
        });
        let writes = specs.iter().map(|s| {
            let ident = &s.ident;
            quote! { ::mbim_protocol::codec::Inline::write_inline(&self.#ident, out); }
        });
        let idents = specs.iter().map(|s| &s.ident);
        quote! {
            impl ::mbim_protocol::codec::Inline for #name {
                const SIZE: usize = 0 #(+ <#tys as ::mbim_protocol::codec::Inline>::SIZE)*;
                fn read_inline(
                    cursor: &mut ::mbim_protocol::codec::Cursor<'_>,
                ) -> ::core::result::Result<Self, ::mbim_protocol::codec::PayloadError> {
                    #(#reads)*
                    Ok(#name { #(#idents),* })
                }
                fn write_inline(&self, out: &mut ::std::vec::Vec<u8>) {
                    #(#writes)*
                }
            }
        }
    } else {
        TokenStream2::new()
    };

    let arbitrary_impl = arbitrary_impl(name, &specs);

    Ok(quote! {
        #(#attrs)*
        #vis struct #name {
            #(#kept_fields,)*
        }

        impl ::mbim_protocol::codec::Payload for #name {
            const NAME: &'static str = #name_str;

            fn decode_with(
                bytes: &[u8],
                budget: &::mbim_protocol::codec::DecodeBudget,
            ) -> ::core::result::Result<Self, ::mbim_protocol::codec::PayloadError> {
                <Self as ::mbim_protocol::codec::Delimited>::decode_prefix_with(bytes, budget)
                    .map(|(value, _)| value)
            }

            fn encode_into(&self, out: &mut ::std::vec::Vec<u8>) {
                #[allow(unused_mut)]
                let mut writer = ::mbim_protocol::codec::StructWriter::new();
                #(#encode_steps)*
                writer.finish(out);
            }
        }

        impl ::mbim_protocol::codec::Delimited for #name {
            fn decode_prefix_with(
                bytes: &[u8],
                budget: &::mbim_protocol::codec::DecodeBudget,
            ) -> ::core::result::Result<(Self, usize), ::mbim_protocol::codec::PayloadError> {
                let decode = || -> ::core::result::Result<(Self, usize), ::mbim_protocol::codec::PayloadError> {
                    #[allow(unused_mut, unused_variables)]
                    let mut reader =
                        ::mbim_protocol::codec::StructReader::with_budget(bytes, budget.clone());
                    #(#decode_steps)*
                    reader.finish()?;
                    Ok((#name { #(#field_inits),* }, reader.extent()))
                };
                decode().map_err(|error| error.within(#name_str))
            }
        }

        impl ::mbim_protocol::describe::Describe for #name {
            fn describe(&self) -> ::mbim_protocol::describe::Value {
                ::mbim_protocol::describe::Value::Struct(::std::vec![#(#describe_fields),*])
            }
        }

        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name_str)
                    #(#debug_fields)*
                    .finish()
            }
        }

        #inline_impl

        #arbitrary_impl
    })
}

/// A proptest `Arbitrary` impl, compiled only into the crate's own unit tests,
/// so every declared payload gets an encode→decode round-trip property for free.
fn arbitrary_impl(name: &Ident, specs: &[FieldSpec]) -> TokenStream2 {
    let kept: Vec<&FieldSpec> = specs.iter().filter(|s| s.kind != Kind::Count).collect();
    let strategies: Vec<TokenStream2> = kept
        .iter()
        .map(|spec| {
            let ty = &spec.ty;
            match (spec.kind, generic_arg(ty, "Vec")) {
                (Kind::Bytes | Kind::BytesAtOffset | Kind::Rest | Kind::InlineBytes, _) => {
                    quote! { ::proptest::collection::vec(::proptest::arbitrary::any::<u8>(), 0..24) }
                }
                // Trailing NULs do not survive a UTF-8 field (they are read as
                // terminators), so the property draws text without them.
                (Kind::Utf8, _) => quote! { "[^\\x00]{0,12}" },
                (_, Some(element)) => {
                    quote! { ::proptest::collection::vec(::proptest::arbitrary::any::<#element>(), 0..4) }
                }
                _ => quote! { ::proptest::arbitrary::any::<#ty>() },
            }
        })
        .collect();
    let idents: Vec<&Ident> = kept.iter().map(|s| &s.ident).collect();
    // proptest implements Strategy for tuples of up to 12; nest groups of 6.
    let strategy_groups = strategies.chunks(6).map(|group| quote! { (#(#group,)*) });
    let ident_groups = idents.chunks(6).map(|group| quote! { (#(#group,)*) });
    quote! {
        #[cfg(test)]
        impl ::proptest::arbitrary::Arbitrary for #name {
            type Parameters = ();
            type Strategy = ::proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use ::proptest::strategy::Strategy as _;
                (#(#strategy_groups,)*)
                    .prop_map(|(#(#ident_groups,)*)| #name { #(#idents),* })
                    .boxed()
            }
        }
    }
}

fn field_spec(field: &syn::Field) -> syn::Result<FieldSpec> {
    let ident = field
        .ident
        .clone()
        .ok_or_else(|| syn::Error::new(field.span(), "unnamed field"))?;
    let mut explicit: Option<Kind> = None;
    let mut count_of = None;
    let mut personal = false;
    let mut secret = false;
    let mut kept_attrs = Vec::new();
    for attr in &field.attrs {
        if !attr.path().is_ident("mbim") {
            kept_attrs.push(attr.clone());
            continue;
        }
        attr.parse_nested_meta(|meta| {
            let set = |kind: Kind, explicit: &mut Option<Kind>| -> syn::Result<()> {
                if explicit.replace(kind).is_some() {
                    return Err(meta.error("more than one wire form given"));
                }
                Ok(())
            };
            let path = &meta.path;
            if path.is_ident("count_of") {
                let target: Ident = meta.value()?.parse()?;
                count_of = Some(target);
                set(Kind::Count, &mut explicit)
            } else if path.is_ident("personal") {
                personal = true;
                Ok(())
            } else if path.is_ident("secret") {
                secret = true;
                Ok(())
            } else if path.is_ident("nested") {
                set(Kind::Nested, &mut explicit)
            } else if path.is_ident("struct_list") {
                set(Kind::StructList, &mut explicit)
            } else if path.is_ident("array_at_offset") {
                set(Kind::ArrayAtOffset, &mut explicit)
            } else if path.is_ident("inline_array") {
                set(Kind::InlineArray, &mut explicit)
            } else if path.is_ident("bytes_at_offset") {
                set(Kind::BytesAtOffset, &mut explicit)
            } else if path.is_ident("rest") {
                set(Kind::Rest, &mut explicit)
            } else if path.is_ident("inline") {
                set(Kind::Inline, &mut explicit)
            } else if path.is_ident("nested_list") {
                set(Kind::NestedList, &mut explicit)
            } else if path.is_ident("inline_bytes") {
                set(Kind::InlineBytes, &mut explicit)
            } else if path.is_ident("utf8") {
                set(Kind::Utf8, &mut explicit)
            } else if path.is_ident("tlv_string") {
                set(Kind::TlvString, &mut explicit)
            } else if path.is_ident("tlv_u16_table") {
                set(Kind::TlvU16Table, &mut explicit)
            } else {
                Err(meta.error(
                    "unknown mbim attribute; expected count_of, personal, secret, nested, \
                     struct_list, array_at_offset, inline_array, bytes_at_offset, rest, inline, \
                     nested_list, inline_bytes, utf8, tlv_string or tlv_u16_table",
                ))
            }
        })?;
    }
    let kind = match explicit {
        // An optional nested structure: offset 0 means absent.
        Some(Kind::Nested) if generic_arg(&field.ty, "Option").is_some() => Kind::NestedOptional,
        Some(kind) => kind,
        None => default_kind(&field.ty)?,
    };
    if kind == Kind::Count && !is_ident_type(&field.ty, "u32") {
        return Err(syn::Error::new(field.ty.span(), "a count field is a u32"));
    }
    Ok(FieldSpec {
        ident,
        ty: field.ty.clone(),
        kind,
        count_of,
        personal,
        secret,
        kept_attrs,
        vis: field.vis.clone(),
    })
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

fn is_ident_type(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name && s.arguments.is_empty())
}

/// The `T` of `Wrapper<T>`.
fn generic_arg<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let segment = last_segment(ty)?;
    if segment.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

fn default_kind(ty: &Type) -> syn::Result<Kind> {
    if is_ident_type(ty, "String") {
        return Ok(Kind::String);
    }
    if is_ident_type(ty, "Tlv") {
        return Ok(Kind::Tlv);
    }
    if generic_arg(ty, "Option").is_some() {
        return Ok(Kind::Reference);
    }
    if let Some(inner) = generic_arg(ty, "Vec") {
        if is_ident_type(inner, "u8") {
            return Ok(Kind::Bytes);
        }
        if is_ident_type(inner, "String") {
            return Ok(Kind::StringList);
        }
        if is_ident_type(inner, "Tlv") {
            return Ok(Kind::TlvList);
        }
        return Err(syn::Error::new(
            ty.span(),
            "say how this list is laid out: #[mbim(struct_list)], #[mbim(array_at_offset)], \
             #[mbim(inline_array)], #[mbim(nested_list)] or #[mbim(tlv_u16_table)]",
        ));
    }
    Ok(Kind::Inline)
}

fn check_counts(specs: &[FieldSpec]) -> syn::Result<()> {
    for (index, spec) in specs.iter().enumerate() {
        if spec.kind.is_tail() && index + 1 != specs.len() {
            return Err(syn::Error::new(
                spec.ident.span(),
                "a field that runs to the end of the buffer (#[mbim(rest)], Vec<Tlv>) must be \
                 the last field",
            ));
        }
        if let Some(target) = &spec.count_of {
            let Some(target_spec) = specs.iter().skip(index + 1).find(|s| &s.ident == target)
            else {
                return Err(syn::Error::new(
                    target.span(),
                    "count_of must name a later field of this struct",
                ));
            };
            if !target_spec.kind.needs_count() {
                return Err(syn::Error::new(
                    target.span(),
                    "that field's wire form takes no count",
                ));
            }
        }
        if spec.kind.needs_count()
            && !specs
                .iter()
                .any(|s| s.count_of.as_ref() == Some(&spec.ident))
        {
            return Err(syn::Error::new(
                spec.ident.span(),
                "this list needs an earlier `#[mbim(count_of = ...)]` field",
            ));
        }
    }
    Ok(())
}

fn count_var(target: &Ident) -> Ident {
    format_ident!("__count_of_{}", target)
}

fn decode_step(spec: &FieldSpec) -> TokenStream2 {
    let ident = &spec.ident;
    let field = ident.to_string();
    let ty = &spec.ty;
    let element = generic_arg(ty, "Vec").or_else(|| generic_arg(ty, "Option"));
    let count = count_var(ident);
    match spec.kind {
        Kind::Inline => quote! { let #ident: #ty = reader.inline(#field)?; },
        Kind::String => quote! { let #ident = reader.string(#field)?; },
        Kind::Bytes => quote! { let #ident = reader.bytes(#field)?; },
        Kind::Nested => quote! { let #ident: #ty = reader.nested(#field)?; },
        Kind::Reference => quote! { let #ident: #ty = reader.reference(#field)?; },
        Kind::Count => {
            // `check_counts` guarantees `count_of` is set for Count fields.
            let target = spec.count_of.as_ref().unwrap_or(ident);
            let var = count_var(target);
            quote! { let #var = reader.count(#field)?; }
        }
        Kind::StringList => quote! { let #ident = reader.string_list(#field, #count)?; },
        Kind::StructList => {
            quote! { let #ident: #ty = reader.struct_list::<#element>(#field, #count)?; }
        }
        Kind::ArrayAtOffset => {
            quote! { let #ident: #ty = reader.array_at_offset::<#element>(#field, #count)?; }
        }
        Kind::InlineArray => {
            quote! { let #ident: #ty = reader.inline_array::<#element>(#field, #count)?; }
        }
        Kind::BytesAtOffset => quote! { let #ident = reader.bytes_at_offset(#field, #count)?; },
        Kind::Rest => quote! { let #ident = reader.rest(#field)?; },
        Kind::NestedOptional => quote! { let #ident: #ty = reader.nested_optional(#field)?; },
        Kind::NestedList => {
            quote! { let #ident: #ty = reader.nested_list::<#element>(#field)?; }
        }
        Kind::InlineBytes => quote! { let #ident = reader.inline_bytes(#field, #count)?; },
        Kind::Utf8 => quote! { let #ident = reader.utf8_string(#field)?; },
        Kind::Tlv => quote! { let #ident = reader.tlv(#field)?; },
        Kind::TlvString => quote! { let #ident = reader.tlv_string(#field)?; },
        Kind::TlvU16Table => quote! { let #ident = reader.tlv_u16_table(#field)?; },
        Kind::TlvList => quote! { let #ident = reader.tlv_list(#field)?; },
    }
}

fn encode_step(spec: &FieldSpec) -> TokenStream2 {
    let ident = &spec.ident;
    match spec.kind {
        Kind::Inline => quote! { writer.inline(&self.#ident); },
        Kind::String => quote! { writer.string(&self.#ident); },
        Kind::Bytes => quote! { writer.bytes(&self.#ident); },
        Kind::Nested => quote! { writer.nested(&self.#ident); },
        Kind::Reference => quote! { writer.reference(self.#ident.as_ref()); },
        Kind::Count => {
            let target = spec.count_of.as_ref().unwrap_or(ident);
            quote! { writer.count(self.#target.len()); }
        }
        Kind::StringList => quote! { writer.string_list(&self.#ident); },
        Kind::StructList => quote! { writer.struct_list(&self.#ident); },
        Kind::ArrayAtOffset => quote! { writer.array_at_offset(&self.#ident); },
        Kind::InlineArray => quote! { writer.inline_array(&self.#ident); },
        Kind::BytesAtOffset => quote! { writer.bytes_at_offset(&self.#ident); },
        Kind::Rest => quote! { writer.rest(&self.#ident); },
        Kind::NestedOptional => quote! { writer.nested_optional(self.#ident.as_ref()); },
        Kind::NestedList => quote! { writer.nested_list(&self.#ident); },
        Kind::InlineBytes => quote! { writer.inline_bytes(&self.#ident); },
        Kind::Utf8 => quote! { writer.utf8_string(&self.#ident); },
        Kind::Tlv => quote! { writer.tlv(&self.#ident); },
        Kind::TlvString => quote! { writer.tlv_string(&self.#ident); },
        Kind::TlvU16Table => quote! { writer.tlv_u16_table(&self.#ident); },
        Kind::TlvList => quote! { writer.tlv_list(&self.#ident); },
    }
}

fn describe_field(spec: &FieldSpec) -> TokenStream2 {
    let ident = &spec.ident;
    let name = ident.to_string();
    let is_list = generic_arg(&spec.ty, "Vec").is_some_and(|inner| !is_ident_type(inner, "u8"));
    let value = if spec.secret {
        quote! { ::mbim_protocol::describe::Value::Secret }
    } else if is_list {
        quote! { ::mbim_protocol::describe::DescribeList::describe_list(self.#ident.as_slice()) }
    } else {
        quote! { ::mbim_protocol::describe::Describe::describe(&self.#ident) }
    };
    let value = if spec.personal && !spec.secret {
        quote! { ::mbim_protocol::describe::Value::Personal(::std::boxed::Box::new(#value)) }
    } else {
        value
    };
    quote! { (#name, #value) }
}

fn debug_field(spec: &FieldSpec) -> TokenStream2 {
    let ident = &spec.ident;
    let name = ident.to_string();
    if spec.secret || spec.personal {
        let mask = if spec.secret {
            "<secret>"
        } else {
            "<personal>"
        };
        quote! { .field(#name, &::core::format_args!(#mask)) }
    } else {
        quote! { .field(#name, &self.#ident) }
    }
}
