//! The typed vocabulary of error details and denied operations: each enum
//! has a stable snake_case name per variant (`as_str`), the list of every
//! variant (`ALL`), and parses back from its name. [`Detail`] and
//! [`crate::Error::details`] give every front-end the same field names and
//! values to map onto its own attributes.

use std::time::Duration;

/// Defines an enum whose variants have stable names.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable snake_case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The variant named `text`, if any.
            pub fn from_name(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

named_enum! {
    /// A capability a guest can be refused.
    Capability {
        /// Files and directories (WASI filesystem).
        Filesystem = "filesystem",
        /// Outbound and inbound sockets (WASI 0.2 sockets).
        Network = "network",
        /// The real wall and monotonic clocks.
        Clock = "clock",
        /// Writing to stdout/stderr.
        Logging = "logging",
        /// Loading a module not on the runtime's allowed list.
        Module = "module",
    }
}

named_enum! {
    /// An operation a guest can be refused: the WASI function (preview 1
    /// name, or WASI 0.2 method name) or action it tried.
    Operation {
        /// WASI preview 1 `path_open`.
        PathOpen = "path_open",
        /// WASI preview 1 `path_symlink`.
        PathSymlink = "path_symlink",
        /// WASI preview 1 `path_link`.
        PathLink = "path_link",
        /// WASI preview 1 `path_rename`.
        PathRename = "path_rename",
        /// WASI preview 1 `path_create_directory`.
        PathCreateDirectory = "path_create_directory",
        /// WASI preview 1 `path_remove_directory`.
        PathRemoveDirectory = "path_remove_directory",
        /// WASI preview 1 `path_unlink_file`.
        PathUnlinkFile = "path_unlink_file",
        /// WASI preview 1 `path_filestat_get`.
        PathFilestatGet = "path_filestat_get",
        /// WASI preview 1 `path_filestat_set_times`.
        PathFilestatSetTimes = "path_filestat_set_times",
        /// WASI preview 1 `path_readlink`.
        PathReadlink = "path_readlink",
        /// WASI preview 1 `fd_write`.
        FdWrite = "fd_write",
        /// WASI preview 1 `fd_filestat_get`.
        FdFilestatGet = "fd_filestat_get",
        /// WASI preview 1 `fd_filestat_set_size`.
        FdFilestatSetSize = "fd_filestat_set_size",
        /// WASI preview 1 `fd_filestat_set_times`.
        FdFilestatSetTimes = "fd_filestat_set_times",
        /// WASI 0.2 `descriptor.stat`.
        Stat = "stat",
        /// WASI 0.2 `descriptor.stat-at`.
        StatAt = "stat-at",
        /// WASI 0.2 `descriptor.open-at`.
        OpenAt = "open-at",
        /// WASI 0.2 `descriptor.symlink-at`.
        SymlinkAt = "symlink-at",
        /// WASI 0.2 `descriptor.link-at`.
        LinkAt = "link-at",
        /// WASI 0.2 `descriptor.rename-at`.
        RenameAt = "rename-at",
        /// Binding a TCP socket.
        TcpBind = "tcp_bind",
        /// Connecting a TCP socket.
        TcpConnect = "tcp_connect",
        /// Binding a UDP socket.
        UdpBind = "udp_bind",
        /// Sending a UDP datagram.
        UdpSend = "udp_send",
        /// Any other socket use.
        Socket = "socket",
        /// Reading a clock.
        ClockTimeGet = "clock_time_get",
        /// Writing to stdout or stderr.
        Write = "write",
        /// Loading a module.
        Load = "load",
        /// An operation without a name of its own here (not expected: every
        /// operation Aegis refuses is listed above).
        Other = "other",
    }
}

named_enum! {
    /// What a `memory_limit_exceeded` error ran out of.
    Resource {
        /// Linear memory bytes (all memories of the sandbox).
        Memory = "memory",
        /// Linear memories in one sandbox.
        Memories = "memories",
        /// Table elements (all tables of the sandbox).
        Table = "table",
        /// Tables in one sandbox.
        Tables = "tables",
        /// Instances in one sandbox, or slots of the instance pool.
        Instances = "instances",
        /// WASI handles held at once.
        Handles = "handles",
        /// The process's address space.
        AddressSpace = "address_space",
        /// The garbage-collected heap.
        GcHeap = "gc_heap",
    }
}

named_enum! {
    /// Why a guest trapped (`trap` errors).
    TrapCode {
        /// Stack exhausted (reported as `stack_overflow` errors, listed for completeness).
        StackOverflow = "stack_overflow",
        /// Memory access out of bounds.
        MemoryOutOfBounds = "memory_out_of_bounds",
        /// Misaligned atomic access.
        HeapMisaligned = "heap_misaligned",
        /// Table access out of bounds.
        TableOutOfBounds = "table_out_of_bounds",
        /// `call_indirect` to a null entry.
        IndirectCallToNull = "indirect_call_to_null",
        /// `call_indirect` signature mismatch.
        BadSignature = "bad_signature",
        /// Integer overflow (`i32.div_s` of MIN by -1).
        IntegerOverflow = "integer_overflow",
        /// Integer division by zero.
        IntegerDivisionByZero = "integer_division_by_zero",
        /// Float to integer conversion out of range.
        BadConversionToInteger = "bad_conversion_to_integer",
        /// `unreachable` executed.
        Unreachable = "unreachable",
        /// Interrupted (reported as `timeout` or `interrupted` errors).
        Interrupt = "interrupt",
        /// Fuel exhausted (reported as `out_of_fuel` errors).
        OutOfFuel = "out_of_fuel",
        /// Null reference dereferenced.
        NullReference = "null_reference",
        /// An allocation larger than wasm allows.
        AllocationTooLarge = "allocation_too_large",
        /// A wasm exception left the guest.
        UncaughtException = "uncaught_exception",
        /// The host side of a WASI call failed.
        HostError = "host_error",
        /// A component that trapped in an earlier call cannot be entered
        /// again until the sandbox is reset.
        CannotEnterComponent = "cannot_enter_component",
        /// Another trap.
        Other = "other",
    }
}

/// The value of one error detail.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// Text.
    Text(String),
    /// A non-negative count (fuel units, bytes, elements, ...).
    Count(u64),
    /// A signed integer (an exit status).
    Int(i64),
    /// A duration, which front-ends show in seconds.
    Seconds(Duration),
    /// A list of names.
    Names(Vec<String>),
}

