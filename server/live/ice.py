"""The STUN/TURN servers a peer connection may use, with short-lived TURN credentials.

TURN credentials follow coturn's REST scheme (`use-auth-secret`): the username is the
expiry time and who it is for, the password an HMAC-SHA1 of the username under the secret
shared with coturn. Nobody holds a long-lived TURN password, and coturn needs no user list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from server.config import Settings


def turn_credentials(secret: str, who: str, ttl_seconds: int,
                     now: float | None = None) -> tuple[str, str]:
    expires = int((time.time() if now is None else now) + ttl_seconds)
    username = f"{expires}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, who: str) -> list[dict[str, Any]]:
    """As the browser's RTCPeerConnection takes them (and the agent, and the relay)."""
    servers: list[dict[str, Any]] = []
    if settings.stun_url:
        servers.append({"urls": [settings.stun_url]})
    if settings.turn_url and settings.turn_secret:
        username, credential = turn_credentials(settings.turn_secret, who,
                                                settings.turn_ttl_hours * 3600)
        servers.append({"urls": [settings.turn_url], "username": username,
                        "credential": credential})
    return servers
