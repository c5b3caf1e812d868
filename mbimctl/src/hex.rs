//! Lenient hex input: what people paste from logs.

/// What was wrong with the hex text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HexError {
    /// A character that is neither a hex digit nor a separator.
    #[error("character {character:?} at position {position} is not a hex digit")]
    BadCharacter {
        /// The character.
        character: char,
        /// Its position in the text (in characters).
        position: usize,
    },
    /// An odd number of hex digits.
    #[error("{0} hex digits: a byte needs two")]
    OddDigits(usize),
}

/// Bytes from hex text; whitespace, `:`, `,`, `-`, `0x` prefixes and `#`
/// comments (to the end of the line, as in the capture files) are ignored.
///
/// A trace pasted whole from libmbim (`mbimcli --verbose`, ModemManager's
/// debug log) is recognised by its `data   = 03:00:00:80:…` lines: only the
/// hex after those `=` signs is read, so the surrounding text need not be
/// cut away by hand.
pub(crate) fn parse(text: &str) -> Result<Vec<u8>, HexError> {
    match libmbim_trace_data(text) {
        Some(data) => parse_hex(&data),
        None => parse_hex(text),
    }
}

/// The hex of the `data = …` lines of a libmbim trace, if `text` is one.
fn libmbim_trace_data(text: &str) -> Option<String> {
    let mut found = false;
    let mut data = String::new();
    for line in text.lines() {
        let Some((before, after)) = line.split_once('=') else {
            continue;
        };
        if before.trim_end().ends_with("data") {
            found = true;
            data.push_str(after);
            data.push('\n');
        }
    }
    found.then_some(data)
}

fn parse_hex(text: &str) -> Result<Vec<u8>, HexError> {
    let mut digits = Vec::with_capacity(text.len());
    let mut chars = text.chars().enumerate().peekable();
    while let Some((position, character)) = chars.next() {
        match character {
            c if c.is_whitespace() || matches!(c, ':' | ',' | '-') => {}
            '#' => {
                for (_, skipped) in chars.by_ref() {
                    if skipped == '\n' {
                        break;
                    }
                }
            }
            '0' if matches!(chars.peek(), Some((_, 'x' | 'X'))) => {
                chars.next();
            }
            c => match c.to_digit(16) {
                Some(digit) => digits.push(u8::try_from(digit).unwrap_or_default()),
                None => {
                    return Err(HexError::BadCharacter {
                        character,
                        position,
                    })
                }
            },
        }
    }
    if digits.len() % 2 != 0 {
        return Err(HexError::OddDigits(digits.len()));
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => (high << 4) | low,
            _ => 0,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_logs_print() {
        assert_eq!(parse("01:00:00:00").unwrap(), [1, 0, 0, 0]);
        assert_eq!(parse("0x01, 0x02,\n0xA0").unwrap(), [1, 2, 0xa0]);
        assert_eq!(parse(" 0a0B ff ").unwrap(), [0x0a, 0x0b, 0xff]);
        assert_eq!(parse("").unwrap(), Vec::<u8>::new());
        assert_eq!(parse("# a capture\n01 # one\n02\n").unwrap(), [1, 2]);
    }

    #[test]
    fn reads_the_data_lines_of_a_libmbim_trace() {
        let trace = "[/dev/cdc-wdm0] Sent message...\n\
                     <<<<<< RAW:\n\
                     <<<<<<   length = 16\n\
                     <<<<<<   data   = 01:00:00:00:10:00:00:00\n\
                     <<<<<<   data   = 01:00:00:00:00:10:00:00\n";
        assert_eq!(
            parse(trace).unwrap(),
            [1, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0x10, 0, 0]
        );
    }

    #[test]
    fn rejects_non_hex() {
        assert_eq!(
            parse("01 zz"),
            Err(HexError::BadCharacter {
                character: 'z',
                position: 3
            })
        );
        assert_eq!(parse("012"), Err(HexError::OddDigits(3)));
    }
}
