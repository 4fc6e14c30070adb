"""How long a voice file plays, read from the file itself where its format says so.

Telegram voice notes are Ogg (Opus, sometimes Vorbis): the last page's granule position
counts the samples, so the length needs no decoding. For other files the page measures
the length by decoding the audio in the browser and sends that along."""

from __future__ import annotations

import struct

_PAGE_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, ...
OPUS_RATE = 48_000  # Opus granule positions always count 48 kHz samples


def ogg_seconds(data: bytes) -> float | None:
    """Seconds of the first logical stream of an Ogg Opus or Vorbis file, or None if
    ``data`` is not one (or is cut short before its first page ends)."""
    pos = 0
    serial: int | None = None
    rate = pre_skip = 0
    last_granule = -1
    while pos + _PAGE_HEADER.size <= len(data):
        capture, version, _, granule, page_serial, _, _, segments = _PAGE_HEADER.unpack_from(
            data, pos
        )
        if capture != b"OggS" or version != 0:
            break
        table_end = pos + _PAGE_HEADER.size + segments
        if table_end > len(data):
            break
        body_start, body_end = table_end, table_end + sum(data[pos + _PAGE_HEADER.size : table_end])
        if serial is None:  # the first page holds the codec's identification header
            serial = page_serial
            head = data[body_start:body_end]
            if head.startswith(b"OpusHead") and len(head) >= 12:
                rate, pre_skip = OPUS_RATE, struct.unpack_from("<H", head, 10)[0]
            elif head.startswith(b"\x01vorbis") and len(head) >= 16:
                rate = struct.unpack_from("<I", head, 12)[0]
            else:
                return None
        elif page_serial == serial and granule > 0:  # header pages: 0; -1: no packet ends
            last_granule = granule
        pos = body_end
    if not rate or last_granule < 0:
        return None
    return max(0.0, (last_granule - pre_skip) / rate)
