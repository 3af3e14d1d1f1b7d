"""Exceptions raised by Aegis: one class per stable error code.

Every class derives from :class:`AegisError`, whose ``code`` is the stable
snake_case code shared by every Aegis front-end (``"out_of_fuel"``, ...).
Details of the failure are attributes of the exception, named and valued as
the core's error details in every front-end (``consumed`` and ``limit`` for
:class:`OutOfFuelError`, ...; durations in seconds). :data:`ERROR_CLASSES`
maps each code to its class.

Three classes carry an ``Aegis`` prefix so that ``from aegis import *`` never
shadows a builtin: :class:`AegisTimeoutError` (code ``timeout``),
:class:`AegisIOError` (code ``io``) and :class:`AegisInterruptedError` (code
``interrupted``). The last is also reachable as ``aegis.InterruptedError``, an
alias left out of ``__all__`` (the builtin ``InterruptedError`` is EINTR).
"""

from __future__ import annotations

from typing import Any, Dict, List, Type

__all__ = [
    "AegisError",
    "InvalidModuleError",
    "LinkError",
    "ExportNotFoundError",
    "SignatureMismatchError",
    "OutOfFuelError",
    "AegisTimeoutError",
    "MemoryLimitExceededError",
    "StackOverflowError",
    "TrapError",
    "HostFunctionError",
    "PermissionDeniedError",
    "AegisIOError",
    "InvalidArgumentError",
    "ExitError",
    "AegisInterruptedError",
    "ModuleTooComplexError",
    "BusyError",
    "MemoryOutOfBoundsError",
    "ResultTooLargeError",
    "InvalidResultError",
    "ERROR_CLASSES",
]


class AegisError(Exception):
    """Base class of every Aegis error.

    Attributes:
        code: the stable error code, e.g. ``"out_of_fuel"``.
        message: the full human-readable message.
    """

    code: str = "unknown"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        for name, value in details.items():
            setattr(self, name, value)


class InvalidModuleError(AegisError):
    """The bytes are not a valid WebAssembly module or component."""

    code = "invalid_module"


class LinkError(AegisError):
    """An import of the module could not be satisfied.

    Attributes:
        module: import module name.
        name: import field name.
        reason: why it could not be linked.
    """

    code = "link_error"
    module: str
    name: str
    reason: str


class ExportNotFoundError(AegisError):
    """No exported function has the requested name.

    Attributes:
        name: the name asked for.
        available: names of the exported functions.
    """

    code = "export_not_found"
    name: str
    available: List[str]


class SignatureMismatchError(AegisError):
    """The arguments do not match the export's signature.

    Attributes:
        name: the export called.
        expected: its real signature, e.g. ``"(i32, i32) -> (i32)"``.
        given: what the caller supplied.
    """

    code = "signature_mismatch"
    name: str
    expected: str
    given: str


class OutOfFuelError(AegisError):
    """The call used up its fuel budget.

    Attributes:
        consumed: fuel consumed by the call.
        limit: the fuel limit.
    """

    code = "out_of_fuel"
    consumed: int
    limit: int


class AegisTimeoutError(AegisError):
    """The call ran past its wall-clock budget.

    Attributes:
        elapsed: seconds the call ran before being interrupted.
        limit: the configured limit, in seconds.
    """

    code = "timeout"
    elapsed: float
    limit: float


class MemoryLimitExceededError(AegisError):
    """The guest tried to grow memory or tables past the limit.

    Attributes:
        resource: what was growing (``"memory"``, ``"table"``, ...).
        requested: size asked for (bytes for memory, elements for tables).
        limit: the limit in the same unit.
    """

    code = "memory_limit_exceeded"
    resource: str
    requested: int
    limit: int


class StackOverflowError(AegisError):
    """The guest exhausted its wasm stack.

    Attributes:
        limit: the stack limit in bytes.
    """

    code = "stack_overflow"
    limit: int


class TrapError(AegisError):
    """The guest trapped (unreachable, out-of-bounds access, division by zero, ...).

    A component that trapped (any error inside a component call, a host
    function's failure included) cannot be entered again: its next call
    raises ``TrapError`` with ``trap_code`` ``"cannot_enter_component"`` until
    ``Sandbox.reset()``.

    Attributes:
        trap_code: short stable trap name, e.g. ``"unreachable"``.
        backtrace: wasm frames, innermost first, one per line (may be empty).
    """

    code = "trap"
    trap_code: str
    backtrace: str


