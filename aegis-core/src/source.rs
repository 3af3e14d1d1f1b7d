//! Reading a module from a path without trusting what the path names, and
//! recognising what its bytes are: a wasm binary, WAT text, or neither.
//!
//! A path may name a FIFO (opening it would block until a writer appears),
//! a device such as `/dev/zero` (endless), a sparse file of terabytes, or a
//! file that grows while it is read. Only regular files are read, the file is
//! opened without blocking, its size is checked before reading, and never
//! more than the size limit plus one byte is read, whatever the file does.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Reads the module at `path`, refusing anything but a regular file of at
/// most `limit` bytes.
pub(crate) fn read_module_file(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::io(format!("cannot read `{shown}`"), e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read `{shown}`"), e))?;
    let ty = meta.file_type();
    if !ty.is_file() {
        let kind = if ty.is_dir() {
            "a directory"
        } else if ty.is_fifo() {
            "a FIFO"
        } else if ty.is_char_device() || ty.is_block_device() {
            "a device"
        } else if ty.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(Error::invalid_argument(format!(
            "`{shown}` is {kind}; a module must be read from a regular file"
        )));
    }
    if meta.len() > limit as u64 {
        return Err(too_large(path, meta.len(), limit));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    read_at_most(file, limit, &mut bytes)
        .map_err(|e| Error::io(format!("cannot read `{shown}`"), e))?;
    if bytes.len() > limit {
        return Err(too_large(path, bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// Reads at most `limit + 1` bytes, so a file that grows past the limit is noticed.
fn read_at_most(file: File, limit: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
    file.take(limit as u64 + 1).read_to_end(out)
}

/// How a module's bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// A wasm binary (module or component): it starts with `\0asm`.
    Binary,
    /// WAT text: its first token after whitespace and comments is `(` (or
    /// it holds only comments), so the text parser's message, with its
    /// caret, says what is wrong with it.
    Text,
}

/// The magic bytes of a wasm binary, module or component.
const WASM_MAGIC: &[u8] = b"\0asm";

/// Files people mistake for modules, by their first bytes.
const KNOWN_FORMATS: [(&[u8], &str); 9] = [
    (b"\x7fELF", "an ELF executable or library"),
    (b"MZ", "a Windows executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"#!", "a script"),
];

/// Tells a wasm binary from WAT text, refusing bytes that are neither with
/// a plain `invalid_module` that shows how they start (instead of the WAT
/// parser's caret under a PNG header). The rule: `\0asm` first is a binary;
/// text whose first token after whitespace and comments is `(` is WAT (so
/// a real WAT syntax error keeps the parser's message); anything else,
/// including an empty input, is neither.
pub(crate) fn recognise(bytes: &[u8]) -> Result<Form> {
    if bytes.starts_with(WASM_MAGIC) {
        return Ok(Form::Binary);
    }
    let first = match first_token(bytes) {
        Token::Paren | Token::OnlyComments => return Ok(Form::Text),
        Token::At(i) => i,
        Token::Nothing => {
            let what = match bytes.is_empty() {
                true => "the input is empty",
                false => "the input holds only whitespace",
            };
            return Err(neither(what.into()));
        }
    };
    let kind = KNOWN_FORMATS
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic));
    let shown = match text_at(&bytes[first..]) {
        Some(text) => format!("the input is text beginning with {text:?}"),
        None => format!("the input starts with bytes {}", hex(bytes)),
    };
    let kind = kind.map_or(String::new(), |(_, name)| format!(" ({name})"));
    Err(neither(shown + &kind))
}

/// `invalid_module`: neither a binary nor WAT, and how the two start.
fn neither(what: String) -> Error {
    Error::InvalidModule {
        message: format!(
            "not a WebAssembly module or WAT text: {what}; a wasm binary starts with \
             bytes 00 61 73 6d (`\\0asm`), WAT text with `(` after any whitespace and comments"
        ),
    }
}

/// The first few bytes in hex: `89 50 4e 47 0d 0a 1a 0a …`.
fn hex(bytes: &[u8]) -> String {
    const SHOWN: usize = 8;
    let mut text: Vec<String> = bytes
        .iter()
        .take(SHOWN)
        .map(|b| format!("{b:02x}"))
        .collect();
    if bytes.len() > SHOWN {
        text.push("…".into());
    }
    text.join(" ")
}

/// The start of `bytes` as text, if it is printable UTF-8: at most 32
/// characters of its first line (`…` marks a cut).
fn text_at(bytes: &[u8]) -> Option<String> {
    const SHOWN: usize = 32;
    let head = &bytes[..bytes.len().min(SHOWN * 4)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A character cut by `head`'s end is still text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let line = text.lines().next().unwrap_or("");
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return None;
    }
    let mut shown: String = line.chars().take(SHOWN).collect();
    if shown.len() < line.len() {
        shown.push('…');
    }
    Some(shown)
}

/// What comes first in a text once whitespace and WAT comments are skipped.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// `(`: WAT.
    Paren,
    /// Comments (at least one, perhaps unterminated) and whitespace only.
    OnlyComments,
    /// Nothing but whitespace, or nothing at all.
    Nothing,
    /// Something else, at this byte offset.
    At(usize),
}

/// Skips whitespace (a leading byte-order mark included), `;; line` and
/// nested `(; block ;)` comments, and tells what comes first.
fn first_token(bytes: &[u8]) -> Token {
    let mut i = if bytes.starts_with("\u{feff}".as_bytes()) {
        3
    } else {
        0
    };
    let mut comments = false;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b' ' | b'\t' | b'\n' | b'\r', _) => i += 1,
            (b';', Some(b';')) => {
                comments = true;
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| i + n);
            }
            (b'(', Some(b';')) => {
                comments = true;
                match block_comment_end(bytes, i) {
                    Some(end) => i = end,
                    // Unterminated: WAT, whose parser says so.
                    None => return Token::OnlyComments,
                }
            }
            (b'(', _) => return Token::Paren,
            _ => return Token::At(i),
        }
    }
    match comments {
        true => Token::OnlyComments,
        false => Token::Nothing,
    }
}

