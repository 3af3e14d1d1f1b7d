"""Type stubs for the native module ``aegis._aegis`` (re-exported by ``aegis``)."""

from __future__ import annotations

import datetime
import os
from types import TracebackType
from typing import final, AbstractSet, Any, Callable, ClassVar, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Type, TypedDict, TypeVar, Union

__all__ = [
    "Runtime",
    "Module",
    "Import",
    "Export",
    "FuncType",
    "WitFuncType",
    "MemoryType",
    "TableType",
    "GlobalType",
    "Sandbox",
    "InterruptHandle",
    "_CallScope",
    "Caller",
    "Metrics",
    "DeniedOperation",
    "Limits",
    "validate",
    "_sample_error",
    "_sample_error_json",
    "OPTIONS",
    "ERROR_CODES",
    "DETAIL_NAMES",
    "METRIC_NAMES",
    "__version__",
]
__version__: str

class _OptionInfo(TypedDict):
    name: str
    doc: str
    default: str
    unit: str
    scope: Literal["both", "runtime"]

OPTIONS: List[_OptionInfo]
"""Every option of ``Runtime(...)`` (and of ``runtime.sandbox(...)`` when its
scope is ``"both"``), from the core's one list: name, doc, default, unit, scope."""
ERROR_CODES: List[str]
"""Every stable error code, in the core's order; ``aegis.ERROR_CLASSES`` maps each to its class."""
DETAIL_NAMES: List[str]
"""Every detail attribute name any Aegis exception can carry."""
METRIC_NAMES: List[str]
"""The attribute names of ``Metrics``, in order."""

_ValTypeName = Literal["i32", "i64", "f32", "f64"]
_Number = Union[int, float]
_PathLike = Union[str, "os.PathLike[str]"]
_Bytes = Union[bytes, bytearray, memoryview]
_Size = Union[int, str]  # bytes, or text with a unit: "64MiB", "512KiB", "1GiB", "100MB"
_Seconds = Union[float, datetime.timedelta]
# {"host": path, "guest": "/data", "access": "read" | "write"} ("access" defaults to "read")
_DirMap = Mapping[str, Union[str, "os.PathLike[str]"]]
_WritableBuffer = Union[bytearray, memoryview]  # or any writable buffer (array.array, mmap, ...)
# The guest's stdin: these bytes, a regular file, "empty" (end of file at
# once, the default), "inherit" (the host's stdin), {"file": path} or {"text": str}.
_Stdin = Union[
    bytes,
    bytearray,
    memoryview,
    "os.PathLike[str]",
    Literal["empty", "inherit"],
    Mapping[Literal["file", "text"], Union[str, "os.PathLike[str]"]],
]

# Component (WIT) values as Python objects (see ``Sandbox.call``): out of a
# call bool, int, float, str (char, string, enum, flag and case names), bytes
# (list<u8>), list, tuple, dict (record; variant/result/{"some": x} as one
# key) or None; what a call accepts for one adds bytearray/memoryview for
# bytes, and sets for flags. Items of lists and values of dicts are checked
# when the call converts them (``SignatureMismatchError``), not here, so that
# a dict of mixed values (``dict[str, object]``) is accepted.
_WitArg = Union[
    None,
    bool,
    int,
    float,
    str,
    bytes,
    bytearray,
    memoryview,
    Sequence[Any],
    AbstractSet[str],
    Mapping[str, Any],
]

def validate(data: _Bytes) -> None:
    """Check that ``data`` is a valid module or component (binary, or WAT text as bytes).

    Raises ``InvalidModuleError`` if it is not.
    """

