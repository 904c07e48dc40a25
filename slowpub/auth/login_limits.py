"""How many wrong passwords an address, or an account, may send before it must wait.

Without a limit a password is a matter of time. The numbers (Mastodon's
order of magnitude, a little stricter):

* an address (an IPv6 /64 counts as one) may fail 10 times in 5 minutes,
  whatever accounts it tries: this is what mainly stops a guesser;
* an account may fail 25 times in an hour, from all addresses together,
  which slows a guesser spread over many addresses;
* an address that logged in to an account successfully in the last 30
  days is "known" for it: it is held only to its own 10 failures in 5
  minutes for that account, so neither a flood against the account from
  elsewhere nor other people's failures from a shared address (a NAT, an
  untrusted proxy) lock the owner out. A success removes its own attempt
  from the counts and nothing else: a guesser who owns one account here
  cannot clear its record by logging in to it between guesses.

Every wait is bounded: a window only holds failures younger than its
length, so a limit lifts at most 5 minutes (address) or an hour (account)
after the failures stop. Attempts refused while limited are not verified
and not counted. An attempt counts as failed from the moment it starts,
so concurrent guesses cannot overshoot a limit while their checks run.

The counts live in process memory (``slowpub serve`` is one process) and are
bounded: at most ``max_keys`` addresses, accounts and known pairs, each with
at most ``limit`` times, the least recently failing dropped first. An
attacker rotating addresses or usernames only pushes out stale entries; to
push out a live one it must make ``max_keys`` failed checks within its
window, which its own address limits forbid.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections import OrderedDict, deque
from dataclasses import dataclass

ADDRESS_LIMIT = 10
ADDRESS_WINDOW = 5 * 60.0
ACCOUNT_LIMIT = 25
ACCOUNT_WINDOW = 60 * 60.0
KNOWN_FOR = 30 * 24 * 3600.0
MAX_TRACKED = 10_000


class LoginThrottled(Exception):
    """Too many failed logins: answer 429 and say when to come back."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after} s")
        self.retry_after = retry_after


def address_key(address: str | None) -> str:
    """One key per client: an IPv6 /64 is one subscriber, who has all of it."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def account_key(user_id: int | None, login: str) -> str:
    """The account tried: its id (username and e-mail are one account), else the name.

    Unknown names are hashed so a key stays small whatever was sent.
    """
    if user_id is not None:
        return f"user:{user_id}"
    name = login.strip().lstrip("@").lower().encode()
    return "login:" + hashlib.sha256(name).hexdigest()[:32]


class _Windows:
    """Failure times per key in a sliding window; bounded in keys and in times per key."""

    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._times)

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again; 0 if it may now."""
        times = self._times.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._times[key]
            return 0.0
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.window - now

    def add(self, key: str, now: float) -> None:
        times = self._times.pop(key, None)
        if times is None:
            times = deque(maxlen=self.limit)
        times.append(now)
        self._times[key] = times  # most recently failing last
        while len(self._times) > self.max_keys:
            self._times.popitem(last=False)

    def discard(self, key: str, moment: float) -> None:
        times = self._times.get(key)
        if times is not None and moment in times:
            times.remove(moment)


@dataclass(frozen=True)
class Attempt:
    """A login in progress, counted as failed until :meth:`LoginLimiter.succeeded`."""

    account: str
    address: str
    known: bool
    at: float


class LoginLimiter:
    def __init__(
        self,
        *,
        address_limit: int = ADDRESS_LIMIT,
        address_window: float = ADDRESS_WINDOW,
        account_limit: int = ACCOUNT_LIMIT,
        account_window: float = ACCOUNT_WINDOW,
        known_for: float = KNOWN_FOR,
        max_keys: int = MAX_TRACKED,
    ) -> None:
        self.addresses = _Windows(address_limit, address_window, max_keys)
        self.accounts = _Windows(account_limit, account_window, max_keys)
        self.pairs = _Windows(address_limit, address_window, max_keys)
        self.known_for = known_for
        self.max_keys = max_keys
        self._known: OrderedDict[tuple[str, str], float] = OrderedDict()

    def _is_known(self, account: str, address: str, now: float) -> bool:
        since = self._known.get((account, address))
        if since is None:
            return False
        if since <= now - self.known_for:
            del self._known[(account, address)]
            return False
        return True

    def begin(self, account: str, address: str, now: float) -> Attempt:
        """Count an attempt, or raise :class:`LoginThrottled` without counting it."""
        known = self._is_known(account, address, now)
        pair = f"{account} {address}"
        if known:
            wait = self.pairs.wait(pair, now)
        else:
            wait = max(self.addresses.wait(address, now), self.accounts.wait(account, now))
        if wait > 0:
            raise LoginThrottled(max(1, math.ceil(wait)))
        self.addresses.add(address, now)
        self.accounts.add(account, now)
        if known:
            self.pairs.add(pair, now)
        return Attempt(account, address, known, now)

    def succeeded(self, attempt: Attempt) -> None:
        """Uncount the attempt and remember the address for the account."""
        self.addresses.discard(attempt.address, attempt.at)
        self.accounts.discard(attempt.account, attempt.at)
        self.pairs.discard(f"{attempt.account} {attempt.address}", attempt.at)
        key = (attempt.account, attempt.address)
        self._known.pop(key, None)
        self._known[key] = attempt.at
        while len(self._known) > self.max_keys:
            self._known.popitem(last=False)

    def tracked(self) -> int:
        """Entries held in all tables: what memory the limiter uses grows with this."""
        return len(self.addresses) + len(self.accounts) + len(self.pairs) + len(self._known)
