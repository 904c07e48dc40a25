"""Argon2 checks off the event loop, on a small pool of their own threads.

argon2-cffi releases the GIL while it hashes, so a check on a thread leaves
the event loop free to serve inbox POSTs; the pool's size bounds how much
memory (64 MiB a check) guessers can take, the rest wait their turn. The
threads also run at the lowest CPU priority: on a busy core, a thread of
equal priority would still take its share from the event loop (measured:
a pinned server's inbox fell from ~1,500 to ~100 accepted/s under 8
guessers from fresh addresses), so checks get the CPU the server is not
using, and the threads libargon2 starts for its lanes inherit that.
A login naming no one is checked against the dummy hash of
:mod:`slowpub.social.passwords`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slowpub.social.passwords import dummy_password_hash, verify_password_hash

# Two cores is the smallest machine slowpub targets: at most this many
# Argon2 checks (64 MiB each) run at once, whatever the number of guessers.
CONCURRENT_CHECKS = 2
# Linux nice value of the checking threads (per thread there): the lowest.
CHECK_NICENESS = 19


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux: same priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)


class PasswordChecks:
    """Argon2 verifications on their own threads, at most ``workers`` at once.

    ``verify(hash, password)`` is the check itself; tests replace it to see
    which hash each login was verified against, or to hold a check open.
    """

    def __init__(self, workers: int = CONCURRENT_CHECKS) -> None:
        self.workers = workers
        self.verify: Callable[[str, str], bool] = verify_password_hash
        self._pool: ThreadPoolExecutor | None = None

    def _run(self, password_hash: str | None, password: str) -> bool:
        # The dummy is made on the first check, whoever it names, so that
        # first check costs the same for an unknown name and a real one.
        dummy = dummy_password_hash()
        matched = self.verify(password_hash or dummy, password)
        return matched and password_hash is not None

    async def check(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; ``None`` (no account, no password) never does."""
        if self._pool is None:  # commands that never check a password start no threads
            self._pool = ThreadPoolExecutor(
                self.workers, thread_name_prefix="slowpub-password", initializer=_lower_priority
            )
        loop = asyncio.get_running_loop()
        # A cancelled request leaves its check running in the pool, which
        # still bounds how many run.
        return await loop.run_in_executor(self._pool, self._run, password_hash, password)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