@final
class Runtime:
    """A configured engine shared by every sandbox made from it. Thread-safe.

    The keyword options are those of ``aegis.OPTIONS`` (name, doc, default,
    unit, scope); unset ones keep Aegis's defaults (64 MiB memory, 1e9 fuel
    per call, 30 s per call, 512 KiB stack, no capabilities). ``None`` turns
    ``fuel_limit`` / ``timeout`` off (as does ``"off"``) and leaves any other
    option unset. Sizes are bytes or text with a unit (``"16MiB"``); durations
    are seconds. ``stdin`` takes bytes (``bytes``, ``bytearray``,
    ``memoryview``), a regular file (``os.PathLike``, read when a sandbox is
    made; a FIFO, device or directory raises ``InvalidArgumentError``),
    ``"empty"`` (the default: end of file), ``"inherit"``, ``{"file": path}``
    or ``{"text": str}``. Unknown names, bad values, ``allow_logging`` with
    ``capture_output``, and runtime-only options given to ``sandbox()`` raise
    ``InvalidArgumentError``.
    """

    def __new__(
        cls,
        *,
        memory_limit: _Size = ...,
        fuel_limit: Union[int, Literal["off"], None] = ...,
        timeout: Union[_Seconds, Literal["off"], None] = ...,
        stack_limit: _Size = ...,
        table_elements_limit: int = ...,
        handle_limit: int = ...,
        result_limit: _Size = ...,
        allow_read: Sequence[_PathLike] = ...,
        allow_write: Sequence[_PathLike] = ...,
        map_dirs: Sequence[_DirMap] = ...,
        allow_logging: bool = ...,
        capture_output: Union[bool, _Size] = ...,
        allow_clock: bool = ...,
        allow_net: Sequence[str] = ...,
        env: Mapping[str, str] = ...,
        args: Sequence[str] = ...,
        random_seed: int = ...,
        on_denied: Literal["errno", "error"] = ...,
        stdin: _Stdin = ...,
        instance_pool: int = ...,
        compile_cache: _PathLike = ...,
        max_module_size: _Size = ...,
        module_limits: Mapping[str, int] = ...,
        wasm_exceptions: bool = ...,
        wasm_gc: bool = ...,
        allowed_modules: Sequence[str] = ...,
    ) -> Runtime:
        """Build a runtime from keyword options (see ``aegis.OPTIONS``)."""
    @classmethod
    def from_policy(cls, source: Union[str, "os.PathLike[str]"], **overrides: Any) -> Runtime:
        """Build a runtime from a policy: TOML or JSON text (``str``; JSON when it
        starts with ``{``), or a policy file path (``os.PathLike``; JSON when its name
        ends in ``.json``, TOML otherwise). Keyword ``overrides`` (the options of
        ``Runtime()``) replace the policy's settings of the same name."""
    def load_bytes(self, data: _Bytes) -> Module:
        """Compile a module from binary wasm (or WAT text as bytes)."""
    def load_wat(self, text: str) -> Module:
        """Compile a module from WAT text."""
    def load_file(self, path: _PathLike) -> Module:
        """Read and compile a ``.wasm`` or ``.wat`` file."""
    def validate(self, data: _Bytes) -> None:
        """Raise ``InvalidModuleError`` unless ``data`` is a valid module or component."""
    @property
    def limits(self) -> Limits:
        """The default limits of this runtime's sandboxes."""
    def sandbox(
        self,
        module: Optional[Module] = None,
        *,
        memory_limit: _Size = ...,
        fuel_limit: Union[int, Literal["off"], None] = ...,
        timeout: Union[_Seconds, Literal["off"], None] = ...,
        table_elements_limit: int = ...,
        handle_limit: int = ...,
        result_limit: _Size = ...,
        allow_read: Sequence[_PathLike] = ...,
        allow_write: Sequence[_PathLike] = ...,
        map_dirs: Sequence[_DirMap] = ...,
        allow_logging: bool = ...,
        capture_output: Union[bool, _Size] = ...,
        allow_clock: bool = ...,
        allow_net: Sequence[str] = ...,
        env: Mapping[str, str] = ...,
        args: Sequence[str] = ...,
        random_seed: int = ...,
        on_denied: Literal["errno", "error"] = ...,
        stdin: _Stdin = ...,
    ) -> Sandbox:
        """Make a sandbox with this runtime's settings overridden by the options
        (those of scope ``"both"`` in ``aegis.OPTIONS``); load ``module`` if given."""

@final
class FuncType:
    """A function signature: parameter and result type names."""

    params: List[str]
    results: List[str]
    def __new__(cls, params: Sequence[_ValTypeName] = ..., results: Sequence[_ValTypeName] = ...) -> FuncType:
        """A signature from type names, e.g. ``FuncType(["i32"], ["i64"])``."""
    def __eq__(self, value: object, /) -> bool:
        """Equal to a ``FuncType`` with the same params and results."""
    __hash__: ClassVar[None]  # type: ignore[assignment]  # unhashable, as at run time

