//! The face's own small object server: every method call to the
//! connection comes here and is answered from the table and the
//! interfaces' declarations (see the module doc of [`super`] for why not
//! zbus's). Standard interfaces (Properties, ObjectManager, Introspectable,
//! Peer) are answered here; ModemManager's go to their interface's module.
//! Each call runs in a task of its own (Simple.Connect waits for the
//! network), at most [`MAX_CALLS`] at once.

use super::errors::{Bus as BusError, Core, MmError};
use super::model::Target;
use super::spec::{self, Interface};
use super::{bearer, manager, modem, modem_3gpp, signal, sim, simple, Face};
use crate::logging::chain;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use zbus::message::{Flags, Type as MessageType};
use zbus::zvariant::{DynamicDeserialize, DynamicType};
use zbus::{MatchRule, Message, MessageStream};

/// How many calls may be in progress at once; more are refused with
/// `org.freedesktop.DBus.Error.LimitsExceeded` rather than queued without
/// bound.
pub(crate) const MAX_CALLS: usize = 64;

const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const OBJECT_MANAGER: &str = "org.freedesktop.DBus.ObjectManager";
const INTROSPECTABLE: &str = "org.freedesktop.DBus.Introspectable";
const PEER: &str = "org.freedesktop.DBus.Peer";

/// A call being answered.
pub(crate) struct Call<'a> {
    pub(crate) face: &'a Arc<Face>,
    pub(crate) message: &'a Message,
    /// What the call is, for messages ("Simple.Connect").
    pub(crate) what: String,
}

impl Call<'_> {
    /// The call's arguments, as owned values (the types of a
    /// ModemManager method's were checked against its declaration before
    /// the call got here; a standard interface's call of other types is
    /// refused with D-Bus's own InvalidArgs, as GLib's servers do).
    pub(crate) fn args<T>(&self) -> Result<T, MmError>
    where
        T: for<'de> DynamicDeserialize<'de>,
    {
        self.message.body().deserialize().map_err(|error| {
            MmError::bus(
                BusError::InvalidArgs,
                format!("{}: cannot read the arguments: {error}", self.what),
            )
        })
    }

    /// A reply with `body`.
    pub(crate) fn reply<B>(&self, body: &B) -> Result<Message, MmError>
    where
        B: serde::Serialize + DynamicType,
    {
        Message::method_return(&self.message.header())
            .and_then(|builder| builder.build(body))
            .map_err(|error| {
                MmError::bus(
                    BusError::Failed,
                    format!("{}: cannot build the reply: {}", self.what, chain(&error)),
                )
            })
    }

    /// An empty reply.
    pub(crate) fn done(&self) -> Result<Message, MmError> {
        self.reply(&())
    }

    /// Whether the caller is root, mbimd's user or in its group, as the
    /// bus says (any doubt: no).
    pub(crate) async fn privileged(&self) -> bool {
        crate::dbus::access::privileged(
            &self.face.connection,
            &self.face.access(),
            &self.message.header(),
        )
        .await
        .unwrap_or(false)
    }

    /// Fails with `Core.Unauthorized` unless the caller is privileged
    /// (the same rule as mbimd's own API).
    pub(crate) async fn authorize(&self) -> Result<(), MmError> {
        match crate::dbus::access::privileged(
            &self.face.connection,
            &self.face.access(),
            &self.message.header(),
        )
        .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(MmError::core(
                Core::Unauthorized,
                format!(
                    "{} needs root or membership of mbimd's configured group",
                    self.what
                ),
            )),
            Err(error) => Err(MmError::core(
                Core::Unauthorized,
                format!("{}: {error}", self.what),
            )),
        }
    }
}

/// Starts answering the connection's method calls.
pub(crate) async fn listen(face: Arc<Face>) -> zbus::Result<tokio::task::JoinHandle<()>> {
    let rule = MatchRule::builder()
        .msg_type(MessageType::MethodCall)
        .build();
    let mut stream = MessageStream::for_match_rule(rule, &face.connection, Some(MAX_CALLS)).await?;
    Ok(tokio::spawn(async move {
        while let Some(message) = stream.next().await {
            let Ok(message) = message else { continue };
            let permit = Arc::clone(&face.calls).try_acquire_owned();
            let face = Arc::clone(&face);
            tokio::spawn(async move {
                let result = match permit {
                    Ok(_permit) => answer(&face, &message).await,
                    Err(_) => Err(MmError::bus(
                        BusError::LimitsExceeded,
                        format!("more than {MAX_CALLS} calls in progress; try again"),
                    )),
                };
                respond(&face, &message, result).await;
            });
        }
    }))
}

/// Sends the reply (or the error) unless the caller asked for none.
async fn respond(face: &Face, message: &Message, result: Result<Message, MmError>) {
    if message
        .primary_header()
        .flags()
        .contains(Flags::NoReplyExpected)
    {
        return;
    }
    let reply = match result {
        Ok(reply) => Ok(reply),
        Err(error) => {
            let header = message.header();
            zbus::names::ErrorName::try_from(error.name())
                .map_err(zbus::Error::from)
                .and_then(|name| Message::error(&header, name))
                .and_then(|builder| builder.build(&(error.message(),)))
        }
    };
    match reply {
        Ok(reply) => {
            if let Err(error) = face.connection.send(&reply).await {
                tracing::debug!("ModemManager API: cannot send a reply: {}", chain(&error));
            }
        }
        Err(error) => tracing::warn!("ModemManager API: cannot build a reply: {}", chain(&error)),
    }
}