class HostFunctionError(AegisError):
    """A host function failed.

    When a Python host function raised, the original exception is this
    error's ``__cause__``.
    """

    code = "host_function"


class PermissionDeniedError(AegisError):
    """The guest attempted something it was not granted (with ``on_denied="error"``),
    or the runtime refused to load a module not in ``allowed_modules``.

    Attributes:
        capability: the capability lacking, e.g. ``"filesystem"``, ``"module"``.
        operation: what was tried, e.g. ``"path_open"``, ``"load"``.
        target: on what (a path, an address, a stream, a module digest).
    """

    code = "permission_denied"
    capability: str
    operation: str
    target: str


class AegisIOError(AegisError):
    """A host I/O operation failed (reading a module file, a granted directory, ...)."""

    code = "io"


class InvalidArgumentError(AegisError):
    """An argument or option was invalid (bad value, bad configuration, closed sandbox, ...)."""

    code = "invalid_argument"


class ExitError(AegisError):
    """A WASI program called ``proc_exit`` with a non-zero status (or with 0 from
    an export that has results, which then cannot return them).

    Attributes:
        status: the exit status.
    """

    code = "exit"
    status: int


class AegisInterruptedError(AegisError):
    """The call was stopped by ``Sandbox.interrupt()`` (or an ``InterruptHandle``).

    Also reachable as ``aegis.InterruptedError``. A Ctrl-C during a call on the
    main thread raises ``KeyboardInterrupt`` instead (see ``Sandbox.interrupt``).

    Attributes:
        elapsed: seconds the call ran before it stopped.
    """

    code = "interrupted"
    elapsed: float


InterruptedError = AegisInterruptedError
"""Alias of :class:`AegisInterruptedError` (not exported by ``from aegis import *``)."""


class ModuleTooComplexError(AegisError):
    """The module's structure exceeds a complexity limit checked before compiling.

    Attributes:
        what: what was counted, e.g. ``"locals in one function"``.
        found: the count found in the module (a lower bound when counting stopped early).
        limit: the configured limit.
    """

    code = "module_too_complex"
    what: str
    found: int
    limit: int


class BusyError(AegisError):
    """The sandbox is running a call already.

    Raised at once, never after waiting, by a call (or any other use but
    ``interrupt()``) on a sandbox whose call is running: from one of its own
    host functions, or from another thread.
    """

    code = "busy"


class MemoryOutOfBoundsError(AegisError):
    """A host access to guest memory fell outside the memory: ``read_memory`` /
    ``write_memory`` with a range past its end, or a bytes-convention guest
    handing the host a pointer outside its memory. Checked before anything is
    allocated or copied.

    Attributes:
        offset: first byte of the access.
        len: bytes accessed.
        size: the memory's size in bytes at the time.
    """

    code = "memory_out_of_bounds"
    offset: int
    len: int
    size: int


class ResultTooLargeError(AegisError):
    """A call's result exceeded the ``result_limit`` option: a ``call_bytes``
    output, or the values of a component call (string bytes, 40 bytes per
    list element, record field or tuple item). Checked before the host
    allocates the result.

    Attributes:
        size: the result's size in bytes (a lower bound when counting stopped early).
        limit: the result limit in bytes.
    """

    code = "result_too_large"
    size: int
    limit: int


class InvalidResultError(AegisError):
    """The guest returned a value that breaks its contract: ``call_str`` output
    that is not UTF-8, or a component breaking the canonical ABI (a string that
    is not UTF-8, a list outside its memory, a bad ``realloc`` pointer)."""

    code = "invalid_result"


ERROR_CLASSES: Dict[str, Type[AegisError]] = {
    cls.code: cls
    for cls in (
        InvalidModuleError,
        LinkError,
        ExportNotFoundError,
        SignatureMismatchError,
        OutOfFuelError,
        AegisTimeoutError,
        MemoryLimitExceededError,
        StackOverflowError,
        TrapError,
        HostFunctionError,
        PermissionDeniedError,
        AegisIOError,
        InvalidArgumentError,
        ExitError,
        AegisInterruptedError,
        ModuleTooComplexError,
        BusyError,
        MemoryOutOfBoundsError,
        ResultTooLargeError,
        InvalidResultError,
    )
}
"""The exception class of each stable error code."""


def _make(code: str, message: str, details: Dict[str, Any]) -> AegisError:
    """The exception for a core error (called by the extension)."""
    cls = ERROR_CLASSES.get(code)
    if cls is None:  # a code newer than this package: still an AegisError
        err = AegisError(message, **details)
        err.code = code
        return err
    return cls(message, **details)
