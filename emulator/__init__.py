"""A local fake Telegram Bot API server that rejects what Telegram would reject.

The real aiogram client talks to it over HTTP; tests and the sandbox act as users::

    emu = BotAPIEmulator()
    await emu.start()
    bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))

Telegram's flood limits are off unless asked for: ``emu.limits = Limits()`` (see
``emulator.limits``), then ``emu.violations``; ``emu.inject_429_every(n)``, ``emu.block(id)``.
"""

from .emulator import BotAPIEmulator, UserRef
from .errors import ApiError, EmulatorUsageError
from .files import sample_ogg, sample_png
from .limits import MESSAGE_METHODS, Limits, Violation
from .server import RecordedRequest
from .views import ChatView
from .world import EmulatedGroup, EmulatedUser, StoredMessage

__all__ = [
    "MESSAGE_METHODS",
    "ApiError",
    "BotAPIEmulator",
    "ChatView",
    "EmulatedGroup",
    "EmulatedUser",
    "EmulatorUsageError",
    "Limits",
    "RecordedRequest",
    "StoredMessage",
    "UserRef",
    "Violation",
    "sample_ogg",
    "sample_png",
]