impl Detail {
    /// The value as JSON (durations as seconds).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Detail::Text(t) => t.clone().into(),
            Detail::Count(n) => (*n).into(),
            Detail::Int(n) => (*n).into(),
            Detail::Seconds(d) => d.as_secs_f64().into(),
            Detail::Names(v) => v.clone().into(),
        }
    }
}

impl From<&str> for Detail {
    fn from(text: &str) -> Detail {
        Detail::Text(text.to_string())
    }
}

impl From<String> for Detail {
    fn from(text: String) -> Detail {
        Detail::Text(text)
    }
}

impl From<u64> for Detail {
    fn from(n: u64) -> Detail {
        Detail::Count(n)
    }
}

impl From<Duration> for Detail {
    fn from(d: Duration) -> Detail {
        Detail::Seconds(d)
    }
}

/// Every detail field name any error can carry, for front-ends' docs and
/// catalog tests.
pub const DETAIL_NAMES: &[&str] = &[
    "module",
    "name",
    "reason",
    "available",
    "expected",
    "given",
    "consumed",
    "limit",
    "elapsed",
    "resource",
    "requested",
    "trap_code",
    "backtrace",
    "capability",
    "operation",
    "target",
    "status",
    "what",
    "found",
    "offset",
    "len",
    "size",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            name: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            let mut seen = std::collections::HashSet::new();
            for &v in all {
                assert!(seen.insert(name(v)), "{v:?}");
                assert_eq!(parse(name(v)), Some(v));
            }
        }
        check(Capability::ALL, Capability::as_str, Capability::from_name);
        check(Operation::ALL, Operation::as_str, Operation::from_name);
        check(Resource::ALL, Resource::as_str, Resource::from_name);
        check(TrapCode::ALL, TrapCode::as_str, TrapCode::from_name);
    }
}
