"""One sheet of an .xlsx workbook as rows of text cells, for the hierarchy importer.

Cells become the text an office worker sees: ``3`` and ``3.0`` are ``"3"``, a number
formatted ``000`` keeps its leading zeros, stray whitespace goes. Blank rows anywhere
are skipped. A cell merged down several rows counts in every row it covers, but only
in the columns named ``fill_down`` (kind and parent_code): merging a code, a name or a
number of households across rows has no single meaning, so it is reported instead.
Blank cells that are not merged stay blank, as in a CSV file: guessing "same as
above" would quietly put a building under the wrong grid."""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

# Rows the importer reads at most: openpyxl makes an object per cell up to the last
# row anything (even a border) was put in, so an absurd used range must not hang it.
MAX_ROWS = 100_000
# Rows above the header that may hold a title ("牟平区网格划分表") or notes.
MAX_TITLE_ROWS = 10
ZERO_PADDED = re.compile(r"^0+$")


class WorkbookError(Exception):
    """The file as a whole cannot be read; the message is meant for the user."""


@dataclass(frozen=True)
class TableSpec:
    aliases: Mapping[str, str]  # header text, lowercased -> field
    required: Sequence[str]
    expected: str  # how to write the header, for the error message
    fill_down: tuple[str, ...]  # in the order messages name them
    sheet_names: frozenset[str]  # preferred sheet titles, lowercased


@dataclass
class SheetRow:
    row: int
    values: dict[str, str]
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, message)


@dataclass
class SheetProblem:
    row: int  # 0: the sheet as a whole
    message: str
    field: str | None = None


@dataclass
class Sheet:
    title: str
    # field -> (column letter, header as written)
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    rows: list[SheetRow] = field(default_factory=list)
    problems: list[SheetProblem] = field(default_factory=list)

    def where(self, line: int, column: str | None) -> str:
        """``sheet '层级', row 5, column D (上级编码)``, as much of it as is known."""
        parts = [f"sheet {self.title!r}"]
        if line:
            parts.append(f"row {line}")
            if column in self.columns:
                letter, header = self.columns[column]
                parts.append(f"column {letter} ({header})")
        return ", ".join(parts)


def read_sheet(path: Path, spec: TableSpec) -> Sheet:
    """Raises WorkbookError when the file is not a readable .xlsx workbook."""
    try:
        with path.open("rb") as stream, warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation, slicers, ...):
            # irrelevant here and confusing on a command line.
            warnings.simplefilter("ignore")
            workbook = load_workbook(stream, data_only=True)
    except OSError as exc:
        raise WorkbookError(f"cannot read the file: {exc.strerror or exc}") from exc
    except zipfile.BadZipFile as exc:
        raise WorkbookError(
            "this is not an .xlsx workbook, or it is damaged (an old .xls file, a "
            "password-protected workbook, a renamed file?); open it in Excel or WPS and "
            "save it as 'Excel Workbook (.xlsx)'"
        ) from exc
    except Exception as exc:  # openpyxl fails on broken files in many ways
        raise WorkbookError(
            f"the workbook is damaged or not made by a spreadsheet program ({_root(exc)}); "
            "open it in Excel or WPS and save it again as .xlsx"
        ) from exc
    worksheet = _choose_sheet(workbook, spec)
    if worksheet is None:
        raise WorkbookError("the workbook has no worksheet")
    return _read(worksheet, spec)


