"""A local fake Telegram Bot API server that rejects what Telegram would reject.

The real aiogram client talks to it over HTTP; tests and the sandbox act as users::

    emu = BotAPIEmulator()
    await emu.start()
    bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
"""

from .emulator import BotAPIEmulator, UserRef
from .errors import ApiError, EmulatorUsageError
from .files import sample_ogg, sample_png
from .server import RecordedRequest
from .views import ChatView
from .world import EmulatedUser, StoredMessage

__all__ = [
    "ApiError",
    "BotAPIEmulator",
    "ChatView",
    "EmulatedUser",
    "EmulatorUsageError",
    "RecordedRequest",
    "StoredMessage",
    "UserRef",
    "sample_ogg",
    "sample_png",
]
