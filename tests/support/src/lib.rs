//! What mbimd's tests share so that `cargo test --workspace` passes on a
//! bare Debian machine with nothing but a Rust toolchain, as CI's is:
//!
//! - [`tools`]: the external programs the tests run (iproute2's `ip`,
//!   `dbus-daemon`, `busctl`, …), each declared once with its Debian
//!   package; a missing one is installed with apt-get when the test runs as
//!   root, and otherwise the test fails naming the package to install.
//! - [`icmp`]: ICMP echo (what `ping` does) from inside a test's network
//!   namespace, over a raw socket, so no test needs iputils.
//! - [`netns`]: a network namespace of a test's own, and a thread in it.
//! - [`process`]: signals to a test's child processes without procps's
//!   `kill`.
//! - [`scenarios`]: simulated modems for runs of several at once.
//!
//! A dev-dependency only: nothing here ships in mbimd or mbimctl.

pub mod icmp;
pub mod netns;
pub mod process;
pub mod scenarios;
pub mod tools;

/// Runs test functions of the calling file against a simulated MBIM 1.0
/// modem and an MBIMEx 3.0 one, so the layouts of both are covered without
/// copying tests: each named function takes the simulated modem's highest
/// MBIMEx version (`mbimex: u8`, the scenario's `modem.mbimex`), and gets a
/// module of the same name with the two tests `mbim_1_0` and `mbimex_3_0`.
/// `async` before the names makes them `#[tokio::test]`s; an attribute
/// before `async` replaces `#[tokio::test]` (a multi-threaded runtime).
#[macro_export]
macro_rules! against_mbim_1_0_and_3_0 {
    (#[$test:meta] async $($name:ident),* $(,)?) => {
        $($crate::against_mbimex_versions!(async [$test] [mbim_1_0 = 1, mbimex_3_0 = 3] $name);)*
    };
    (async $($name:ident),* $(,)?) => {
        $($crate::against_mbimex_versions!(async [tokio::test] [mbim_1_0 = 1, mbimex_3_0 = 3] $name);)*
    };
    ($($name:ident),* $(,)?) => {
        $($crate::against_mbimex_versions!([mbim_1_0 = 1, mbimex_3_0 = 3] $name);)*
    };
}

/// [`against_mbim_1_0_and_3_0!`] with a third test, `mbimex_4_0`, against
/// an MBIMEx 4.0 modem: for the tests of what 4.0 reshapes again (CONNECT,
/// on the default network slice, and PROVISIONED_CONTEXTS).
#[macro_export]
macro_rules! against_mbim_1_0_3_0_and_4_0 {
    (#[$test:meta] async $($name:ident),* $(,)?) => {
        $($crate::against_mbimex_versions!(async [$test] [mbim_1_0 = 1, mbimex_3_0 = 3, mbimex_4_0 = 4] $name);)*
    };
    (async $($name:ident),* $(,)?) => {
        $($crate::against_mbimex_versions!(async [tokio::test] [mbim_1_0 = 1, mbimex_3_0 = 3, mbimex_4_0 = 4] $name);)*
    };
    ($($name:ident),* $(,)?) => {
        $($crate::against_mbimex_versions!(
            [mbim_1_0 = 1, mbimex_3_0 = 3, mbimex_4_0 = 4] $name
        );)*
    };
}

/// One test function as a module with a test per `test = version` pair
/// (what the two macros above expand to).
#[doc(hidden)]
#[macro_export]
macro_rules! against_mbimex_versions {
    (async [$attribute:meta] [$($test:ident = $version:literal),*] $name:ident) => {
        mod $name {
            $(
                #[$attribute]
                async fn $test() {
                    super::$name($version).await;
                }
            )*
        }
    };
    ([$($test:ident = $version:literal),*] $name:ident) => {
        mod $name {
            $(
                #[test]
                fn $test() {
                    super::$name($version);
                }
            )*
        }
    };
}
