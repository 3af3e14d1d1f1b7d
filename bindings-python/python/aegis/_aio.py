"""Awaitable sandbox calls: ``Sandbox.call_async`` and friends.

The guest runs on a worker thread of the event loop's default executor (as
``asyncio.to_thread`` does); the sync method releases the GIL while the
guest runs, so the loop keeps serving other tasks. The call runs in a
``_CallScope``: cancelling the awaiting task cancels the scope, which
interrupts the guest if it runs, or keeps the call from starting if the
worker has not begun it. The task then waits for the worker before raising
``CancelledError``, so the sandbox is free again when the cancellation
reaches the caller.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Optional, Tuple, TypeVar

from ._aegis import _CallScope

T = TypeVar("T")


async def offload(scope: _CallScope, func: Callable[..., T], args: Tuple[Any, ...]) -> T:
    """Await ``scope.run(func, *args)`` on a worker thread; cancellation
    interrupts the call and waits for the worker (see the module's doc)."""
    loop = asyncio.get_running_loop()
    returned: List[T] = []

    def work() -> Optional[BaseException]:
        # Never raises: an exception left in the executor's future would be
        # reported as "never retrieved" when a cancellation abandons it.
        try:
            returned.append(scope.run(func, *args))
            return None
        except BaseException as exc:  # re-raised in the awaiting task
            return exc

    worker = loop.run_in_executor(None, work)
    try:
        error = await asyncio.shield(worker)
    except asyncio.CancelledError:
        if scope.cancel():
            # The worker began: wait until it no longer uses the sandbox
            # (the interrupt ends the guest within milliseconds). Further
            # cancellations do not cut this wait short.
            while not worker.done():
                try:
                    await asyncio.shield(worker)
                except asyncio.CancelledError:
                    pass
        # Otherwise the worker, when it runs, returns without calling `func`.
        raise
    if error is not None:
        try:
            raise error
        finally:
            error = None  # no reference cycle through the traceback
    return returned[0]
