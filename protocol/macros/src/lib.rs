//! `#[mbim_struct]`: MBIM payload layouts declared once.
use proc_macro::TokenStream;

/// Declares an MBIM payload structure.
#[proc_macro_attribute]
pub fn mbim_struct(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
