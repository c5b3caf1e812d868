//! The D-Bus errors of mbimd's methods (dbus-interfaces/README.md, "Errors").

use crate::modem::RequestError;
use zbus::message::{Header, Message};
use zbus::names::ErrorName;

/// A method's failure, as the caller sees it. Messages never contain a PIN
/// or PUK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodError {
    /// `org.freedesktop.DBus.Error.AccessDenied`: neither root nor a member
    /// of the configured group.
    #[error("{0}")]
    AccessDenied(String),
    /// `org.freedesktop.DBus.Error.InvalidArgs`: a bad argument.
    #[error("{0}")]
    InvalidArgs(String),
    /// `dev.mbimd.Error.Device`: the modem refused.
    #[error("{0}")]
    Device(String),
    /// `dev.mbimd.Error.NotPossible`: not now.
    #[error("{0}")]
    NotPossible(String),
    /// `dev.mbimd.Error.Timeout`: the modem did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// `dev.mbimd.Error.Gone`: the modem went away.
    #[error("{0}")]
    Gone(String),
    /// `dev.mbimd.Error.Config`: Reload found a bad configuration file.
    #[error("{0}")]
    Config(String),
    /// `org.freedesktop.DBus.Error.Failed`: mbimd itself could not do it
    /// (the bus would not say who calls…).
    #[error("{0}")]
    Failed(String),
}

impl MethodError {
    /// The D-Bus error name.
    pub fn error_name(&self) -> &'static str {
        match self {
            MethodError::AccessDenied(_) => "org.freedesktop.DBus.Error.AccessDenied",
            MethodError::InvalidArgs(_) => "org.freedesktop.DBus.Error.InvalidArgs",
            MethodError::Device(_) => "dev.mbimd.Error.Device",
            MethodError::NotPossible(_) => "dev.mbimd.Error.NotPossible",
            MethodError::Timeout(_) => "dev.mbimd.Error.Timeout",
            MethodError::Gone(_) => "dev.mbimd.Error.Gone",
            MethodError::Config(_) => "dev.mbimd.Error.Config",
            MethodError::Failed(_) => "org.freedesktop.DBus.Error.Failed",
        }
    }

    fn message(&self) -> &str {
        match self {
            MethodError::AccessDenied(message)
            | MethodError::InvalidArgs(message)
            | MethodError::Device(message)
            | MethodError::NotPossible(message)
            | MethodError::Timeout(message)
            | MethodError::Gone(message)
            | MethodError::Config(message)
            | MethodError::Failed(message) => message,
        }
    }
}

impl zbus::DBusError for MethodError {
    fn create_reply(&self, call: &Header<'_>) -> zbus::Result<Message> {
        Message::error(call, self.name())?.build(&(self.message(),))
    }

    fn name(&self) -> ErrorName<'_> {
        ErrorName::from_static_str_unchecked(self.error_name())
    }

    fn description(&self) -> Option<&str> {
        Some(self.message())
    }
}

/// How long a method that waits on the modem waits: less than a D-Bus
/// client's default (25 s), so the caller hears `dev.mbimd.Error.Timeout`
/// from mbimd rather than a timeout of its own bus library. The device's own
/// command timeout ([`crate::executor::COMMAND_TIMEOUT`]) is shorter still;
/// this also covers a command that waited in line behind others.
pub(crate) const METHOD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(23);

/// `request`'s answer, or [`MethodError::Timeout`] after [`METHOD_DEADLINE`].
pub(crate) async fn within_deadline<T>(
    what: &str,
    request: impl std::future::Future<Output = Result<T, RequestError>>,
) -> Result<T, MethodError> {
    match tokio::time::timeout(METHOD_DEADLINE, request).await {
        Ok(answer) => Ok(answer?),
        Err(_) => Err(MethodError::Timeout(format!(
            "{what}: no answer from the modem within {} s; it may still be carried out",
            METHOD_DEADLINE.as_secs()
        ))),
    }
}

impl From<RequestError> for MethodError {
    fn from(error: RequestError) -> Self {
        let message = error.to_string();
        match error {
            RequestError::InvalidArgument(_) => MethodError::InvalidArgs(message),
            // The README promises the MBIM status in the message.
            RequestError::Device {
                status: Some(status),
                ..
            } if !message.contains(&status.to_string()) => {
                MethodError::Device(format!("{message} (MBIM status {status})"))
            }
            RequestError::Device { .. } => MethodError::Device(message),
            RequestError::NotPossible(_) => MethodError::NotPossible(message),
            RequestError::Timeout(_) => MethodError::Timeout(message),
            RequestError::Gone => MethodError::Gone(message),
        }
    }
}

/// Most characters of a caller's text an error message repeats.
const MAX_ECHOED_CHARS: usize = 40;

/// A caller's text as an error message quotes it: control characters
/// escaped, and cut short (marked with …) past [`MAX_ECHOED_CHARS`], so a
/// hostile 100,000-character argument does not come back in the answer or
/// the log.
pub(crate) fn echoed(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(MAX_ECHOED_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(MAX_ECHOED_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    #[test]
    fn echoed_text_is_escaped_and_cut_short() {
        assert_eq!(super::echoed("ask"), "ask");
        assert_eq!(super::echoed("a\u{1b}b\n"), "a\\u{1b}b\\n");
        let long = "x".repeat(100_000);
        assert_eq!(super::echoed(&long), format!("{}…", "x".repeat(40)));
    }

    use super::*;

    #[test]
    fn request_errors_map_to_the_documented_names() {
        let cases = [
            (
                RequestError::InvalidArgument("no slot 3".to_owned()),
                "org.freedesktop.DBus.Error.InvalidArgs",
            ),
            (
                RequestError::Device {
                    status: None,
                    message: "failure".to_owned(),
                },
                "dev.mbimd.Error.Device",
            ),
            (
                RequestError::NotPossible("no policy".to_owned()),
                "dev.mbimd.Error.NotPossible",
            ),
            (RequestError::Gone, "dev.mbimd.Error.Gone"),
            (
                RequestError::Timeout("the device did not answer within 20 s".to_owned()),
                "dev.mbimd.Error.Timeout",
            ),
        ];
        for (error, name) in cases {
            assert_eq!(MethodError::from(error).error_name(), name);
        }
        let refused = MethodError::from(RequestError::Device {
            status: Some(mbim_protocol::status::Status::PinRequired),
            message: "radio refused".to_owned(),
        });
        assert_eq!(
            refused.to_string(),
            format!(
                "the device refused: radio refused (MBIM status {})",
                mbim_protocol::status::Status::PinRequired
            )
        );
    }
}
