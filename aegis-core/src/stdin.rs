//! The guest's standard input: a capability like the others, empty unless
//! the embedder gives it bytes, a file or the host's own stdin.
//!
//! A file is opened when the sandbox is built, without waiting (a FIFO with
//! no writer would otherwise hang `build`), and must be a regular file:
//! FIFOs, sockets, devices (`/dev/zero` never ends) and directories are
//! refused with `invalid_argument`. The guest reads it from the start,
//! through wasmtime-wasi's file stream. Every read costs fuel like any WASI
//! read, and a guest waiting on an inherited stdin still ends at its
//! deadline (the wait is a future the call's deadline drops).

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, bounded_message};

/// Where a guest's stdin comes from. The default, `Empty`, reads as end of
/// file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Stdin {
    /// Nothing: the first read returns end of file.
    #[default]
    Empty,
    /// These bytes, then end of file (shared, not copied, by every sandbox
    /// of a runtime that has them).
    Bytes(Arc<[u8]>),
    /// A regular file on the host, read from its start.
    File(PathBuf),
    /// The host process's own stdin.
    Inherit,
}

impl Stdin {
    /// Stdin that yields `data`, then end of file.
    pub fn bytes(data: impl Into<Vec<u8>>) -> Stdin {
        Stdin::Bytes(Arc::from(data.into()))
    }

    /// Stdin read from the regular file at `path` (opened when the sandbox is built).
    pub fn file(path: impl Into<PathBuf>) -> Stdin {
        Stdin::File(path.into())
    }

    /// Opens what a sandbox's WASI context will read: for a file, checks
    /// it now (`invalid_argument` if it is not a regular file, `io` if it
    /// cannot be opened).
    pub(crate) fn open(&self) -> Result<OpenStdin> {
        Ok(match self {
            Stdin::Empty => OpenStdin::Empty,
            Stdin::Bytes(data) => OpenStdin::Bytes(::bytes::Bytes::from_owner(data.clone())),
            Stdin::File(path) => OpenStdin::File(open_regular(path)?),
            Stdin::Inherit => OpenStdin::Inherit,
        })
    }
}

/// A [`Stdin`] ready to give to a WASI context.
#[derive(Debug)]
pub(crate) enum OpenStdin {
    Empty,
    Bytes(::bytes::Bytes),
    File(std::fs::File),
    Inherit,
}

impl OpenStdin {
    /// Installs this stdin in `builder`.
    pub fn install(self, builder: &mut wasmtime_wasi::WasiCtxBuilder) {
        match self {
            OpenStdin::Empty => {}
            OpenStdin::Bytes(data) => {
                builder.stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(data));
            }
            OpenStdin::File(file) => {
                builder.stdin(wasmtime_wasi::cli::InputFile::new(file));
            }
            OpenStdin::Inherit => {
                builder.inherit_stdin();
            }
        }
    }
}

/// Opens `path` for reading without blocking and refuses anything but a
/// regular file.
fn open_regular(path: &std::path::Path) -> Result<std::fs::File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let shown = || bounded_message(path.display().to_string());
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(format!("stdin file {}", shown()), e))?;
    let kind = file
        .metadata()
        .map_err(|e| Error::io(format!("stdin file {}", shown()), e))?
        .file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(Error::invalid_argument(format!(
            "stdin file {} is {what}: stdin must be a regular file, bytes, or the host's stdin",
            shown()
        )));
    }
    // Reads of a regular file never wait; clear the flag anyway so the
    // stream sees an ordinary descriptor.
    // SAFETY: fcntl on a descriptor this function owns.
    unsafe {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// The `stdin` option of a policy: `"empty"`, `"inherit"`,
/// `{"file": PATH}` or `{"text": TEXT}`. (Raw bytes are given through
/// each front-end's own bytes type, not a policy.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdinPolicy {
    /// `"empty"`.
    Empty,
    /// `"inherit"`: the host's stdin.
    Inherit,
    /// `{"file": PATH}`.
    File(PathBuf),
    /// `{"text": TEXT}`: UTF-8 text.
    Text(String),
}

impl StdinPolicy {
    /// The [`Stdin`] this option selects.
    pub fn to_stdin(&self) -> Stdin {
        match self {
            StdinPolicy::Empty => Stdin::Empty,
            StdinPolicy::Inherit => Stdin::Inherit,
            StdinPolicy::File(path) => Stdin::File(path.clone()),
            StdinPolicy::Text(text) => Stdin::bytes(text.as_bytes()),
        }
    }
}

/// The forms a `stdin` value may take, for the error message.
const STDIN_FORMS: &str =
    "stdin must be \"empty\", \"inherit\", {\"file\": PATH} or {\"text\": TEXT}";

impl Serialize for StdinPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            StdinPolicy::Empty => s.serialize_str("empty"),
            StdinPolicy::Inherit => s.serialize_str("inherit"),
            StdinPolicy::File(path) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("file", path)?;
                m.end()
            }
            StdinPolicy::Text(text) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("text", text)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for StdinPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(d)?;
        let bad = || D::Error::custom(STDIN_FORMS);
        match value {
            serde_json::Value::String(s) if s == "empty" => Ok(StdinPolicy::Empty),
            serde_json::Value::String(s) if s == "inherit" => Ok(StdinPolicy::Inherit),
            serde_json::Value::Object(map) if map.len() == 1 => {
                let (key, value) = map.into_iter().next().expect("one entry");
                match (key.as_str(), value) {
                    ("file", serde_json::Value::String(p)) => Ok(StdinPolicy::File(p.into())),
                    ("text", serde_json::Value::String(t)) => Ok(StdinPolicy::Text(t)),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

impl schemars::JsonSchema for StdinPolicy {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StdinPolicy".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": STDIN_FORMS,
            "oneOf": [
                { "type": "string", "enum": ["empty", "inherit"] },
                { "type": "object", "properties": { "file": { "type": "string" } },
                  "required": ["file"], "additionalProperties": false },
                { "type": "object", "properties": { "text": { "type": "string" } },
                  "required": ["text"], "additionalProperties": false }
            ]
        })
    }
}