static MANAGER_OBJECT: [&Interface; 1] = [&spec::MANAGER];
static MODEM_OBJECT: [&Interface; 4] = [
    &spec::MODEM,
    &spec::MODEM_3GPP,
    &spec::SIGNAL,
    &spec::SIMPLE,
];
static SIM_OBJECT: [&Interface; 1] = [&spec::SIM];
static BEARER_OBJECT: [&Interface; 1] = [&spec::BEARER];

/// The interfaces of an object.
fn interfaces_of(target: Target) -> &'static [&'static Interface] {
    match target {
        Target::Manager => &MANAGER_OBJECT,
        Target::Modem { .. } => &MODEM_OBJECT,
        Target::Sim { .. } => &SIM_OBJECT,
        Target::Bearer { .. } | Target::ExtraBearer { .. } => &BEARER_OBJECT,
    }
}

/// Answers one call.
async fn answer(face: &Arc<Face>, message: &Message) -> Result<Message, MmError> {
    let header = message.header();
    let path = header
        .path()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_default();
    let member = header
        .member()
        .map(|member| member.as_str().to_owned())
        .unwrap_or_default();
    let interface = header
        .interface()
        .map(|interface| interface.as_str().to_owned());
    let what = format!(
        "{}.{member}",
        interface
            .as_deref()
            .map(|name| name.rsplit('.').next().unwrap_or(name))
            .unwrap_or("")
    );
    let call = Call {
        face,
        message,
        what,
    };
    match interface.as_deref() {
        Some(PEER) => return peer(&call, &member),
        Some(INTROSPECTABLE) => return introspect(&call, &path, &member),
        _ => {}
    }
    let target = face
        .find(&path)
        .ok_or_else(|| MmError::bus(BusError::UnknownObject, format!("no object at {path}")))?;
    match interface.as_deref() {
        Some(PROPERTIES) => return properties(&call, &path, target, &member).await,
        Some(OBJECT_MANAGER) if target == Target::Manager => {
            return object_manager(&call, &member).await
        }
        _ => {}
    }
    // A call without an interface names a method of any of the object's.
    let interfaces = interfaces_of(target);
    let found = interfaces.iter().find_map(|candidate| {
        let named = interface
            .as_deref()
            .is_none_or(|name| name == candidate.name);
        named
            .then(|| candidate.method(&member).map(|method| (*candidate, method)))
            .flatten()
    });
    let Some((interface, method)) = found else {
        return Err(match interface {
            Some(name) if !interfaces.iter().any(|each| each.name == name) => MmError::bus(
                BusError::UnknownInterface,
                format!("{path} has no interface {name}"),
            ),
            _ => MmError::bus(
                BusError::UnknownMethod,
                format!("{path} has no method {member}"),
            ),
        });
    };
    let given = message.body().signature().to_string_no_parens();
    let expected = method.input_signature();
    // ModemManager's own error for its own methods, as for a bad value
    // inside the arguments: a client tells both apart by the message, not
    // by two error domains for one mistake.
    if given != body_signature(&expected) {
        return Err(MmError::invalid(format!(
            "{}.{member} takes ({expected}), not ({given})",
            interface.name
        )));
    }
    let call = Call {
        what: format!(
            "{}.{member}",
            interface
                .name
                .strip_prefix("org.freedesktop.ModemManager1.")
                .unwrap_or(interface.name)
        ),
        ..call
    };
    match target {
        Target::Manager => manager::call(&call, &member).await,
        Target::Modem { modem, executor } => match interface.name {
            name if name == spec::MODEM.name => modem::call(&call, modem, executor, &member).await,
            name if name == spec::MODEM_3GPP.name => {
                modem_3gpp::call(&call, modem, executor, &member).await
            }
            name if name == spec::SIGNAL.name => {
                signal::call(&call, modem, executor, &member).await
            }
            _ => simple::call(&call, modem, executor, &member).await,
        },
        Target::Sim { modem, slot } => sim::call(&call, modem, slot, &member).await,
        Target::Bearer { modem, executor } => bearer::call(&call, modem, executor, &member).await,
        Target::ExtraBearer {
            modem,
            executor,
            number,
        } => bearer::call_extra(&call, modem, executor, number, &member).await,
    }
}

/// A method's declared in-arguments as zvariant writes a message body's
/// signature (without the outer parentheses: a body of one structure,
/// `(uu)` for SetCurrentModes, reads `uu`, as a body of two `u` does).
fn body_signature(declared: &str) -> String {
    zbus::zvariant::Signature::try_from(declared)
        .map(|signature| signature.to_string_no_parens())
        .unwrap_or_else(|_| declared.to_owned())
}

