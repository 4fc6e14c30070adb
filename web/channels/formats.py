"""GeoReport's documents in its two formats. A document is a list of records (or one
record) of plain values; JSON writes it as it is, XML as the spec's elements: a root
named for the list, one element per record, one child per field, lists of values as
repeated elements (``<formats><format>…``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


CONTENT_TYPE = {Format.JSON: "application/json", Format.XML: "text/xml"}
Record = Mapping[str, Any]


def format_of(name: str | None) -> Format | None:
    try:
        return Format(name or "")
    except ValueError:
        return None


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with its zone, to the second (GeoReport's w3 format)."""
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _element(parent: ET.Element, name: str, value: Any, item: str | None) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _element(child, key, inner, None)
    elif isinstance(value, list | tuple):
        for inner in value:
            _element(child, item or name.rstrip("s"), inner, None)
    else:
        child.text = _text(value)


def xml_document(root: str, item: str, records: Sequence[Record] | Record) -> bytes:
    """``<root><item>…</item>…</root>`` (or ``<root>…</root>`` for one record)."""
    top = ET.Element(root)
    rows = [records] if isinstance(records, Mapping) else list(records)
    for record in rows:
        parent = top if isinstance(records, Mapping) else ET.SubElement(top, item)
        for key, value in record.items():
            _element(parent, key, value, None)
    body = ET.tostring(top, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def respond(
    fmt: Format,
    root: str,
    item: str,
    records: Sequence[Record] | Record,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    if fmt is Format.XML:
        body = xml_document(root, item, records)
    else:
        body = json.dumps(records, ensure_ascii=False).encode("utf-8")
    return web.Response(
        body=body,
        status=status,
        content_type=CONTENT_TYPE[fmt],
        charset="utf-8",
        headers=headers,
    )


def errors(
    fmt: Format, status: int, descriptions: Sequence[str], headers: Mapping[str, str] | None = None
) -> web.Response:
    """The spec's error document: a list of ``{code, description}``."""
    records = [{"code": status, "description": d} for d in descriptions]
    return respond(fmt, "errors", "error", records, status=status, headers=headers)
