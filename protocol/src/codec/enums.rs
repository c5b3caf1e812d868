//! `mbim_enum!` and `mbim_flags!`: MBIM's 32-bit enumerations and bit sets,
//! declared once with their wire values and names.
//!
//! An enumeration gets an `Unknown(u32)` variant so a value the declaration
//! does not know (newer firmware, vendor extensions) decodes instead of failing,
//! and re-encodes to the same number. Names are the short lowercase nicknames
//! libmbim and mbimcli use (`"registered"`, `"sim-not-inserted"`), so what
//! mbimd prints matches what Linux users already know.

/// Declares an MBIM 32-bit enumeration.
///
/// ```
/// mbim_protocol::mbim_enum! {
///     /// Example.
///     pub enum Colour {
///         /// Red.
///         Red = 1 => "red",
///         /// Green.
///         Green = 2 => "green",
///     }
/// }
/// assert_eq!(Colour::from(2), Colour::Green);
/// assert_eq!(Colour::from(7), Colour::Unknown(7));
/// assert_eq!(u32::from(Colour::Unknown(7)), 7);
/// assert_eq!(Colour::Green.name(), Some("green"));
/// ```
#[macro_export]
macro_rules! mbim_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $nick:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this declaration does not know; kept so it re-encodes unchanged.
            Unknown(u32),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The nickname of a known value, `None` for [`Self::Unknown`].
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($nick), )+
                    $name::Unknown(_) => None,
                }
            }

            /// The value with the given nickname.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $nick => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The wire value.
            pub const fn value(self) -> u32 {
                match self {
                    $( $name::$variant => $value, )+
                    $name::Unknown(value) => value,
                }
            }
        }

        /// The first declared value (by convention the spec's zero value).
        impl Default for $name {
            fn default() -> Self {
                [$($name::$variant),+][0]
            }
        }

        impl From<u32> for $name {
            fn from(value: u32) -> Self {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u32 {
            fn from(value: $name) -> u32 {
                value.value()
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "unknown (0x{:08x})", self.value()),
                }
            }
        }

        impl $crate::describe::Describe for $name {
            fn describe(&self) -> $crate::describe::Value {
                $crate::describe::Value::Enum { name: self.name(), value: self.value() }
            }
        }

        impl $crate::codec::Inline for $name {
            const SIZE: usize = 4;
            fn read_inline(cursor: &mut $crate::codec::Cursor<'_>) -> Result<Self, $crate::codec::PayloadError> {
                cursor.u32().map($name::from)
            }
            fn write_inline(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.value().to_le_bytes());
            }
        }

        #[cfg(test)]
        impl ::proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = ::proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use ::proptest::strategy::Strategy as _;
                // Mostly known values, sometimes any number (decoded as it would be).
                ::proptest::prop_oneof![
                    3 => ::proptest::sample::select($name::ALL).boxed(),
                    1 => ::proptest::arbitrary::any::<u32>().prop_map($name::from).boxed(),
                ]
                .boxed()
            }
        }
    };
}

/// Declares an MBIM set of flags, 32-bit (`: u32`) or, for the few 64-bit
/// fields of MBIMEx 3.0, `: u64`.
///
/// ```
/// mbim_protocol::mbim_flags! {
///     /// Example.
///     pub struct Caps: u32 {
///         /// Voice.
///         const VOICE = 0x1 => "voice";
///         /// Data.
///         const DATA = 0x4 => "data";
///     }
/// }
/// let caps = Caps::VOICE | Caps::from_bits(0x100);
/// assert!(caps.contains(Caps::VOICE));
/// assert_eq!(caps.bits(), 0x101);
/// assert_eq!(caps.names(), vec!["voice"]);
/// ```
#[macro_export]
macro_rules! mbim_flags {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident : $repr:ident {
            $( $(#[$fmeta:meta])* const $flag:ident = $value:literal => $nick:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis struct $name($repr);

        #[allow(missing_docs)]
        impl $name {
            $( $(#[$fmeta])* pub const $flag: $name = $name($value); )*
            /// Every named flag with its nickname, in declaration order.
            pub const NAMED: &'static [($name, &'static str)] = &[$(($name::$flag, $nick)),*];

            /// No flag set.
            pub const fn empty() -> Self {
                $name(0)
            }

            /// Flags from raw bits; unknown bits are kept.
            pub const fn from_bits(bits: $repr) -> Self {
                $name(bits)
            }

            /// The raw bits.
            pub const fn bits(self) -> $repr {
                self.0
            }

            /// Whether every bit of `other` is set in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// The nicknames of the named flags that are set.
            pub fn names(self) -> Vec<&'static str> {
                Self::NAMED
                    .iter()
                    .filter(|(flag, _)| flag.0 != 0 && self.contains(*flag))
                    .map(|(_, nick)| *nick)
                    .collect()
            }

            /// The flag with the given nickname.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::NAMED.iter().find(|(_, nick)| *nick == name).map(|(flag, _)| *flag)
            }
        }

        impl ::core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, other: Self) -> Self {
                $name(self.0 | other.0)
            }
        }

        impl ::core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, other: Self) {
                self.0 |= other.0;
            }
        }

        impl ::core::ops::BitAnd for $name {
            type Output = Self;
            fn bitand(self, other: Self) -> Self {
                $name(self.0 & other.0)
            }
        }

        impl From<$repr> for $name {
            fn from(bits: $repr) -> Self {
                $name(bits)
            }
        }

        impl From<$name> for $repr {
            fn from(flags: $name) -> $repr {
                flags.0
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                write!(f, "{}(0x{:x}: {:?})", stringify!($name), self.0, self.names())
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let names = self.names();
                let known = names.iter().fold(0, |acc: $repr, nick| {
                    acc | Self::from_name(nick).map_or(0, |flag| flag.0)
                });
                let unknown = self.0 & !known;
                if names.is_empty() && unknown == 0 {
                    return f.write_str("none");
                }
                f.write_str(&names.join(", "))?;
                if unknown != 0 {
                    if !names.is_empty() {
                        f.write_str(", ")?;
                    }
                    write!(f, "0x{unknown:x}")?;
                }
                Ok(())
            }
        }

        impl $crate::describe::Describe for $name {
            fn describe(&self) -> $crate::describe::Value {
                $crate::describe::Value::Flags { names: self.names(), value: u64::from(self.0) }
            }
        }

        impl $crate::codec::Inline for $name {
            const SIZE: usize = <$repr as $crate::codec::Inline>::SIZE;
            fn read_inline(cursor: &mut $crate::codec::Cursor<'_>) -> Result<Self, $crate::codec::PayloadError> {
                <$repr as $crate::codec::Inline>::read_inline(cursor).map($name)
            }
            fn write_inline(&self, out: &mut Vec<u8>) {
                $crate::codec::Inline::write_inline(&self.0, out);
            }
        }

        #[cfg(test)]
        impl ::proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = ::proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use ::proptest::strategy::Strategy as _;
                ::proptest::arbitrary::any::<$repr>().prop_map($name).boxed()
            }
        }
    };
}
