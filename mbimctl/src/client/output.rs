//! Standard output: text for people, pretty JSON for scripts.

use super::ClientError;
use std::io::Write;

/// Prints `text` to standard output; a reader that went away (`| head`) is
/// no error.
pub(super) fn print(text: &str) -> Result<(), ClientError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(ClientError::Input(format!(
            "cannot write to standard output: {error}"
        ))),
    }
}

pub(super) fn print_json(value: &serde_json::Value) -> Result<(), ClientError> {
    print(&format!("{value:#}\n"))
}

pub(super) fn text_list(items: &[u32]) -> String {
    let items: Vec<String> = items.iter().map(u32::to_string).collect();
    format!("[{}]", items.join(", "))
}
