"""The page's JSON API and live feed, mounted on the emulator's web server.

Everything a pane does goes through the emulator's user actions (``send_text``, ``press``,
``send_photo``…), exactly like a Telegram client: the bot receives the update through
getUpdates and answers over the Bot API; the page sees the result on the live feed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from emulator import ApiError, EmulatedUser, EmulatorUsageError
from sandbox.audio import ogg_seconds

if TYPE_CHECKING:
    from sandbox.core import Sandbox

STATIC = Path(__file__).parent / "static"
MAX_TEXT = 4096  # what a Telegram client lets a user send in one message
MAX_ADVANCE = timedelta(days=60)
MAX_VOICE_SECONDS = 24 * 3600
# A voice file whose length neither the file nor the page could tell.
UNKNOWN_VOICE_SECONDS = 3

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """An action the page asked for that cannot be done; shown to the user as is."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def add_routes(sandbox: Sandbox) -> None:
    api = Api(sandbox)
    router = sandbox.emu.app.router
    router.add_get("/", api.index)
    router.add_static("/static/", STATIC, name="static")
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/api/state", api.state),
        ("GET", "/api/personas", api.personas),
        ("GET", "/api/buildings", api.buildings),
        ("GET", "/api/clock", api.clock),
        ("POST", "/api/clock/advance", api.advance),
        ("GET", "/api/errors", api.errors),
        ("GET", "/api/files/{file_id}", api.file),
        ("GET", "/api/chats/{user_id}", api.chat),
        ("POST", "/api/chats/{user_id}/text", api.text),
        ("POST", "/api/chats/{user_id}/start", api.start),
        ("POST", "/api/chats/{user_id}/press", api.press),
        ("POST", "/api/chats/{user_id}/contact", api.contact),
        ("POST", "/api/chats/{user_id}/location", api.location),
        ("POST", "/api/chats/{user_id}/users", api.users),
        ("POST", "/api/chats/{user_id}/photo", api.photo),
        ("POST", "/api/chats/{user_id}/voice", api.voice),
        ("POST", "/api/chats/{user_id}/desk", api.desk),
    ]
    for method, path, handler in routes:
        router.add_route(method, path, _json_errors(handler))
    router.add_get("/api/events", api.events)


