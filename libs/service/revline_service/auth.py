"""API keys with roles (API.md, Auth): `Authorization: Bearer <key>`.

Keys come from `REVLINE_API_KEYS` (`key:role` pairs, comma separated). When it
is unset the dev keys file (`var/dev-keys.json`, made by `make run`) is used,
and created with fresh random keys if missing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import Request

from revline_service.problems import Problem


class Role(StrEnum):
    """What a key may do. `admin` may do everything."""

    ADMIN = "admin"
    SALES = "sales"
    OPS = "ops"
    FINANCE = "finance"


@dataclass(frozen=True)
class Principal:
    """The caller, as identified by its key."""

    role: Role
    key_id: str  # a non-secret fingerprint of the key, for logs and idempotency scopes


class KeyConfigError(ValueError):
    """REVLINE_API_KEYS is malformed."""


def parse_keys(spec: str) -> dict[str, Role]:
    """`"k1:admin,k2:sales"` -> {"k1": ADMIN, "k2": SALES}; raises KeyConfigError."""
    keys: dict[str, Role] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, role = pair.rpartition(":")
        if not sep or not key:
            raise KeyConfigError(f"API key entry {pair!r} is not key:role")
        try:
            keys[key] = Role(role)
        except ValueError:
            raise KeyConfigError(f"unknown role {role!r} (admin, sales, ops, finance)") from None
    if not keys:
        raise KeyConfigError("REVLINE_API_KEYS names no key")
    return keys


def dev_keys(path: Path) -> dict[str, Role]:
    """Read the dev keys file, creating it once with a random key per role."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = {role.value: f"rk_{role.value}_{secrets.token_urlsafe(18)}" for role in Role}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(fresh, indent=2) + "\n")
        tmp.replace(path)
    by_role = json.loads(path.read_text())
    return {key: Role(role) for role, key in by_role.items()}


class KeyRing:
    """Looks a bearer key up in constant time per key."""

    def __init__(self, keys: dict[str, Role]) -> None:
        self._keys = keys

    @classmethod
    def from_settings(cls, api_keys: str | None, dev_keys_file: Path) -> KeyRing:
        """From REVLINE_API_KEYS when set, else from the dev keys file."""
        return cls(parse_keys(api_keys) if api_keys else dev_keys(dev_keys_file))

    def identify(self, presented: str) -> Principal | None:
        """The principal owning `presented`, or None."""
        found: Principal | None = None
        for key, role in self._keys.items():
            if hmac.compare_digest(key.encode(), presented.encode()):
                found = Principal(role=role, key_id=_fingerprint(key))
        return found


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


# Each dependency `require` made, with the roles it admits: the OpenAPI document asks
# which routes need a key (roles_of). Weak keys: a dependency lives as long as its routes.
_ROLE_CHECKS: weakref.WeakKeyDictionary[Callable[..., Any], frozenset[Role]] = (
    weakref.WeakKeyDictionary()
)


def roles_of(dependency: Callable[..., Any] | None) -> frozenset[Role] | None:
    """The roles `dependency` admits when `require` made it, else None."""
    if dependency is None:
        return None
    try:
        return _ROLE_CHECKS.get(dependency)
    except TypeError:  # not weak-referenceable, so not one of ours
        return None


def require(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency admitting the given roles (and admin); 401 or 403 otherwise."""
    allowed = {Role.ADMIN, *roles}

    async def dependency(request: Request) -> Principal:
        ring: KeyRing = request.app.state.keyring
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Problem(
                401,
                "Unauthorized",
                "send an API key as 'Authorization: Bearer <key>'",
                headers=UNAUTHORIZED_HEADERS,
            )
        principal = ring.identify(presented.strip())
        if principal is None:
            raise Problem(401, "Unauthorized", "unknown API key", headers=UNAUTHORIZED_HEADERS)
        if principal.role not in allowed:
            needed = ", ".join(sorted(r.value for r in allowed))
            raise Problem(
                403, "Forbidden", f"role {principal.role.value} may not do this (needs: {needed})"
            )
        request.state.principal = principal
        return principal

    _ROLE_CHECKS[dependency] = frozenset(allowed)
    return dependency