def _root(exc: BaseException) -> str:
    """The first line of the innermost cause: openpyxl wraps XML errors in a paragraph."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _choose_sheet(workbook: Any, spec: TableSpec) -> Any:
    sheets = list(workbook.worksheets)
    for sheet in sheets:
        if str(sheet.title).strip().lower() in spec.sheet_names:
            return sheet
    visible = [s for s in sheets if s.sheet_state == "visible"]
    return (visible or sheets or [None])[0]


def _read(ws: Any, spec: TableSpec) -> Sheet:
    sheet = Sheet(title=str(ws.title))
    max_row = int(ws.max_row)
    if max_row > MAX_ROWS:
        sheet.problems.append(
            SheetProblem(
                0,
                f"the sheet runs to row {max_row}, more than the {MAX_ROWS} rows read; "
                "if the rows below the data are empty, delete them in Excel and save again",
            )
        )
        return sheet
    width = int(ws.max_column)
    header_row, header = _find_header(ws, spec, width)
    if header_row == 0:
        sheet.problems.append(SheetProblem(0, "the sheet is empty"))
        return sheet
    fields = {
        col: spec.aliases.get(text.lower(), text.lower()) for col, text in header.items() if text
    }
    missing = [f for f in spec.required if f not in fields.values()]
    if missing:
        sheet.problems.append(
            SheetProblem(
                header_row,
                f"the header lacks {', '.join(missing)}; expected: {spec.expected}",
            )
        )
        return sheet
    for col, name in fields.items():
        # As in a CSV file, a repeated header means the last one counts.
        sheet.columns[name] = (get_column_letter(col), header[col])
    by_field = {name: col for col, name in fields.items()}
    fill = _merged_fill(ws, sheet, spec, header_row, fields)
    last_col = max(fields)
    for cells in ws.iter_rows(min_row=header_row + 1, max_row=max_row, max_col=last_col):
        row = int(cells[0].row)
        own = [_text(cell) for cell in cells]
        if not any(text or problem for text, problem in own):
            continue  # blank, even if a merged cell from above reaches into it
        record = SheetRow(row, {})
        for name, col in by_field.items():
            source = fill.get((row, col))
            text, problem = _text(source) if source is not None else own[col - 1]
            if problem:
                record.problems.append((name, problem))
            else:
                record.values[name] = text
        sheet.rows.append(record)
    return sheet


def _find_header(ws: Any, spec: TableSpec, width: int) -> tuple[int, dict[int, str]]:
    """The first row naming every required column, among the first non-blank rows
    (a title may sit above it). Otherwise the first non-blank row, to report on."""
    first: tuple[int, dict[int, str]] = (0, {})
    seen = 0
    for cells in ws.iter_rows(max_col=width):
        texts = {int(c.column): _text(c)[0] for c in cells}
        if not any(texts.values()):
            continue
        row = int(cells[0].row)
        if not first[0]:
            first = (row, texts)
        names = {spec.aliases.get(t.lower(), t.lower()) for t in texts.values() if t}
        if all(f in names for f in spec.required):
            return row, texts
        seen += 1
        if seen > MAX_TITLE_ROWS:
            break
    return first


def _merged_fill(
    ws: Any, sheet: Sheet, spec: TableSpec, header_row: int, fields: dict[int, str]
) -> dict[tuple[int, int], Any]:
    """(row, column) -> the cell whose value a merged range shows there."""
    fill: dict[tuple[int, int], Any] = {}
    known = set(spec.aliases.values())
    for rng in ws.merged_cells.ranges:
        top, bottom, left, right = rng.min_row, rng.max_row, rng.min_col, rng.max_col
        if bottom == top or top <= header_row:
            continue  # one row (the value sits in its first cell) or a header/title
        covered = [fields[c] for c in range(left, right + 1) if fields.get(c) in known]
        if not covered:
            continue  # a notes column: not ours
        if left == right and covered[0] in spec.fill_down:
            source = ws.cell(row=top, column=left)
            for row in range(top + 1, bottom + 1):
                fill[(row, left)] = source
            continue
        allowed = " and ".join(sheet.columns[f][1] for f in spec.fill_down if f in sheet.columns)
        sheet.problems.append(
            SheetProblem(
                top,
                f"cells {rng.coord} are merged across rows; only {allowed or 'none'} may be "
                "(unmerge them and fill in every row)",
                covered[0],
            )
        )
    return fill


def _text(cell: Any) -> tuple[str, str | None]:
    """The cell as the text it shows, or why it cannot be used."""
    value = cell.value
    if value is None:
        return "", None
    if getattr(cell, "data_type", None) == "e":
        return "", f"the cell shows the Excel error {value}; fix the formula or type the value"
    if isinstance(value, str):
        return value.strip(), None
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), None
    if isinstance(value, datetime | date | time | timedelta):
        shown = value.date() if isinstance(value, datetime) and value.time() == time() else value
        return "", (
            f"the cell holds a date or time ({shown}), probably Excel's reading of what was "
            "typed; format the column as Text (文本) and type it again"
        )
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        number_format = str(getattr(cell, "number_format", ""))
        if value >= 0 and ZERO_PADDED.match(number_format):
            text = text.zfill(len(number_format))  # "000" shows 7 as 007
        return text, None
    if isinstance(value, float):
        return format(value, ".15g"), None
    return str(value).strip(), None
