"""What the C2S routes share: the owner check and the error they raise."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from slowpub.auth.access import require_auth
from slowpub.storage.models import User


def error(status: int, reason: str) -> HTTPException:
    return HTTPException(status, reason)


async def owner(request: Request, scope: str) -> User:
    token = await require_auth(request, scope)
    assert token.user is not None
    if token.user.username != request.path_params["username"].lower():
        box = "inbox" if request.url.path.endswith("/inbox") else "outbox"
        raise error(403, f"this {box} belongs to someone else")
    return token.user