@final
class MemoryType:
    """A linear memory's size in pages."""

    minimum: int
    maximum: Optional[int]
    memory64: bool
    shared: bool

@final
class TableType:
    """A table's element type and size."""

    element: str
    minimum: int
    maximum: Optional[int]

@final
class GlobalType:
    """A global's value type and mutability."""

    content: str
    mutable: bool

@final
class WitFuncType:
    """A component function's WIT signature; ``str()`` gives ``func(name: string) -> string``."""

    params: List[Tuple[str, str]]
    """Parameter names and WIT types, in order: ``[("name", "string")]``."""
    result: Optional[str]
    """The WIT result type (``"string"``, ``"result<s32, string>"``), or ``None``."""
    signature: str
    """The whole signature as WIT text, e.g. ``"func(name: string) -> string"``."""
    def __eq__(self, value: object, /) -> bool:
        """Equal to a ``WitFuncType`` of the same signature."""
    __hash__: ClassVar[None]  # type: ignore[assignment]  # unhashable, as at run time

_ExternType = Union[FuncType, WitFuncType, MemoryType, TableType, GlobalType, str]

@final
class Import:
    """One import of a module; ``str()`` gives ``env.log [function]: (i32, i32) -> ()``.

    A component's function imports have a ``WitFuncType`` as ``type``; ``module``
    is the interface (``"aegis:test/host"``, ``str()`` gives
    ``aegis:test/host#transform [function]: func(s: string) -> string``), or
    ``""`` for a function imported at the component's root.
    """

    module: str
    name: str
    kind: Literal["function", "memory", "table", "global", "other"]
    type: _ExternType

@final
class Export:
    """One export of a module; ``str()`` gives ``add [function]: (i32, i32) -> (i32)``.

    A component's function exports have a ``WitFuncType`` as ``type`` and are
    named ``func``, or ``interface#func`` inside an exported interface
    (``aegis:test/text#upper [function]: func(s: string) -> string``).
    """

    name: str
    kind: Literal["function", "memory", "table", "global", "other"]
    type: _ExternType

@final
class Module:
    """A compiled module (or WASI 0.2 component); immutable and thread-safe."""

    @property
    def imports(self) -> List[Import]:
        """Every import, in declaration order."""
    @property
    def exports(self) -> List[Export]:
        """Every export, in declaration order."""
    def export(self, name: str) -> Optional[Export]:
        """The export named ``name``, or ``None``."""
    @property
    def function_names(self) -> List[str]:
        """Names of the exported functions."""
    @property
    def is_component(self) -> bool:
        """Whether this is a WASI 0.2 component."""

@final
class Caller:
    """Guest-memory access for host functions registered with ``caller=True``.

    Valid only while the host function runs.
    """

    def memory_size(self) -> int:
        """Size in bytes of the guest's exported ``memory``."""
    def read_memory(self, offset: int, length: int) -> bytes:
        """Copy ``length`` bytes at ``offset`` out of the guest's memory (bounds checked first)."""
    def read_string(self, offset: int, length: int) -> str:
        """Read ``length`` bytes at ``offset`` as UTF-8 text."""
    def write_memory(self, offset: int, data: bytes) -> None:
        """Write ``data`` into the guest's memory at ``offset``."""
    def is_cancelled(self) -> bool:
        """Whether the call must stop (timeout passed or sandbox interrupted); return early if so."""
    @property
    def time_remaining(self) -> Optional[float]:
        """Seconds left before the call's timeout (``0.0`` once passed), ``None`` without a timeout."""

@final
class DeniedOperation:
    """One operation a guest attempted and its capabilities refused."""

    capability: str
    operation: str
    target: str

