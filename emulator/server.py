"""HTTP side of the emulator: Bot API routing, request decoding, records, fault injection,
flood limits (see ``limits``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .api_methods import METHODS
from .errors import ApiError, bad_request, forbidden, too_many_requests
from .files import MAX_UPLOAD_BYTES, FileStore
from .limits import FloodControl, Limits, Monotonic, Violation
from .methods import HANDLERS, Context
from .validation import Params, Upload
from .world import EventCallback, World

_DEFAULT_FAILURE_TEXT = {
    400: "Bad Request: injected failure",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: injected failure",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class RecordedRequest:
    method: str
    params: dict[str, Any]
    chat_id: int | None
    status: int
    error: str | None
    at: float
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class FailureRule:
    status: int
    remaining: int
    retry_after: int | None
    description: str | None
    penalty: bool = False


class BotApiServer:
    """Serves ``/bot<token>/<method>`` and ``/file/bot<token>/<path>`` from a World."""

    def __init__(
        self,
        token: str,
        bot_username: str,
        bot_name: str,
        *,
        strict_html: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        bot_id = int(token.split(":", 1)[0])
        self.token = token
        self.host = host
        self.port = port
        self.world = World(
            {"id": bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username}
        )
        self.files = FileStore()
        self.context = Context(self.world, self.files, strict_html)
        self.requests: list[RecordedRequest] = []
        self._failures: dict[int, list[FailureRule]] = {}
        self._blocked: set[int] = set()
        self.flood = FloodControl(monotonic)
        self.flood.configure(limits)
        self._method_names = {name.lower(): name for name in METHODS}
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self.world.updates.closing = False
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        # Release pending long polls first, otherwise cleanup waits for their timeouts.
        self.world.updates.closing = True
        self.world.updates.wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- records and fault injection ----------------------------------------------------

    @property
    def errors(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.error is not None]

    def sent_to(self, chat_id: int) -> list[RecordedRequest]:
        return [r for r in self.requests if r.chat_id == chat_id]

    def clear_records(self) -> None:
        """Forget recorded requests, flood violations and the injected-429 count."""
        self.requests.clear()
        self.flood.clear()

    def on_event(self, callback: EventCallback) -> None:
        self.world.on_event(callback)

    def fail(
        self,
        chat_id: int,
        status: int = 429,
        retry_after: int | None = 3,
        times: int = 1,
        description: str | None = None,
        *,
        penalty: bool = False,
    ) -> None:
        """Make the next ``times`` calls targeting ``chat_id`` fail with ``status``.

        With ``penalty=True`` an injected 429 also holds back all of the bot's messages
        for ``retry_after`` seconds, the way Telegram does (see ``limits``)."""
        rule = FailureRule(
            status, times, retry_after if status == 429 else None, description, penalty
        )
        self._failures.setdefault(chat_id, []).append(rule)

    def block(self, *chat_ids: int) -> None:
        """The users blocked the bot: calls aimed at their chats get 403 until they write
        again (or ``unblock``)."""
        self._blocked.update(chat_ids)

    def unblock(self, *chat_ids: int) -> None:
        self._blocked.difference_update(chat_ids)

    @property
    def blocked(self) -> frozenset[int]:
        return frozenset(self._blocked)

    # --- flood limits (see emulator.limits) ---------------------------------------------

    @property
    def limits(self) -> Limits | None:
        """``None`` (the default): no flood limits. Assigning ``Limits(...)`` turns them
        on with empty windows and no penalty; earlier violations are kept."""
        return self.flood.limits

    @limits.setter
    def limits(self, limits: Limits | None) -> None:
        self.flood.configure(limits)

    @property
    def monotonic(self) -> Monotonic:
        """The clock flood windows and penalties are measured with."""
        return self.flood.clock

    @monotonic.setter
    def monotonic(self, clock: Monotonic) -> None:
        self.flood.clock = clock

    @property
    def violations(self) -> list[Violation]:
        return self.flood.violations

    @property
    def violation_count(self) -> int:
        return len(self.flood.violations)

    @property
    def injected_429_count(self) -> int:
        return self.flood.injected_429s

    def inject_429_every(
        self, every: int | None, retry_after: int = 3, *, penalty: bool = True
    ) -> None:
        """Answer every ``every``-th message that would otherwise go through with 429 and
        ``retry_after``, then (``penalty``) refuse messages until it has passed. ``None``
        or 0 stops it. Independent of ``limits``."""
        self.flood.inject_every(every, retry_after, penalty)

    def penalty_remaining(self) -> float:
        """Seconds the bot still has to wait after its last 429 (0 when free)."""
        return self.flood.penalty_remaining()

    def _inject(self, chat_id: int | None) -> None:
        if chat_id is None:
            return
        if chat_id in self._blocked:
            raise forbidden("bot was blocked by the user")
        rules = self._failures.get(chat_id)
        if not rules:
            return
        rule = rules[0]
        rule.remaining -= 1
        if rule.remaining <= 0:
            rules.pop(0)
        if rule.status == 429:
            if rule.penalty:
                self.flood.penalize(rule.retry_after or 1)
            raise too_many_requests(rule.retry_after or 1)
        text = rule.description or _DEFAULT_FAILURE_TEXT.get(rule.status, "Injected failure")
        raise ApiError(rule.status, text)

    def _target_chat(self, method: str, params: Params) -> int | None:
        if method == "answerCallbackQuery":
            record = self.world.callbacks.get(params.string("callback_query_id"))
            return record.chat_id if record else None
        chat_id = params.get("chat_id")
        return chat_id if isinstance(chat_id, int) else None

    # --- HTTP handlers ------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.method != "POST" or not request.can_read_body:
            return raw, uploads
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            raw.update(body)
            return raw, uploads
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(value.file.read(), value.filename, value.content_type)
                continue
            raw[key] = value
        return raw, uploads

    async def _handle_method(self, request: web.Request) -> web.Response:
        method_name = request.match_info["method"]
        method = self._method_names.get(method_name.lower(), method_name)
        raw: dict[str, Any] = {}
        params: Params | None = None
        chat_id: int | None = None
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method_name.lower() not in self._method_names:
                raise ApiError(404, "Not Found")
            raw, uploads = await self._read_params(request)
            for key, upload in uploads.items():
                if key in METHODS[method]:
                    raw[key] = upload  # a file sent directly under the param's name
            params = Params(method, raw, uploads)
            chat_id = self._target_chat(method, params)
            params.check_required()
            self.flood.admit(method, chat_id)
            self._inject(chat_id)
            handler = HANDLERS.get(method, _generic)
            result = await handler(self.context, params)
        except ApiError as exc:
            recorded = params.recorded() if params else _summarise(raw)
            self._record(method, recorded, chat_id, exc.status, exc.description, None)
            return web.json_response(exc.payload(), status=exc.status)
        self._record(method, params.recorded(), chat_id, 200, None, result)
        return web.json_response({"ok": True, "result": result})

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        chat_id: int | None,
        status: int,
        error: str | None,
        result: Any,
    ) -> None:
        record = RecordedRequest(method, params, chat_id, status, error, time.time(), result)
        self.requests.append(record)
        if error is not None:
            self.world.emit(
                {
                    "type": "rejected",
                    "chat_id": chat_id,
                    "method": method,
                    "status": status,
                    "error": error,
                    "params": _json_safe(params),
                }
            )

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self.files.by_path(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )


async def _generic(ctx: Context, params: Params) -> Any:
    """Official methods without a dedicated model: validated, then acknowledged."""
    if "chat_id" in params.spec and params.get("chat_id") is not None:
        ctx.chat(params.get("chat_id"))
    return True


def _summarise(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"upload": v.filename, "size": len(v.data)} if isinstance(v, Upload) else v
        for k, v in raw.items()
    }


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
