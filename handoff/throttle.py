"""Log-in throttling for the agents' console, kept in the database so every gateway replica
shares it (table ``login_attempts``).

It slows a password guesser down without locking the real agent out. Every attempt that
reaches the password check is a row: the client's address, the username (normalised as the
directory reads it, known or not), when, and whether it worked. Over the last ``window``
(15 minutes):

per client
    The first ``client_free`` failures, whatever the usernames, are free; after that the client
    waits 2, 4, 8... seconds after its latest failure (capped at ``max_delay``).
per username
    Once a username has ``user_free`` failures from anyone, a client that failed on it waits
    2^k seconds after its latest failure on it, k being its own failures on that username.
    A client with no failures on that username is not slowed down: the agent still logs in
    while someone else hammers the name.
per username, globally
    At ``user_cap`` failures (many addresses at once) only clients that logged in as that user
    before (within ``known_for``) may still try, until the count drops below the cap.

A refused attempt is neither checked nor counted. A success forgets that client's failures on
that username. An attempt is counted as a failure *before* the (slow) password check, so a
burst of parallel guesses sees itself.

Clients are told apart by the same address as the chat's rate limit
(:func:`bot.web.http.client_address`): the peer's, or, when the peer is one of
``TRUSTED_PROXIES``, the nearest untrusted address in its ``X-Forwarded-For``; a header from any
other client is ignored. uvicorn's own proxy-header handling is off (``--no-proxy-headers`` in
bot/run.py) so it cannot rewrite the peer by a second rule. IPv6 clients count per /64, the
block one subscriber usually has.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from bot.core.db import login_attempts, utcnow

KEY_CHARS = 64  # the columns' width


@dataclass(frozen=True)
class LoginPolicy:
    window: timedelta = timedelta(minutes=15)
    client_free: int = 5
    user_free: int = 5
    max_delay: timedelta = timedelta(minutes=15)
    user_cap: int = 100
    known_for: timedelta = timedelta(days=30)


class Throttled(Exception):
    """Too many failed log-ins: try again in ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed log-ins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def client_key(host: str | None) -> str:
    """The address a client is counted under: IPv6 by its /64, anything else as it is."""
    host = (host or "unknown").strip()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:KEY_CHARS]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def username_key(username: str) -> str:
    """As :meth:`handoff.agents.AgentDirectory.authenticate` reads it: respelling gains nothing."""
    return username.strip().lower()[:KEY_CHARS]


class LoginThrottle:
    """The three limits of the module docstring, on the configured database."""

    def __init__(
        self,
        engine: Engine,
        policy: LoginPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.policy = policy or LoginPolicy()
        self.clock = clock

    def begin(self, client: str | None, username: str) -> int:
        """Admit an attempt and count it as failed until :meth:`succeeded` says otherwise;
        returns its id. Raises :class:`Throttled` (and counts nothing) when it must wait."""
        client, username, now = client_key(client), username_key(username), self.clock()
        with self.engine.begin() as conn:
            wait = self._wait_s(conn, client, username, now)
            if wait > 0:
                raise Throttled(max(1, math.ceil(wait)))
            policy = self.policy
            conn.execute(
                delete(login_attempts).where(
                    or_(
                        and_(
                            login_attempts.c.succeeded.is_(False),
                            login_attempts.c.attempted_at < now - policy.window,
                        ),
                        login_attempts.c.attempted_at < now - max(policy.known_for, policy.window),
                    )
                )
            )
            values = {"client": client, "username": username, "succeeded": False, "attempted_at": now}
            return int(conn.execute(insert(login_attempts).values(**values)).inserted_primary_key[0])

    def succeeded(self, attempt_id: int) -> None:
        """The password was right: forget this client's failures on the username, and remember
        the client as one the agent uses."""
        with self.engine.begin() as conn:
            row = conn.execute(select(login_attempts).where(login_attempts.c.id == attempt_id)).first()
            if row is None:
                return
            conn.execute(
                delete(login_attempts).where(
                    login_attempts.c.client == row.client,
                    login_attempts.c.username == row.username,
                    login_attempts.c.id != attempt_id,
                )
            )
            conn.execute(
                update(login_attempts).where(login_attempts.c.id == attempt_id).values(succeeded=True)
            )

    def _wait_s(self, conn: Connection, client: str, username: str, now: datetime) -> float:
        policy, t = self.policy, login_attempts.c
        failures = conn.execute(
            select(t.client, t.username, t.attempted_at).where(
                t.succeeded.is_(False),
                t.attempted_at > now - policy.window,
                or_(t.client == client, t.username == username),
            )
        ).all()
        by_client = sorted(r.attempted_at for r in failures if r.client == client)
        on_user = sorted(r.attempted_at for r in failures if r.username == username)
        mine = sorted(r.attempted_at for r in failures if r.client == client and r.username == username)
        until = [now]
        if len(by_client) >= policy.client_free:
            until.append(by_client[-1] + self._delay(len(by_client) - policy.client_free + 1))
        if len(on_user) >= policy.user_free and mine:
            until.append(mine[-1] + self._delay(len(mine)))
        if len(on_user) >= policy.user_cap and not self._known(conn, client, username, now):
            # the count drops below the cap when this failure leaves the window
            until.append(on_user[len(on_user) - policy.user_cap] + policy.window)
        return (max(until) - now).total_seconds()

    def _delay(self, exponent: int) -> timedelta:
        return min(timedelta(seconds=2 ** min(exponent, 30)), self.policy.max_delay)

    def _known(self, conn: Connection, client: str, username: str, now: datetime) -> bool:
        t = login_attempts.c
        known = exists().where(
            t.client == client,
            t.username == username,
            t.succeeded.is_(True),
            t.attempted_at > now - self.policy.known_for,
        )
        return bool(conn.execute(select(known)).scalar())
