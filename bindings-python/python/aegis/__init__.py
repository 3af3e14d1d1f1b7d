"""Aegis: run untrusted WebAssembly with hard limits and explicit capabilities.

>>> import aegis
>>> runtime = aegis.Runtime(fuel_limit=1_000_000)
>>> module = runtime.load_wat('(module (func (export "add") (param i32 i32) (result i32)'
...                           ' (i32.add (local.get 0) (local.get 1))))')
>>> with runtime.sandbox(module) as sandbox:
...     sandbox.call("add", 2, 3)
5
"""

from ._aegis import (
    DETAIL_NAMES,
    ERROR_CODES,
    METRIC_NAMES,
    OPTIONS,
    Caller,
    DeniedOperation,
    Export,
    FuncType,
    GlobalType,
    Import,
    InterruptHandle,
    Limits,
    MemoryType,
    Metrics,
    Module,
    Runtime,
    Sandbox,
    TableType,
    WitFuncType,
    __version__,
    validate,
)
from .errors import (
    ERROR_CLASSES,
    AegisError,
    AegisInterruptedError,
    AegisIOError,
    AegisTimeoutError,
    BusyError,
    ExitError,
    ExportNotFoundError,
    HostFunctionError,
    InvalidArgumentError,
    InvalidModuleError,
    InvalidResultError,
    LinkError,
    MemoryLimitExceededError,
    MemoryOutOfBoundsError,
    ModuleTooComplexError,
    OutOfFuelError,
    PermissionDeniedError,
    ResultTooLargeError,
    SignatureMismatchError,
    StackOverflowError,
    TrapError,
)

# `aegis.InterruptedError` is `AegisInterruptedError`; it is left out of
# `__all__` so that `from aegis import *` keeps the builtin `InterruptedError`.
from .errors import InterruptedError as InterruptedError  # noqa: E402

__all__ = [
    "Caller",
    "DeniedOperation",
    "Export",
    "FuncType",
    "GlobalType",
    "Import",
    "InterruptHandle",
    "Limits",
    "MemoryType",
    "Metrics",
    "Module",
    "Runtime",
    "Sandbox",
    "TableType",
    "WitFuncType",
    "validate",
    "__version__",
    "OPTIONS",
    "ERROR_CODES",
    "ERROR_CLASSES",
    "DETAIL_NAMES",
    "METRIC_NAMES",
    "AegisError",
    "AegisInterruptedError",
    "AegisIOError",
    "AegisTimeoutError",
    "BusyError",
    "ExitError",
    "ExportNotFoundError",
    "HostFunctionError",
    "InvalidArgumentError",
    "InvalidModuleError",
    "InvalidResultError",
    "LinkError",
    "MemoryLimitExceededError",
    "MemoryOutOfBoundsError",
    "ModuleTooComplexError",
    "OutOfFuelError",
    "PermissionDeniedError",
    "ResultTooLargeError",
    "SignatureMismatchError",
    "StackOverflowError",
    "TrapError",
]
