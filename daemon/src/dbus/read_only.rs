//! `Set` on a read-only property answers
//! `org.freedesktop.DBus.Error.PropertyReadOnly`, as the D-Bus
//! specification asks.
//!
//! zbus's `org.freedesktop.DBus.Properties.Set` answers `UnknownProperty`
//! for every property without a setter (its generated `Interface::set`
//! does not tell "no such property" from "no setter"), and every property
//! of mbimd is read-only. [`ReadOnly`] wraps an interface object and
//! delegates everything to it but that answer: a property its introspection
//! lists is read-only, any other unknown. This is the one place that
//! implements zbus's `Interface` trait by hand (zbus calls it unstable across
//! minor versions, hence the pinned minor version in Cargo.toml); the
//! objects themselves stay plain `#[zbus::interface]` types.
//!
//! It also answers a method call whose arguments have the wrong types with
//! `org.freedesktop.DBus.Error.InvalidArgs`, where zbus's generated code
//! answers its own `org.freedesktop.zbus.Error` (see [`arguments`]).

use super::arguments;
use std::collections::HashMap;
use std::fmt::Write as _;

use zbus::message::{Header, Message};
use zbus::names::{InterfaceName, MemberName};
use zbus::object_server::{DispatchResult2, Interface, SignalEmitter};
use zbus::zvariant::{OwnedValue, Value};
use zbus::{fdo, Connection, ObjectServer};

/// An interface object whose properties may only be read.
pub(crate) struct ReadOnly<I>(pub(crate) I);

impl<I: Interface> ReadOnly<I> {
    /// Whether the wrapped interface has a property named `name`.
    fn has_property(&self, name: &str) -> bool {
        let mut xml = String::new();
        self.0.introspect_to_writer(&mut xml, 0);
        let mut wanted = String::new();
        // Property names are D-Bus member names: nothing in them needs
        // escaping in XML.
        let _ = write!(wanted, "<property name=\"{name}\" ");
        xml.contains(&wanted)
    }

    /// InvalidArgs for a call of one of the interface's methods whose
    /// arguments are not of the types the method takes; `None` for any
    /// other call (unknown methods stay zbus's to answer).
    fn wrong_arguments<'call>(
        &self,
        msg: &Message,
        method: &MemberName<'_>,
    ) -> Option<DispatchResult2<'call>> {
        let mut xml = String::new();
        self.0.introspect_to_writer(&mut xml, 0);
        let expected = arguments::in_signature(&xml, method.as_str())?;
        let given = msg.body().signature().to_string_no_parens();
        if given == expected {
            return None;
        }
        let message = format!(
            "{method}: the arguments are of types \"{given}\", the method takes \"{expected}\""
        );
        Some(DispatchResult2::Async(Box::pin(async move {
            Err(fdo::Error::InvalidArgs(message))
        })))
    }
}

#[async_trait::async_trait]
impl<I: Interface> Interface for ReadOnly<I> {
    fn name() -> InterfaceName<'static> {
        I::name()
    }

    fn spawn_tasks_for_methods(&self) -> bool {
        self.0.spawn_tasks_for_methods()
    }

    async fn get(
        &self,
        property_name: &str,
        server: &ObjectServer,
        connection: &Connection,
        header: Option<&Header<'_>>,
        emitter: &SignalEmitter<'_>,
    ) -> Option<fdo::Result<OwnedValue>> {
        self.0
            .get(property_name, server, connection, header, emitter)
            .await
    }

    async fn get_all(
        &self,
        object_server: &ObjectServer,
        connection: &Connection,
        header: Option<&Header<'_>>,
        emitter: &SignalEmitter<'_>,
    ) -> fdo::Result<HashMap<String, OwnedValue>> {
        self.0
            .get_all(object_server, connection, header, emitter)
            .await
    }

    fn set<'call>(
        &'call self,
        property_name: &'call str,
        value: &'call Value<'_>,
        object_server: &'call ObjectServer,
        connection: &'call Connection,
        header: Option<&'call Header<'_>>,
        emitter: &'call SignalEmitter<'_>,
    ) -> DispatchResult2<'call> {
        match self.0.set(
            property_name,
            value,
            object_server,
            connection,
            header,
            emitter,
        ) {
            DispatchResult2::NotFound if self.has_property(property_name) => {
                let message = format!("{} is read-only", property_name);
                DispatchResult2::Async(Box::pin(async move {
                    Err(fdo::Error::PropertyReadOnly(message))
                }))
            }
            other => other,
        }
    }

    async fn set_mut(
        &mut self,
        property_name: &str,
        value: &Value<'_>,
        object_server: &ObjectServer,
        connection: &Connection,
        header: Option<&Header<'_>>,
        emitter: &SignalEmitter<'_>,
    ) -> Option<fdo::Result<()>> {
        self.0
            .set_mut(
                property_name,
                value,
                object_server,
                connection,
                header,
                emitter,
            )
            .await
    }

    fn call<'call>(
        &'call self,
        server: &'call ObjectServer,
        connection: &'call Connection,
        msg: &'call Message,
        name: MemberName<'call>,
    ) -> DispatchResult2<'call> {
        if let Some(refusal) = self.wrong_arguments(msg, &name) {
            return refusal;
        }
        self.0.call(server, connection, msg, name)
    }

    fn call_mut<'call>(
        &'call mut self,
        server: &'call ObjectServer,
        connection: &'call Connection,
        msg: &'call Message,
        name: MemberName<'call>,
    ) -> DispatchResult2<'call> {
        if let Some(refusal) = self.wrong_arguments(msg, &name) {
            return refusal;
        }
        self.0.call_mut(server, connection, msg, name)
    }

    fn introspect_to_writer(&self, writer: &mut dyn std::fmt::Write, level: usize) {
        self.0.introspect_to_writer(writer, level);
    }
}
