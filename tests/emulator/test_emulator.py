"""The Bot API emulator, exercised through the real aiogram client over HTTP."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from emulator import BotAPIEmulator, EmulatedUser, EmulatorUsageError, sample_png

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    emulator = BotAPIEmulator(token=TOKEN, bot_username="gridbot_test_bot")
    await emulator.start()
    yield emulator
    await emulator.stop()


def make_bot(emu: BotAPIEmulator, token: str = TOKEN) -> Bot:
    api = TelegramAPIServer.from_base(emu.base_url)
    return Bot(token, session=AiohttpSession(api=api))


@pytest.fixture
async def bot(emu: BotAPIEmulator) -> AsyncIterator[Bot]:
    client = make_bot(emu)
    yield client
    await client.session.close()


@pytest.fixture
def user(emu: BotAPIEmulator) -> EmulatedUser:
    person = emu.add_user(
        user_id=1001, first_name="王芳", language_code="zh-hans", phone="+8613800000001"
    )
    emu.send_command(person, "start", queue=False)
    return person


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in buttons]
    )


async def raw_call(emu: BotAPIEmulator, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}/bot{TOKEN}/{method}", json=params) as resp,
    ):
        body: dict[str, Any] = await resp.json()
        return resp.status, body


# --- protocol basics ---------------------------------------------------------------------


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "gridbot_test_bot")


async def test_unknown_method_is_404(emu: BotAPIEmulator, bot: Bot) -> None:
    status, body = await raw_call(emu, "sendTelepathy", chat_id=1)
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}
    # Real method names are case-insensitive, like on api.telegram.org.
    status, body = await raw_call(emu, "GETME")
    assert status == 200 and body["result"]["username"] == "gridbot_test_bot"


async def test_unknown_method_via_aiogram_raises_not_found(bot: Bot) -> None:
    from aiogram.methods import TelegramMethod

    class SendTelepathy(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "sendTelepathy"

    with pytest.raises(TelegramNotFound):
        await bot(SendTelepathy())


async def test_wrong_token_is_401(emu: BotAPIEmulator) -> None:
    stranger = make_bot(emu, token="654321:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_missing_required_param(emu: BotAPIEmulator, user: EmulatedUser) -> None:
    status, body = await raw_call(emu, "sendMessage", text="hi")
    assert status == 400
    assert body["description"] == "Bad Request: chat_id is empty"
    status, body = await raw_call(emu, "answerCallbackQuery")
    assert body["description"] == "Bad Request: callback_query_id is empty"
    assert [r.error for r in emu.errors] == [
        "Bad Request: chat_id is empty",
        "Bad Request: callback_query_id is empty",
    ]


async def test_form_encoded_params_are_accepted(emu: BotAPIEmulator, user: EmulatedUser) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emu.base_url}/bot{TOKEN}/sendMessage",
            data={"chat_id": str(user.id), "text": "form body"},
        ) as resp,
    ):
        body = await resp.json()
    assert body["ok"] is True and body["result"]["text"] == "form body"
    assert emu.chat(user.id).last_bot_message is not None


async def test_chat_not_found_for_user_who_never_wrote(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.add_user(2002, "李雷")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(2002, "hello")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999999, "hello")


# --- text limits -------------------------------------------------------------------------


async def test_text_length_limit_counts_visible_utf16(bot: Bot, user: EmulatedUser) -> None:
    ok = await bot.send_message(user.id, "a" * 4096)
    assert len(ok.text or "") == 4096
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user.id, "a" * 4097)
    tagged = await bot.send_message(user.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert tagged.text == "a" * 4096
    # An emoji outside the BMP is two UTF-16 code units, as Telegram counts them.
    await bot.send_message(user.id, "😀" * 2048)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user.id, "😀" * 2048 + "a")


async def test_empty_text_is_rejected(bot: Bot, user: EmulatedUser) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(user.id, "")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(user.id, "<b> </b>", parse_mode="HTML")


async def test_caption_limit(bot: Bot, user: EmulatedUser) -> None:
    photo = BufferedInputFile(sample_png(), "p.png")
    sent = await bot.send_photo(user.id, photo, caption="字" * 1024)
    assert sent.caption == "字" * 1024
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(user.id, photo, caption="字" * 1025)


async def test_callback_data_limit_is_bytes(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    fits = "网" * 21 + "a"  # 64 bytes
    too_long = "网" * 22  # 22 characters but 66 bytes
    await bot.send_message(user.id, "ok", reply_markup=keyboard(("x", fits)))
    assert emu.chat(user.id).inline_buttons() == [[("x", fits)]]
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "no", reply_markup=keyboard(("x", too_long)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "no", reply_markup=keyboard(("x", "")))


async def test_inline_button_needs_exactly_one_action(
    emu: BotAPIEmulator, user: EmulatedUser
) -> None:
    markup = {"inline_keyboard": [[{"text": "plain"}]]}
    status, body = await raw_call(
        emu, "sendMessage", chat_id=user.id, text="x", reply_markup=markup
    )
    assert status == 400 and "Text buttons are unallowed" in body["description"]
    both = {"inline_keyboard": [[{"text": "t", "callback_data": "a", "url": "https://x.org"}]]}
    status, body = await raw_call(emu, "sendMessage", chat_id=user.id, text="x", reply_markup=both)
    assert status == 400 and "exactly one" in body["description"]


async def test_a_mini_app_button_needs_an_https_address(
    emu: BotAPIEmulator, user: EmulatedUser
) -> None:
    def markup(url: str) -> dict[str, object]:
        return {"inline_keyboard": [[{"text": "app", "web_app": {"url": url}}]]}

    status, body = await raw_call(
        emu, "sendMessage", chat_id=user.id, text="x", reply_markup=markup("http://a.org/app")
    )
    assert status == 400 and "only https links are allowed" in body["description"]
    status, _ = await raw_call(
        emu, "sendMessage", chat_id=user.id, text="x", reply_markup=markup("https://a.org/app")
    )
    assert status == 200


async def test_answer_callback_text_limit(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    sent = await bot.send_message(user.id, "pick", reply_markup=keyboard(("A", "a")))
    first = emu.press(user, sent.message_id, "a", queue=False)["callback_query"]["id"]
    second = emu.press(user, sent.message_id, "a", queue=False)["callback_query"]["id"]
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(first, text="x" * 201)
    assert await bot.answer_callback_query(first, text="x" * 200) is True
    assert await bot.answer_callback_query(second) is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(second)


# --- HTML --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("line<br>next", 'Unsupported start tag "br" at byte offset 4'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("Tom & Jerry", 'Character "&" must be escaped as "&amp;" at byte offset 4'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("网格<p>", 'Unsupported start tag "p" at byte offset 6'),
    ],
)
async def test_broken_html_is_rejected(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser, text: str, error: str
) -> None:
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(user.id, text, parse_mode="HTML")
    assert caught.value.message == f"Bad Request: can't parse entities: {error}"
    assert emu.chat(user.id).bot_messages == []


async def test_good_html_becomes_text_and_entities(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    evil = "<script>alert('x') & \"q\"</script>"
    text = (
        f'<b>粗<i>斜</i></b> <a href="https://example.org/?a=1&amp;b=2">link</a> '
        f"{html.escape(evil)} &#128512; <tg-spoiler>s</tg-spoiler>"
        '<pre><code class="language-python">x = 1</code></pre>'
        "<blockquote expandable>q</blockquote>"
    )
    sent = await bot.send_message(user.id, text, parse_mode="HTML")
    visible = f"粗斜 link {evil} 😀 sx = 1q"
    assert sent.text == visible
    entities = [(e.type, e.offset, e.length, e.url, e.language) for e in sent.entities or []]
    assert entities == [
        ("bold", 0, 2, None, None),
        ("italic", 1, 1, None, None),
        ("text_link", 3, 4, "https://example.org/?a=1&b=2", None),
        # No command in "</script>": Telegram (tdlib) skips a "/" right after "<".
        ("spoiler", 45, 1, None, None),
        ("pre", 46, 5, None, "python"),
        ("expandable_blockquote", 51, 1, None, None),
    ]
    stored = emu.chat(user.id).last_bot_message
    assert stored is not None and stored.html == text and stored.text == visible


async def test_plain_text_gets_auto_entities(emu: BotAPIEmulator, user: EmulatedUser) -> None:
    update = emu.send_command(user, "start", "b_abc", queue=False)
    assert update["message"]["text"] == "/start b_abc"
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]


# --- edits and deletes -------------------------------------------------------------------


async def test_edit_not_modified_and_edits_apply_in_place(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    sent = await bot.send_message(user.id, "v1", reply_markup=keyboard(("A", "a")))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "v1", chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    # Omitting reply_markup in editMessageText removes the keyboard: that is a change.
    edited = await bot.edit_message_text("v1", chat_id=user.id, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None
    await bot.edit_message_text(
        "<b>v2</b>", chat_id=user.id, message_id=sent.message_id, parse_mode="HTML"
    )
    chat = emu.chat(user.id)
    assert [m.text for m in chat.bot_messages] == ["v2"]
    assert chat.bot_messages[0].edited and chat.bot_messages[0].message_id == sent.message_id


async def test_edit_caption_not_modified(bot: Bot, user: EmulatedUser) -> None:
    sent = await bot.send_photo(user.id, BufferedInputFile(sample_png(), "p.png"), caption="c")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_caption(chat_id=user.id, message_id=sent.message_id, caption="c")
    edited = await bot.edit_message_caption(
        chat_id=user.id, message_id=sent.message_id, caption="d"
    )
    assert isinstance(edited, Message) and edited.caption == "d" and edited.photo


async def test_edit_and_delete_unknown_message(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user.id, 999)
    sent = await bot.send_message(user.id, "bye")
    assert await bot.delete_message(user.id, sent.message_id) is True
    assert emu.chat(user.id).bot_messages == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)


# --- failure injection -------------------------------------------------------------------


async def test_429_injection(emu: BotAPIEmulator, bot: Bot, user: EmulatedUser) -> None:
    emu.fail(user.id, status=429, retry_after=3, times=1)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user.id, "x")
    assert caught.value.retry_after == 3
    assert "Too Many Requests: retry after 3" in caught.value.message
    sent = await bot.send_message(user.id, "after")
    assert sent.text == "after"
    assert [(r.method, r.status) for r in emu.sent_to(user.id)] == [
        ("sendMessage", 429),
        ("sendMessage", 200),
    ]


async def test_block_and_unblock(emu: BotAPIEmulator, bot: Bot, user: EmulatedUser) -> None:
    emu.block(user.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user.id, "x")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(user.id, "typing")
    emu.unblock(user.id)
    assert (await bot.send_message(user.id, "back")).text == "back"


# --- commands ----------------------------------------------------------------------------


async def test_command_scopes_and_language_fallback(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    english = emu.add_user(1002, "Bob", language_code="en")
    emu.send_text(english, "hi", queue=False)
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [BotCommand(command="help", description="帮助")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="zh",
    )
    await bot.set_my_commands(
        [BotCommand(command="admin", description="管理")],
        scope=BotCommandScopeChat(chat_id=english.id),
    )
    assert emu.chat(user.id).commands == [{"command": "help", "description": "帮助"}]
    assert emu.chat(english.id).commands == [{"command": "admin", "description": "管理"}]
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    assert [c.command for c in got] == ["help"]
    assert await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats()) == []
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=english.id))
    assert emu.chat(english.id).commands == [{"command": "start", "description": "Start"}]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.set_my_commands(
            [BotCommand(command="x", description="x")], scope=BotCommandScopeChat(chat_id=5)
        )


# --- updates -----------------------------------------------------------------------------


async def test_get_updates_long_poll_and_offset(emu: BotAPIEmulator, bot: Bot) -> None:
    person = emu.add_user(3003, "张伟")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    emu.send_text(person, "你好")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates if u.message] == ["你好"]
    # Not confirmed yet, so delivered again.
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    emu.send_text(person, "second")
    after = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert [u.message.text for u in after if u.message] == ["second"]
    assert await bot.get_updates(offset=after[-1].update_id + 1, timeout=0) == []


async def test_get_updates_allowed_updates(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    sent = await bot.send_message(user.id, "pick", reply_markup=keyboard(("A", "a")))
    emu.send_text(user, "text")
    emu.press(user, sent.message_id, "a")
    updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["a"]
    assert all(u.message is None for u in updates)


# --- files -------------------------------------------------------------------------------


async def test_photo_upload_get_file_and_download(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    image = sample_png(200, 100)
    sent = await bot.send_photo(user.id, BufferedInputFile(image, "grid.png"))
    assert sent.photo is not None
    largest = sent.photo[-1]
    assert (largest.width, largest.height) == (200, 100)
    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == image
    # Resending by file_id reuses the stored file.
    again = await bot.send_photo(user.id, largest.file_id)
    assert again.photo is not None and again.photo[-1].file_id == largest.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_photo(user.id, "AgACAgIAAxkBAAI-not-a-real-file")
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(user.id, BufferedInputFile(b"not an image", "x.png"))
    assert emu.chat(user.id).bot_messages[0].photo == [p.model_dump() for p in sent.photo]


async def test_user_photo_can_be_downloaded_by_bot(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    image = sample_png(30, 20)
    update = emu.send_photo(user, image, caption="证据", queue=False)
    file_id = update["message"]["photo"][-1]["file_id"]
    file = await bot.get_file(file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == image


# --- keyboards and callbacks -------------------------------------------------------------


async def test_reply_keyboard_state(emu: BotAPIEmulator, bot: Bot, user: EmulatedUser) -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="分享手机号", request_contact=True)]],
        resize_keyboard=True,
    )
    await bot.send_message(user.id, "phone?", reply_markup=markup)
    assert emu.chat(user.id).reply_keyboard == [[{"text": "分享手机号", "request_contact": True}]]
    contact = emu.send_contact(user, queue=False)["message"]["contact"]
    assert contact["phone_number"] == "+8613800000001" and contact["user_id"] == user.id
    await bot.send_message(user.id, "thanks", reply_markup=ReplyKeyboardRemove())
    assert emu.chat(user.id).reply_keyboard is None


async def test_press_records_callback_answer(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    sent = await bot.send_message(user.id, "vote", reply_markup=keyboard(("赞成", "v:yes")))
    with pytest.raises(EmulatorUsageError):
        emu.press(user, sent.message_id, "v:no")
    update = emu.press_button(user, "赞成", queue=False)
    query = update["callback_query"]
    assert query["data"] == "v:yes" and query["message"]["message_id"] == sent.message_id
    await bot.answer_callback_query(query["id"], text="已投票", show_alert=True)
    answers = emu.chat(user.id).callback_answers
    assert [(a["text"], a["show_alert"], a["data"]) for a in answers] == [("已投票", True, "v:yes")]
    forged = emu.press_forged(user, 424242, "v:yes", queue=False)["callback_query"]
    assert forged["message"]["date"] == 0


async def test_events_are_streamed(emu: BotAPIEmulator, bot: Bot, user: EmulatedUser) -> None:
    events: list[dict[str, Any]] = []
    emu.on_event(events.append)
    sent = await bot.send_message(user.id, "x")
    await bot.edit_message_text("y", chat_id=user.id, message_id=sent.message_id)
    await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(user.id, "")
    assert [e["type"] for e in events] == ["message", "edit", "delete", "rejected"]


# --- the dispatcher round trip -----------------------------------------------------------


async def test_dispatcher_echo_round_trip(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"<i>echo:</i> {html.escape(message.text or '')}", parse_mode="HTML")

    upd = emu.send_text(user, "a <b> & c", queue=False)
    await dp.feed_update(bot, Update.model_validate(upd, context={"bot": bot}))
    last = emu.chat(user.id).last_bot_message
    assert last is not None and last.text == "echo: a <b> & c"
    assert [m.from_bot for m in emu.chat(user.id).messages][-2:] == [False, True]
    assert emu.errors == []


async def test_assorted_sending_methods(emu: BotAPIEmulator, bot: Bot, user: EmulatedUser) -> None:
    album = await bot.send_media_group(
        user.id,
        [
            InputMediaPhoto(media=BufferedInputFile(sample_png(), "a.png"), caption="一"),
            InputMediaPhoto(media=BufferedInputFile(sample_png(8, 8), "b.png")),
        ],
    )
    assert len({m.media_group_id for m in album}) == 1 and album[0].caption == "一"
    doc = await bot.send_document(user.id, BufferedInputFile(b"%PDF-1.4", "r.pdf"), caption="d")
    assert doc.document is not None
    assert (doc.document.file_name, doc.document.mime_type) == ("r.pdf", "application/pdf")
    voice = await bot.send_voice(user.id, BufferedInputFile(b"OggS", "v.ogg"), duration=2)
    assert voice.voice is not None and voice.voice.duration == 2
    loc = await bot.send_location(user.id, 31.23, 121.47)
    assert loc.location is not None and loc.location.latitude == 31.23
    copied = await bot.copy_message(user.id, user.id, doc.message_id)
    forwarded = await bot.forward_message(user.id, user.id, doc.message_id)
    assert forwarded.forward_origin is not None and forwarded.caption == "d"
    assert await bot.delete_messages(user.id, [loc.message_id, copied.message_id]) is True
    chat = emu.chat(user.id)
    assert [m.caption or m.text for m in chat.bot_messages] == ["一", None, "d", None, "d"]
    assert chat.bot_messages[-1].message_id == forwarded.message_id
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(user.id, user.id, 999)


async def test_stop_releases_pending_long_poll(emu: BotAPIEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.1)
    await asyncio.wait_for(emu.stop(), 2)
    assert await asyncio.wait_for(poll, 2) == []


async def test_a_voice_note_sent_on_by_file_id_keeps_its_length(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    raw = emu.send_voice(user, duration=4, queue=False)
    file_id = raw["message"]["voice"]["file_id"]
    passed_on = await bot.send_voice(user.id, file_id)
    assert passed_on.voice is not None and passed_on.voice.duration == 4


def test_only_a_real_command_becomes_a_command_entity() -> None:
    from emulator.formatting import detect_entities

    text = "粗体 <b>字</b> 和 /help，/start@gridbot_test_bot 也算"
    commands = [e for e in detect_entities(text) if e["type"] == "bot_command"]
    assert [text[e["offset"] : e["offset"] + e["length"]] for e in commands] == [
        "/help",
        "/start@gridbot_test_bot",
    ]


async def test_a_channel_the_bot_posts_in_and_one_it_was_not_added_to(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    emu.add_group(-100501, "正阳社区晒单")
    emu.add_group(-100502, "别的频道", bot_member=False)
    emu.add_group(-100503, "只读频道", bot_can_post=False)
    posted = await bot.send_message(-100501, "<b>缝补</b> 已完成", parse_mode="HTML")
    assert posted.chat.type == "channel" and posted.chat.title == "正阳社区晒单"
    assert posted.from_user is None and posted.sender_chat is not None
    assert emu.group_chat(-100501).bot_messages[-1].text == "缝补 已完成"
    with pytest.raises(TelegramForbiddenError, match="not a member of the channel"):
        await bot.send_message(-100502, "x")
    with pytest.raises(TelegramBadRequest, match="administrator rights"):
        await bot.send_message(-100503, "x")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-100599, "x")
    await bot.delete_message(-100501, posted.message_id)
    assert emu.group_chat(-100501).bot_messages == []


async def test_share_chat_answers_only_a_request_chat_button_the_bot_showed(
    emu: BotAPIEmulator, bot: Bot, user: EmulatedUser
) -> None:
    from aiogram.types import KeyboardButtonRequestChat

    emu.add_group(-100501, "正阳社区晒单")
    emu.add_group(-100601, "楼栋群", kind="supergroup")
    with pytest.raises(EmulatorUsageError, match="no request_chat button"):
        emu.share_chat(user, 7, -100501)
    button = KeyboardButton(
        text="选择频道",
        request_chat=KeyboardButtonRequestChat(
            request_id=7, chat_is_channel=True, bot_is_member=True, request_title=True
        ),
    )
    await bot.send_message(
        user.id, "选一个频道", reply_markup=ReplyKeyboardMarkup(keyboard=[[button]])
    )
    with pytest.raises(EmulatorUsageError, match="another kind"):
        emu.share_chat(user, 7, -100601)
    update = emu.share_chat(user, 7, -100501)
    assert update["message"]["chat_shared"] == {
        "request_id": 7,
        "chat_id": -100501,
        "title": "正阳社区晒单",
    }
