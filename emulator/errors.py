"""Errors raised inside the emulator and turned into Bot API error responses."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API error: becomes ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


class EmulatorUsageError(AssertionError):
    """The test/sandbox asked the emulator for something impossible (e.g. pressing a
    button that is not on the message). An AssertionError so pytest reports it as a
    failed expectation rather than a crash."""