fn peer(call: &Call<'_>, member: &str) -> Result<Message, MmError> {
    match member {
        "Ping" => call.done(),
        "GetMachineId" => {
            let id = std::fs::read_to_string("/etc/machine-id").map_err(|error| {
                MmError::bus(
                    BusError::Failed,
                    format!("cannot read /etc/machine-id: {error}"),
                )
            })?;
            call.reply(&(id.trim(),))
        }
        other => Err(MmError::bus(
            BusError::UnknownMethod,
            format!("{PEER} has no method {other}"),
        )),
    }
}

/// Introspection of any node on the way to the objects, too, so that
/// `busctl tree` walks the whole service.
fn introspect(call: &Call<'_>, path: &str, member: &str) -> Result<Message, MmError> {
    if member != "Introspect" {
        return Err(MmError::bus(
            BusError::UnknownMethod,
            format!("{INTROSPECTABLE} has no method {member}"),
        ));
    }
    let paths = call.face.paths();
    let prefix = if path == "/" {
        "/".to_owned()
    } else {
        format!("{path}/")
    };
    let mut children: Vec<String> = paths
        .iter()
        .filter_map(|each| each.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('/').next())
        .filter(|child| !child.is_empty())
        .map(str::to_owned)
        .collect();
    children.sort();
    children.dedup();
    let (interfaces, extra): (&[&Interface], &str) = match call.face.find(path) {
        Some(Target::Manager) => (interfaces_of(Target::Manager), spec::OBJECT_MANAGER_XML),
        Some(target) => (interfaces_of(target), ""),
        None if children.is_empty() => {
            return Err(MmError::bus(
                BusError::UnknownObject,
                format!("no object at {path}"),
            ))
        }
        None => (&[], ""),
    };
    call.reply(&(spec::introspect(interfaces, extra, &children),))
}

async fn properties(
    call: &Call<'_>,
    path: &str,
    target: Target,
    member: &str,
) -> Result<Message, MmError> {
    let interfaces = interfaces_of(target);
    let known = |name: &str| {
        interfaces
            .iter()
            .find(|interface| interface.name == name)
            .copied()
            .ok_or_else(|| {
                MmError::bus(
                    BusError::UnknownInterface,
                    format!("{path} has no interface {name}"),
                )
            })
    };
    let rendered = |personal: bool| {
        call.face
            .render_object(path, personal)
            .ok_or_else(|| MmError::bus(BusError::UnknownObject, format!("no object at {path}")))
    };
    match member {
        "Get" => {
            let (interface, property): (String, String) = call.args()?;
            let declared = known(&interface)?;
            if declared.property(&property).is_none() {
                return Err(MmError::bus(
                    BusError::UnknownProperty,
                    format!("{interface} has no property {property}"),
                ));
            }
            let personal = call.privileged().await;
            let all = rendered(personal)?;
            let value = all
                .iter()
                .find(|(name, _)| *name == interface)
                .and_then(|(_, props)| props.iter().find(|(name, _)| *name == property))
                .map(|(_, value)| value)
                .ok_or_else(|| {
                    MmError::bus(
                        BusError::UnknownProperty,
                        format!("{interface}.{property} is not available"),
                    )
                })?;
            call.reply(&(value,))
        }
        "GetAll" => {
            let (interface,): (String,) = call.args()?;
            known(&interface)?;
            let personal = call.privileged().await;
            let all = rendered(personal)?;
            let props: HashMap<&str, &zbus::zvariant::Value<'_>> = all
                .iter()
                .find(|(name, _)| *name == interface)
                .map(|(_, props)| props.iter().map(|(name, value)| (*name, value)).collect())
                .unwrap_or_default();
            call.reply(&(props,))
        }
        "Set" => {
            let (interface, property, _value): (String, String, zbus::zvariant::OwnedValue) =
                call.args()?;
            let declared = known(&interface)?;
            Err(match declared.property(&property) {
                Some(_) => MmError::bus(
                    BusError::PropertyReadOnly,
                    format!("{interface}.{property} is read-only"),
                ),
                None => MmError::bus(
                    BusError::UnknownProperty,
                    format!("{interface} has no property {property}"),
                ),
            })
        }
        other => Err(MmError::bus(
            BusError::UnknownMethod,
            format!("{PROPERTIES} has no method {other}"),
        )),
    }
}

async fn object_manager(call: &Call<'_>, member: &str) -> Result<Message, MmError> {
    if member != "GetManagedObjects" {
        return Err(MmError::bus(
            BusError::UnknownMethod,
            format!("{OBJECT_MANAGER} has no method {member}"),
        ));
    }
    let personal = call.privileged().await;
    call.reply(&(call.face.managed_objects(personal),))
}

#[cfg(test)]
mod tests {
    use super::body_signature;

    #[test]
    fn declared_arguments_read_as_a_body_signature() {
        assert_eq!(body_signature("(uu)"), "uu");
        assert_eq!(body_signature("a{sv}"), "a{sv}");
        assert_eq!(body_signature("ss"), "ss");
        assert_eq!(body_signature("sb"), "sb");
        assert_eq!(body_signature(""), "");
    }
}