@final
class Metrics:
    """Resource usage of one call, or summed over a sandbox's life.

    One attribute per name of ``aegis.METRIC_NAMES``.
    """

    calls: int
    wall_time: float
    """Seconds spent inside the guest, host functions included."""
    fuel_consumed: int
    memory_current: int
    """Bytes of linear memory allocated now."""
    memory_peak: int
    """Highest bytes of linear memory allocated."""
    host_calls: int
    denied_count: int
    denied: List[DeniedOperation]
    """The first refused operations."""
    def to_dict(self) -> Dict[str, Any]:
        """The metrics as a dict, in the order of ``aegis.METRIC_NAMES``."""

@final
class Limits:
    """The limits a runtime's sandboxes (or one sandbox) run under."""

    memory: int
    fuel: Optional[int]
    timeout: Optional[float]
    stack: int
    table_elements: int
    handles: int
    result_bytes: int
    """Bytes one call's result may take in host memory (option ``result_limit``)."""

@final
class Sandbox:
    """An isolated place to run guest code; calls release the GIL.

    One call at a time: a call (or any use but ``interrupt()``) while a call
    runs, from another thread or from one of its own host functions, raises
    ``BusyError`` at once. ``interrupt()`` stops a call from any thread;
    Ctrl-C during a call on the main thread stops the guest and raises
    ``KeyboardInterrupt``.
    """

    def register_func(
        self,
        module: str,
        name: str,
        func: Callable[..., Any],
        params: Sequence[_ValTypeName] = ...,
        results: Sequence[_ValTypeName] = ...,
        *,
        caller: bool = False,
    ) -> None:
        """Register ``func`` as the host function ``module.name`` (for modules loaded afterwards)."""
    def register_component(self, name: str, func: Callable[..., Optional[_WitArg]]) -> None:
        """Register ``func`` as the host function for the component import ``name``
        (``"func"`` at the root, ``"interface#func"`` in an imported interface), for
        components loaded afterwards.

        ``func`` receives the arguments as ``call`` returns values and returns the
        result as ``call`` takes arguments (``None`` without one). An exception it
        raises traps the guest: ``HostFunctionError`` with the original as
        ``__cause__``. A component that trapped needs ``reset()`` before its next
        call (``TrapError``, ``trap_code == "cannot_enter_component"``).
        """
    def load_module(self, module: Module) -> None:
        """Instantiate ``module``, replacing any previous instance."""
    def call(self, name: str, *args: _WitArg) -> Any:
        """Call an export.

        Typed ``Any``, like wasmtime-py's ``Func.__call__``: what it returns
        depends on the export's signature, known only at run time (narrow it
        with ``isinstance`` or ``typing.cast``).

        A core module's export takes and returns numbers (None, one number, or a
        tuple for several results). A component's export (``"func"`` or
        ``"interface#func"``) takes and returns WIT values: bool, int (s8..u64,
        range-checked), float, str (char, string, enum), bytes (list<u8>), list,
        tuple, dict (record), a one-key dict for a variant or result
        (``{"circle": 2.0}``, ``{"ok": v}``, ``{"err": e}``; payload ``None`` for a
        case without one), None or the value for ``option<T>`` (``{"some": x}`` for
        ``option<option<T>>``), a list of names for flags (a set is accepted).
        Returns the result's value, or None. A wrong type raises
        ``SignatureMismatchError``.
        """
    def call_bytes(self, name: str, data: _Bytes) -> bytes:
        """Call ``name`` through the bytes convention: ``data`` (any bytes-like object)
        in, the guest's output out (``ResultTooLargeError`` beyond ``result_limit``,
        ``MemoryOutOfBoundsError`` for a pointer outside the guest's memory)."""
    def call_str(self, name: str, text: str) -> str:
        """``call_bytes`` with UTF-8 text both ways (``InvalidResultError`` if the output is not UTF-8)."""
    def memory_size(self, memory: Optional[str] = None) -> int:
        """Size in bytes of the exported memory named ``memory`` (default: ``"memory"``,
        else the only one)."""
    def read_memory(self, offset: int, length: int, memory: Optional[str] = None) -> bytes:
        """Copy ``length`` bytes at ``offset`` out of guest memory; the range is checked
        before allocating (``MemoryOutOfBoundsError``). A copy, never a live view: a
        view would dangle when the guest grows its memory."""
    def read_memory_into(self, offset: int, buffer: _WritableBuffer, memory: Optional[str] = None) -> int:
        """Fill the writable ``buffer`` from guest memory at ``offset``; returns its length in bytes."""
    def write_memory(self, offset: int, data: _Bytes, memory: Optional[str] = None) -> None:
        """Write ``data`` (any bytes-like object) into guest memory at ``offset``."""
    def call_void(self, name: str) -> None:
        """Call an export taking no arguments, discarding its results."""
    def run(self) -> Union[None, int, float, Tuple[_Number, ...]]:
        """Run the default entry point (``_start``, else ``main``)."""
    async def call_async(self, name: str, *args: _WitArg) -> Any:
        """``await sandbox.call_async(name, *args)``: ``call`` off the event loop.

        The call runs on a worker thread of the running loop's default executor
        (as ``asyncio.to_thread`` does) with the GIL released while the guest
        runs, so the loop keeps serving other tasks. Cancelling the awaiting
        task (``task.cancel()``, ``asyncio.wait_for``, ``asyncio.timeout``)
        interrupts the guest, waits for the worker to finish and raises
        ``asyncio.CancelledError``; the sandbox stays usable and the
        cancellation never stops a later call. Another call while this one
        runs raises ``BusyError``.
        """
    async def call_bytes_async(self, name: str, data: _Bytes) -> bytes:
        """``call_bytes`` off the event loop, cancellable like ``call_async``
        (``data`` is copied when the call is made)."""
    async def call_str_async(self, name: str, text: str) -> str:
        """``call_str`` off the event loop, cancellable like ``call_async``."""
    async def run_async(self) -> Union[None, int, float, Tuple[_Number, ...]]:
        """``run`` off the event loop, cancellable like ``call_async``."""
    @property
    def default_entry(self) -> str:
        """The export ``run`` would call."""
    def reset(self) -> None:
        """Re-instantiate the loaded module in a fresh store."""
    @property
    def module(self) -> Optional[Module]:
        """The loaded module, or ``None``."""
    @property
    def metrics(self) -> Metrics:
        """Metrics summed over every call."""
    @property
    def last_call_metrics(self) -> Metrics:
        """Metrics of the most recent call."""
    @property
    def stdout(self) -> bytes:
        """Captured guest stdout (with ``capture_output``)."""
    @property
    def stderr(self) -> bytes:
        """Captured guest stderr (with ``capture_output``)."""
    @property
    def output_dropped(self) -> Tuple[int, int]:
        """_Bytes of (stdout, stderr) dropped because the capture limit was reached."""
    def clear_output(self) -> None:
        """Empty the captured stdout and stderr."""
    @property
    def limits(self) -> Limits:
        """The limits this sandbox runs under."""
    def interrupt(self) -> None:
        """Stop the running call from any thread (``InterruptedError``), or, if none runs, the next call."""
    def interrupt_handle(self) -> InterruptHandle:
        """A handle that interrupts this sandbox from any thread."""
    def close(self) -> None:
        """Free the sandbox; later use raises ``InvalidArgumentError`` (``BusyError`` while a call runs)."""
    @property
    def closed(self) -> bool:
        """Whether the sandbox was closed."""
    def __enter__(self) -> Sandbox: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

@final
class InterruptHandle:
    """Stops one sandbox's calls from any thread; made by ``Sandbox.interrupt_handle()``."""

    def interrupt(self) -> None:
        """Stop the sandbox's running call, or its next call if none runs."""
    @property
    def pending(self) -> bool:
        """Whether a request waits for the sandbox's next call."""

_T = TypeVar("_T")

@final
class _CallScope:
    """The cancellation of one awaited call (used by ``aegis._aio``)."""

    def run(self, func: Callable[..., _T], *args: Any) -> _T:
        """Call ``func(*args)`` in this scope, unless it was cancelled first
        (then raise ``InterruptedError`` without calling it)."""
    def cancel(self) -> bool:
        """Interrupt the scope's running call, or keep it from starting;
        return whether ``run`` had begun."""
    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` was called."""

def _sample_error(code: str) -> BaseException:
    """Test hook: the exception Aegis raises for a sample error of ``code``."""

def _sample_error_json(code: str) -> str:
    """Test hook: the core's JSON form (``code``, ``message``, details) of the same sample."""
