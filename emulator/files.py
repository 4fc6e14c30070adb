"""In-memory file storage with Telegram-like file ids, plus tiny sample media."""

from __future__ import annotations

import itertools
import mimetypes
import secrets
import struct
import zlib
from dataclasses import dataclass

from .errors import bad_request

# Bot API limits: bots upload up to 50 MB and download (getFile) up to 20 MB.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

_ID_PREFIX = {"photo": "AgACAgIAAxkBAAI", "voice": "AwACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}
_FOLDER = {"photo": "photos", "voice": "voice", "document": "documents"}


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0  # seconds, for voice notes and other audio/video

    @property
    def size(self) -> int:
        return len(self.data)


class FileStore:
    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def add(
        self,
        kind: str,
        data: bytes,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        if len(data) > MAX_UPLOAD_BYTES:
            raise bad_request("file is too big")
        n = next(self._counter)
        if mime_type in (None, "application/octet-stream") and file_name:
            # Clients label every upload octet-stream; Telegram goes by the file name.
            mime_type = mimetypes.guess_type(file_name)[0] or mime_type
        if kind == "photo":
            ext, (width, height) = image_info(data)
        elif kind == "voice":
            ext, width, height = "oga", 0, 0
        else:
            suffix = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
            ext, width, height = suffix, 0, 0
        stored = StoredFile(
            file_id=_ID_PREFIX.get(kind, "CAACAgIAAxkBAAI") + secrets.token_urlsafe(48)[:56],
            file_unique_id="AQAD" + secrets.token_urlsafe(9)[:12],
            kind=kind,
            data=data,
            file_path=f"{_FOLDER.get(kind, 'files')}/file_{n}.{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)


def image_info(data: bytes) -> tuple[str, tuple[int, int]]:
    """(extension, (width, height)) for the formats Telegram accepts as photos."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return "png", (w, h)
    if data.startswith(b"\xff\xd8"):
        return "jpg", _jpeg_size(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return "gif", (w, h)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp", (512, 512)
    if data.startswith(b"BM") and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return "bmp", (w, abs(h))
    raise bad_request("IMAGE_PROCESS_FAILED")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
        # SOF0..SOF15 carry the frame size; C4/C8/CC are not frames.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + seg_len
    raise bad_request("IMAGE_PROCESS_FAILED")


def sample_png(
    width: int = 64, height: int = 48, rgb: tuple[int, int, int] = (40, 120, 200)
) -> bytes:
    """A valid solid-colour PNG, so tests need no image library."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def sample_ogg(duration: int = 3) -> bytes:
    """Bytes that start like an Ogg/Opus stream; nothing here decodes audio."""
    return b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead" + bytes([1, 1]) + b"\x00" * (32 * duration)