/// The offset just past the `;)` closing the block comment opened at
/// `start` (block comments nest), or `None` if it is never closed.
fn block_comment_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'(', b';') => {
                depth += 1;
                i += 2;
            }
            (b';', b')') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn too_large(path: &Path, size: u64, limit: usize) -> Error {
    Error::InvalidModule {
        message: format!(
            "`{}` is {size} bytes, more than the limit of {limit} bytes",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_without_reading_them() {
        for path in ["/dev/zero", "/dev/null", "/"] {
            let err = read_module_file(Path::new(path), 1024).unwrap_err();
            assert_eq!(err.code().as_str(), "invalid_argument", "{path}: {err}");
        }
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(ok.success());
        let err = read_module_file(&fifo, 1024).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn a_sparse_file_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse.wasm");
        let file = File::create(&path).unwrap();
        file.set_len(4 << 30).unwrap();
        let start = std::time::Instant::now();
        let err = read_module_file(&path, 1 << 20).unwrap_err();
        assert_eq!(err.code().as_str(), "invalid_module");
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn wat_is_text_whose_first_token_is_a_paren() {
        for text in [
            "(module)",
            "  \n\t(module)",
            ";; a comment\n(module)",
            "(; block (; nested ;) ;) (module)",
            "\u{feff}(module)",
            "(modul",
            ";; only a comment",
            "(; never closed",
            "(lisp is not wat)",
        ] {
            assert_eq!(recognise(text.as_bytes()).unwrap(), Form::Text, "{text:?}");
        }
        for bin in [
            &b"\0asm"[..],
            b"\0asm\x01\0\0\0",
            b"\0asm\x0d\0\x01\0garbage",
        ] {
            assert_eq!(recognise(bin).unwrap(), Form::Binary, "{bin:?}");
        }
    }

    #[test]
    fn neither_binary_nor_wat_says_how_the_input_starts() {
        let long = "é".repeat(40);
        let cases: [(&[u8], &str); 9] = [
            (b"", "the input is empty"),
            (b" \n\t", "the input holds only whitespace"),
            (
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
                "the input starts with bytes 89 50 4e 47 0d 0a 1a 0a … (a PNG image)",
            ),
            (
                b"\x7fELF\x02\x01\x01",
                "the input starts with bytes 7f 45 4c 46 02 01 01 (an ELF executable or library)",
            ),
            (b"\0as", "the input starts with bytes 00 61 73;"),
            (
                b"#!/bin/sh\necho hi\n",
                "the input is text beginning with \"#!/bin/sh\" (a script);",
            ),
            (
                b"hello world\nsecond line",
                "the input is text beginning with \"hello world\"",
            ),
            (
                b";; a comment\nmodule (func)",
                "the input is text beginning with \"module (func)\"",
            ),
            (
                long.as_bytes(),
                "the input is text beginning with \"éééééééééééééééééééééééééééééééé…\"",
            ),
        ];
        for (bytes, expected) in cases {
            let err = recognise(bytes).unwrap_err();
            assert_eq!(err.code().as_str(), "invalid_module");
            let text = err.to_string();
            assert!(
                text.starts_with("invalid module: not a WebAssembly module or WAT text: "),
                "{text}"
            );
            assert!(text.contains(expected), "{bytes:?}: {text}");
            assert!(text.contains("00 61 73 6d"), "{text}");
        }
    }

    #[test]
    fn a_regular_file_within_the_limit_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wat");
        std::fs::write(&path, "(module)").unwrap();
        assert_eq!(read_module_file(&path, 8).unwrap(), b"(module)");
        assert!(read_module_file(&path, 7).is_err());
    }
}
