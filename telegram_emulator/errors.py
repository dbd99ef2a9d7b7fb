"""Errors the emulator raises.

::

    EmulatorError                 anything the emulator refuses
    ├── ApiError                  a Bot API error reply: {"ok": false, "error_code", ...}
    │   └── (built by the helpers below: bad_request, forbidden, too_many_requests, ...)
    └── ControlError              the control API was misused (unknown chat for inject, ...)

``ApiError`` carries exactly what Telegram would send back, so the HTTP layer only serialises
it; the Bot API methods raise it wherever Telegram would refuse a call.
"""

from __future__ import annotations

from typing import Any


class EmulatorError(Exception):
    """Base of everything the emulator raises on purpose."""


class ApiError(EmulatorError):
    """A Bot API error reply, with Telegram's status code, description and parameters."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_payload(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            payload["parameters"] = self.parameters
        return payload


class ControlError(EmulatorError):
    """The control API was asked for something impossible (a test bug, not a Bot API error)."""


def bad_request(detail: str, parameters: dict[str, Any] | None = None) -> ApiError:
    """400 with Telegram's "Bad Request: ..." prefix."""
    return ApiError(400, f"Bad Request: {detail}", parameters)


def forbidden(detail: str) -> ApiError:
    """403 with Telegram's "Forbidden: ..." prefix."""
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 exactly as Telegram words it; retry_after is whole seconds, at least 1."""
    seconds = max(1, int(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


def chat_not_found() -> ApiError:
    """Telegram answers an unknown chat with 400, not 403."""
    return bad_request("chat not found")


def migrated(new_chat_id: int) -> ApiError:
    """The group became a supergroup: 400 carrying the new id."""
    return bad_request(
        "group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": new_chat_id}
    )


def unauthorized() -> ApiError:
    """Unknown bot token."""
    return ApiError(401, "Unauthorized")


def not_found() -> ApiError:
    """Unknown Bot API method."""
    return ApiError(404, "Not Found")


def conflict(detail: str) -> ApiError:
    """409: a second poller, or getUpdates while a webhook is set."""
    return ApiError(409, f"Conflict: {detail}")