def _json_errors(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as exc:
            return web.json_response({"ok": False, "error": exc.message}, status=exc.status)
        except EmulatorUsageError as exc:
            # E.g. a button pressed on a message the bot has just replaced.
            return web.json_response({"ok": False, "error": str(exc)}, status=409)

    return wrapped


class Api:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    # --- page and state -----------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def state(self, request: web.Request) -> web.Response:
        sb = self.sandbox
        return web.json_response(
            {
                "bot": {
                    "username": sb.emu.world.bot_user["username"],
                    "name": sb.emu.world.bot_user["first_name"],
                },
                "personas": [p.to_json() for p in sb.directory.personas],
                "buildings": [b.to_json() for b in sb.directory.buildings],
                "defaults": sb.directory.defaults,
                "clock": sb.clock_json(),
                "open311": sb.open311,
                "public_url": sb.public_url,
                "errors": sb.hub.errors,
                "seq": sb.hub.seq,
            }
        )

    async def personas(self, request: web.Request) -> web.Response:
        return web.json_response([p.to_json() for p in self.sandbox.directory.personas])

    async def buildings(self, request: web.Request) -> web.Response:
        return web.json_response([b.to_json() for b in self.sandbox.directory.buildings])

    async def errors(self, request: web.Request) -> web.Response:
        return web.json_response(self.sandbox.hub.errors)

    async def clock(self, request: web.Request) -> web.Response:
        return web.json_response(self.sandbox.clock_json())

    async def advance(self, request: web.Request) -> web.Response:
        body = await _body(request)
        minutes = body.get("minutes")
        if not isinstance(minutes, int | float) or isinstance(minutes, bool) or minutes <= 0:
            raise Problem(400, "minutes: a positive number, e.g. 30")
        delta = timedelta(minutes=minutes)
        if delta > MAX_ADVANCE:
            raise Problem(400, f"at most {MAX_ADVANCE.days} days at a time")
        fired = await self.sandbox.advance(delta)
        return web.json_response({"ok": True, "fired": fired, "clock": self.sandbox.clock_json()})

    async def file(self, request: web.Request) -> web.Response:
        stored = self.sandbox.emu.files.get(request.match_info["file_id"])
        if stored is None:
            raise Problem(404, "no such file")
        mime = stored.mime_type or mimetypes.guess_type(stored.file_path)[0]
        return web.Response(
            body=stored.data,
            content_type=mime or "application/octet-stream",
            # File ids never change content; the page may cache them for good.
            headers={"Cache-Control": "max-age=86400, immutable"},
        )

    async def chat(self, request: web.Request) -> web.Response:
        user = self._user(request)
        sb = self.sandbox
        state = sb.emu.world.chats[user.id]
        # Built without awaiting anything, so it matches ``seq`` exactly.
        return web.json_response(
            {
                "seq": sb.hub.seq,
                "chat_id": user.id,
                "messages": [sb.hub.message_json(user.id, m.snapshot()) for m in state.messages],
                "reply_keyboard": sb.hub.reply_keyboard(user.id),
                "commands": sb.emu.chat(user.id).commands,
                "callback_answers": sb.emu.chat(user.id).callback_answers,
                "errors": sb.hub.errors_of(user.id),
            }
        )

    # --- a persona's actions ------------------------------------------------------------

    async def text(self, request: web.Request) -> web.Response:
        user = self._user(request)
        text = (await _body(request)).get("text")
        if not isinstance(text, str) or not text.strip():
            raise Problem(400, "text: say something")
        if len(text) > MAX_TEXT:
            raise Problem(400, f"text: at most {MAX_TEXT} characters in one message")
        return _sent(self.sandbox.emu.send_text(user, text))

    async def start(self, request: web.Request) -> web.Response:
        """/start, or /start <payload> as opening a t.me deep link (a building's QR)."""
        user = self._user(request)
        payload = (await _body(request)).get("payload")
        if payload is not None and not isinstance(payload, str):
            raise Problem(400, "payload: a string")
        return _sent(self.sandbox.emu.send_command(user, "start", payload or None))

    async def press(self, request: web.Request) -> web.Response:
        user = self._user(request)
        body = await _body(request)
        message_id, data = body.get("message_id"), body.get("data")
        if not isinstance(message_id, int) or not isinstance(data, str):
            raise Problem(400, "message_id (number) and data (string) are required")
        return _sent(self.sandbox.emu.press(user, message_id, data))

    async def contact(self, request: web.Request) -> web.Response:
        """The reply keyboard's "share my phone number" button."""
        user = self._user(request)
        return _sent(self.sandbox.emu.send_contact(user))

    async def users(self, request: web.Request) -> web.Response:
        """The reply keyboard's user picker (``request_users``): the people chosen on the
        page, as Telegram's client shares them, only for a button the bot showed."""
        user = self._user(request)
        body = await _body(request)
        request_id, ids = body.get("request_id"), body.get("user_ids")
        if not isinstance(request_id, int) or not isinstance(ids, list) or not ids:
            raise Problem(400, "request_id (number) and user_ids (a list of numbers) are required")
        people: list[EmulatedUser | int] = []
        for person_id in ids:
            person = self.sandbox.user(person_id) if isinstance(person_id, int) else None
            if person is None:
                raise Problem(400, f"no such persona: {person_id}")
            people.append(person)
        try:
            return _sent(self.sandbox.emu.share_users(user, request_id, people))
        except EmulatorUsageError as exc:
            raise Problem(400, str(exc)) from None

    async def location(self, request: web.Request) -> web.Response:
        user = self._user(request)
        persona = self.sandbox.directory.persona(user.id)
        assert persona is not None
        body = await _body(request)
        lat = body.get("latitude", persona.latitude)
        lon = body.get("longitude", persona.longitude)
        if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
            raise Problem(400, "latitude and longitude: numbers")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise Problem(400, "latitude/longitude out of range")
        return _sent(self.sandbox.emu.send_location(user, lat, lon))

    async def photo(self, request: web.Request) -> web.Response:
        user = self._user(request)
        data, fields = await _upload(request)
        caption = fields.get("caption") or None
        try:
            update = self.sandbox.emu.send_photo(user, data, caption=caption)
        except ApiError as exc:
            # What a Telegram client would refuse to send as a photo (e.g. a PDF).
            raise Problem(400, f"not a picture Telegram accepts ({exc.description})") from None
        return _sent(update)

    async def voice(self, request: web.Request) -> web.Response:
        """A voice note, as long as it really is: an Ogg file says so itself; for other
        formats the page decodes the audio and sends the length as ``duration``."""
        user = self._user(request)
        data, fields = await _upload(request)
        seconds = ogg_seconds(data)
        if seconds is None and fields.get("duration"):
            try:
                seconds = float(fields["duration"])
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds <= MAX_VOICE_SECONDS:  # also NaN
                raise Problem(400, "duration: the length in seconds, e.g. 4.2")
        duration = UNKNOWN_VOICE_SECONDS if seconds is None else max(1, round(seconds))
        update = self.sandbox.emu.send_voice(user, data, duration)
        self.sandbox.hub.remember_voice(update["message"]["voice"]["file_unique_id"], duration)
        return _sent(update)

    async def desk(self, request: web.Request) -> web.Response:
        """The desk as this persona, beside the chat: a one-time sign-in link made by
        the same code as /web (the page opens it in a new tab)."""
        user = self._user(request)
        url = await self.sandbox.desk_link(user.id)
        if url is None:
            raise Problem(400, "居民没有指挥台 · residents have no desk")
        return web.json_response({"ok": True, "url": url})

    # --- live feed ----------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        sb = self.sandbox
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        subscription = sb.hub.subscribe()
        sb.sockets.add(ws)

        async def forward() -> None:
            await ws.send_json({"type": "hello", "seq": sb.hub.seq, "clock": sb.clock_json()})
            while (event := await subscription.queue.get()) is not None:
                await ws.send_str(json.dumps(event, ensure_ascii=False, default=str))
            await ws.close()  # the sandbox stops, or this page fell too far behind

        sender = asyncio.create_task(forward())
        try:
            async for message in ws:  # the page sends nothing; this waits for the close
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
            sb.hub.unsubscribe(subscription)
            sb.sockets.discard(ws)
        return ws

    # --- helpers ------------------------------------------------------------------------

    def _user(self, request: web.Request) -> EmulatedUser:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise Problem(404, "no such persona") from None
        user = self.sandbox.user(user_id)
        if user is None:
            raise Problem(404, "no such persona")
        return user


def _sent(update: dict[str, Any]) -> web.Response:
    return web.json_response({"ok": True, "update_id": update["update_id"]})


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise Problem(400, "send a JSON object") from None
    if not isinstance(body, dict):
        raise Problem(400, "send a JSON object")
    return body


async def _upload(request: web.Request) -> tuple[bytes, dict[str, str]]:
    if not request.content_type.startswith("multipart/"):
        raise Problem(400, "upload the file as multipart/form-data field 'file'")
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise Problem(400, "upload the file as multipart/form-data field 'file'")
    data = upload.file.read()
    if not data:
        raise Problem(400, "the file is empty")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return data, fields
