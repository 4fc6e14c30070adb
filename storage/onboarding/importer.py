"""Load the hierarchy (districts … buildings) from CSV, YAML or an Excel workbook
(.xlsx, the CSV's columns): ``gridbot import FILE``; the suffix picks the reader.

Idempotent (rows are matched on ``code``) and all-or-nothing: every row is checked
before anything is written, and every problem is reported with its line number (for a
workbook: sheet, row and column) so an office worker can fix the whole spreadsheet in
one go."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.hierarchy import LEVELS, HierarchyRepo, Node, NodeKind, check_parent, new_qr_token
from storage.onboarding.xlsx import TableSpec, WorkbookError, read_sheet

CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_NAME = 200
# Far above any real building or district, far below a 32-bit column overflowing at
# flush time (which would surface as a database error instead of a line number).
MAX_HOUSEHOLDS = 1_000_000
# Both SQLite and asyncpg cap bound parameters near 32k.
LOOKUP_CHUNK = 5000

KIND_ALIASES: dict[str, NodeKind] = {
    **{kind.value: kind for kind in NodeKind},
    "区": NodeKind.DISTRICT,
    "街道": NodeKind.STREET,
    "社区": NodeKind.COMMUNITY,
    "网格": NodeKind.GRID,
    "楼栋": NodeKind.BUILDING,
    "楼": NodeKind.BUILDING,
}

CSV_COLUMNS = ("kind", "code", "name", "parent_code", "households")
# Offices keep Chinese headers in their spreadsheets.
CSV_HEADER_ALIASES: dict[str, str] = {
    **{c: c for c in CSV_COLUMNS},
    "parent": "parent_code",
    "类型": "kind",
    "级别": "kind",
    "编码": "code",
    "代码": "code",
    "名称": "name",
    "上级编码": "parent_code",
    "上级代码": "parent_code",
    "户数": "households",
}

# A workbook is read from the sheet with one of these names, else its first visible sheet.
XLSX_SHEET_NAMES = frozenset({"hierarchy", "层级", "层级结构"})
XLSX_SPEC = TableSpec(
    aliases=CSV_HEADER_ALIASES,
    required=("kind", "code", "name"),
    expected=f"{','.join(CSV_COLUMNS)} (or 类型,编码,名称,上级编码,户数)",
    # Staff merge a repeated parent (or kind) down its children's rows.
    fill_down=("kind", "parent_code"),
    sheet_names=XLSX_SHEET_NAMES,
)
SUFFIXES = (".csv", ".yaml", ".yml", ".xlsx")

# YAML nesting: which key lists the children of each level.
YAML_CHILD_KEYS: dict[NodeKind, str] = {
    NodeKind.DISTRICT: "streets",
    NodeKind.STREET: "communities",
    NodeKind.COMMUNITY: "grids",
    NodeKind.GRID: "buildings",
}
YAML_TOP_KEYS: dict[str, NodeKind] = {
    "districts": NodeKind.DISTRICT,
    **{key: kind.child_kind for kind, key in YAML_CHILD_KEYS.items() if kind.child_kind},
}


@dataclass(frozen=True)
class RowError:
    line: int  # 0: the file as a whole; in a workbook, the sheet's row number
    message: str
    column: str | None = None  # the field at fault: "kind", "code", "parent_code", …
    # Where it is, when "line N" is not enough: "sheet '层级', row 5, column D (上级编码)".
    where: str | None = None

    @property
    def location(self) -> str:
        return self.where or f"line {self.line}"

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ImportFailed(Exception):
    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class ImportRow:
    line: int
    kind: NodeKind
    code: str
    name: str
    parent_code: str | None = None
    households: int | None = None  # None: keep what the database has


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_by_kind: dict[NodeKind, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


# --- reading ---------------------------------------------------------------------------


@dataclass
class _Parsed:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Codes of rows dropped for a field error: their children must not also be told
    # "parent missing", which would bury the real problem.
    broken_codes: set[str] = field(default_factory=set)
    unit: str = "line"  # what the numbers count, in messages: "line" or "row"
    locate: Callable[[RowError], RowError] | None = None  # adds sheet and column


def read_rows(path: Path) -> list[ImportRow]:
    parsed = _parse_file(path)
    if parsed.errors:
        raise ImportFailed(_located(parsed.errors, parsed.locate))
    return parsed.rows


def _located(
    errors: Sequence[RowError], locate: Callable[[RowError], RowError] | None
) -> list[RowError]:
    return [locate(e) for e in errors] if locate else list(errors)


def _parse_file(path: Path) -> _Parsed:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        spreadsheet = suffix in (".xls", ".xlsm", ".xlsb", ".et", ".ods", ".numbers")
        hint = " (in Excel or WPS, save the workbook as .xlsx first)" if spreadsheet else ""
        return _Parsed(errors=[RowError(0, f"use a .csv, .yaml, .yml or .xlsx file{hint}")])
    if suffix == ".xlsx":
        return _parse_xlsx(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _Parsed(errors=[RowError(0, f"cannot read the file: {exc.strerror or exc}")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = "save it as UTF-8 (Excel: 'CSV UTF-8')" if suffix == ".csv" else "save it as UTF-8"
        return _Parsed(errors=[RowError(line, f"the file is not UTF-8 text; {hint}")])
    return _parse_csv(text) if suffix == ".csv" else _parse_yaml(text)


def _build_row(
    parsed: _Parsed,
    line: int,
    kind_raw: str | None,
    code: str,
    name: str,
    parent_code: str | None,
    households_raw: str | None,
    *,
    kind: NodeKind | None = None,
    cell_problems: Sequence[tuple[str, str]] = (),
) -> None:
    """Check one row's own fields; add it to ``parsed`` or record why not.

    ``cell_problems`` are (field, message) pairs found while reading the cells (a date
    where a code should be); those fields come in empty and are not reported again."""
    problems = list(cell_problems)
    unreadable = {f for f, _ in cell_problems}
    if kind is None and "kind" not in unreadable:
        if not kind_raw:
            problems.append(("kind", "kind is missing"))
        else:
            kind = KIND_ALIASES.get(kind_raw.strip().lower())
            if kind is None:
                problems.append(
                    (
                        "kind",
                        f"unknown kind {kind_raw!r} (use district/street/community/grid/"
                        "building or 区/街道/社区/网格/楼栋)",
                    )
                )
    households: int | None = None
    if households_raw:
        if not re.fullmatch(r"\d+", households_raw):
            problems.append(
                ("households", f"households must be a whole number ≥ 0, not {households_raw!r}")
            )
        else:
            households = int(households_raw)
    problems.extend(p for p in _field_problems(code, name, households) if p[0] not in unreadable)
    if problems or kind is None:
        parsed.errors.extend(RowError(line, message, column) for column, message in problems)
        if code:
            parsed.broken_codes.add(code)
        return
    parsed.rows.append(ImportRow(line, kind, code, name, parent_code or None, households))


def _field_problems(code: str, name: str, households: int | None) -> list[tuple[str, str]]:
    """(field, message) pairs."""
    problems: list[tuple[str, str]] = []
    if not code:
        problems.append(("code", "code is missing"))
    elif not CODE_RE.match(code) or set(code) == {"."}:
        # All-dots codes would become "." / ".." folder names in `gridbot qr`.
        problems.append(
            ("code", f"code {code!r} must be 1-64 characters of letters, digits, '_', '.' or '-'")
        )
    if not name:
        problems.append(("name", "name is missing"))
    elif len(name) > MAX_NAME:
        problems.append(("name", f"name is longer than {MAX_NAME} characters"))
    if households is not None and not 0 <= households <= MAX_HOUSEHOLDS:
        problems.append(("households", f"households must be between 0 and {MAX_HOUSEHOLDS}"))
    return problems


def _parse_csv(text: str) -> _Parsed:
    parsed = _Parsed()
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    next_line = 1
    try:
        for record in reader:
            # A quoted cell may span lines: the record starts where the previous ended.
            line, next_line = next_line, reader.line_num + 1
            cells = [c.strip() for c in record]
            if not any(cells):
                continue
            if header is None:
                header = [CSV_HEADER_ALIASES.get(c.lower(), c.lower()) for c in cells]
                missing = [c for c in ("kind", "code", "name") if c not in header]
                if missing:
                    parsed.errors.append(
                        RowError(
                            line,
                            f"the header lacks {', '.join(missing)}; "
                            f"expected: {','.join(CSV_COLUMNS)}",
                        )
                    )
                    return parsed
                continue
            values = dict(zip(header, cells, strict=False))
            _build_row(
                parsed,
                line,
                values.get("kind"),
                values.get("code", ""),
                values.get("name", ""),
                values.get("parent_code"),
                values.get("households"),
            )
    except csv.Error as exc:
        parsed.errors.append(RowError(reader.line_num, f"CSV syntax: {exc}"))
    if header is None and not parsed.errors:
        parsed.errors.append(RowError(0, "the file is empty"))
    return parsed


def _parse_xlsx(path: Path) -> _Parsed:
    try:
        sheet = read_sheet(path, XLSX_SPEC)
    except WorkbookError as exc:
        return _Parsed(errors=[RowError(0, str(exc), where="workbook")])

    def locate(error: RowError) -> RowError:
        return replace(error, where=sheet.where(error.line, error.column))

    parsed = _Parsed(unit="row", locate=locate)
    parsed.errors.extend(RowError(p.row, p.message, p.field) for p in sheet.problems)
    for record in sheet.rows:
        values = record.values
        _build_row(
            parsed,
            record.row,
            values.get("kind"),
            values.get("code", ""),
            values.get("name", ""),
            values.get("parent_code"),
            values.get("households"),
            cell_problems=record.problems,
        )
    if not sheet.rows and not parsed.errors:
        parsed.errors.append(RowError(0, "the sheet has a header but no rows"))
    return parsed


def _parse_yaml(text: str) -> _Parsed:
    parsed = _Parsed()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        parsed.errors.append(RowError(line, f"YAML syntax: {exc.problem or exc}"))
        return parsed
    except yaml.YAMLError as exc:
        parsed.errors.append(RowError(0, f"YAML syntax: {exc}"))
        return parsed
    if root is None:
        parsed.errors.append(RowError(0, "the file is empty"))
        return parsed
    if not isinstance(root, yaml.MappingNode):
        parsed.errors.append(RowError(_line(root), "expected a mapping with a 'districts' list"))
        return parsed
    for key_node, value_node in root.value:
        key = _scalar(key_node)
        kind = YAML_TOP_KEYS.get(key or "")
        if kind is None:
            parsed.errors.append(
                RowError(
                    _line(key_node),
                    f"unknown top-level key {key!r}; use {', '.join(YAML_TOP_KEYS)}",
                )
            )
            continue
        # Top-level non-district lists add nodes under existing parents (parent_code).
        _yaml_list(parsed, value_node, kind, parent_code=None)
    return parsed


def _yaml_list(parsed: _Parsed, node: yaml.Node, kind: NodeKind, parent_code: str | None) -> None:
    if _is_null(node):
        return
    if not isinstance(node, yaml.SequenceNode):
        parsed.errors.append(RowError(_line(node), f"expected a list of {kind}s"))
        return
    for item in node.value:
        _yaml_item(parsed, item, kind, parent_code)


def _yaml_item(parsed: _Parsed, node: yaml.Node, kind: NodeKind, parent_code: str | None) -> None:
    line = _line(node)
    if not isinstance(node, yaml.MappingNode):
        parsed.errors.append(RowError(line, f"expected a {kind} mapping (code, name, …)"))
        return
    child_key = YAML_CHILD_KEYS.get(kind)
    allowed = {"code", "name", "households", "parent_code", "parent"}
    fields: dict[str, str | None] = {}
    children: yaml.Node | None = None
    for key_node, value_node in node.value:
        key = _scalar(key_node) or ""
        if key == child_key:
            children = value_node
        elif key in allowed:
            if not _is_null(value_node) and not isinstance(value_node, yaml.ScalarNode):
                parsed.errors.append(RowError(_line(value_node), f"{key} must be a plain value"))
                fields[key] = None
                continue
            fields[key] = _scalar(value_node)
        else:
            expected = ", ".join(sorted(allowed - {"parent"}) + ([child_key] if child_key else []))
            parsed.errors.append(
                RowError(_line(key_node), f"unknown key {key!r} in a {kind} (expected {expected})")
            )
    code = (fields.get("code") or "").strip()
    explicit_parent = (fields.get("parent_code") or fields.get("parent") or "").strip() or None
    if parent_code is not None and explicit_parent not in (None, parent_code):
        parsed.errors.append(
            RowError(
                line,
                f"parent_code {explicit_parent!r} contradicts the enclosing {parent_code!r}",
                "parent_code",
            )
        )
    _build_row(
        parsed,
        line,
        None,
        code,
        (fields.get("name") or "").strip(),
        parent_code or explicit_parent,
        (fields.get("households") or "").strip() or None,
        kind=kind,
    )
    if children is not None and kind.child_kind is not None:
        # Children of a broken row still get checked, against its code if it has one.
        _yaml_list(parsed, children, kind.child_kind, code or None)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _scalar(node: yaml.Node) -> str | None:
    """The text as written: ``001`` stays ``001`` and ``64`` stays a string to check."""
    if not isinstance(node, yaml.ScalarNode) or _is_null(node):
        return None
    return str(node.value)


# --- checking and writing ---------------------------------------------------------------


async def import_file(session: AsyncSession, path: Path, now: datetime) -> ImportReport:
    parsed = _parse_file(path)
    return await _import(
        session,
        parsed.rows,
        now,
        parsed.errors,
        parsed.broken_codes,
        unit=parsed.unit,
        locate=parsed.locate,
    )


async def import_rows(session: AsyncSession, rows: list[ImportRow], now: datetime) -> ImportReport:
    """Create or update ``rows``; flushes, the caller commits. Raises ImportFailed,
    having written nothing, if any row is bad."""
    return await _import(session, rows, now, [], set())


async def _import(
    session: AsyncSession,
    rows: Sequence[ImportRow],
    now: datetime,
    errors: list[RowError],
    broken_codes: set[str],
    *,
    unit: str = "line",
    locate: Callable[[RowError], RowError] | None = None,
) -> ImportReport:
    errors = list(errors)
    # Rows built in code (the demo) skip _build_row, so their fields are checked here.
    for row in rows:
        errors.extend(
            RowError(row.line, message, column)
            for column, message in _field_problems(row.code, row.name, row.households)
        )
    wanted = {r.code for r in rows} | {r.parent_code for r in rows if r.parent_code}
    existing = await _load_by_code(session, wanted)
    errors.extend(_check_rows(rows, existing, broken_codes, unit))
    if errors:
        raise ImportFailed(_located(errors, locate))
    return await _write(session, rows, existing, now)


async def _load_by_code(session: AsyncSession, codes: Iterable[str]) -> dict[str, Node]:
    found: dict[str, Node] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        result = await session.execute(select(Node).where(Node.code.in_(chunk)))
        found.update((n.code, n) for n in result.scalars())
    return found


def _check_rows(
    rows: Sequence[ImportRow], existing: dict[str, Node], broken_codes: set[str], unit: str
) -> list[RowError]:
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    kinds: dict[str, NodeKind] = {}
    unique: list[ImportRow] = []
    for row in rows:
        if row.code in first_line:
            errors.append(
                RowError(
                    row.line,
                    f"code {row.code!r} appears twice (first on {unit} {first_line[row.code]})",
                    "code",
                )
            )
            continue
        first_line[row.code] = row.line
        kinds[row.code] = row.kind
        unique.append(row)
    # Rows already reported: their children would only repeat the problem.
    reported = set(broken_codes) - set(kinds)
    for row in unique:
        if row.code in existing and existing[row.code].kind != row.kind:
            reported.add(row.code)
    for row in unique:
        node = existing.get(row.code)
        if node is not None and node.kind != row.kind:
            errors.append(
                RowError(
                    row.line,
                    f"{row.code!r} is already a {node.kind} in the database, not a {row.kind}",
                    "kind",
                )
            )
        expected = row.kind.parent_kind
        if expected is None:
            if row.parent_code:
                message = "a district has no parent; leave parent_code empty"
                errors.append(RowError(row.line, message, "parent_code"))
            continue
        if not row.parent_code:
            message = f"a {row.kind} needs the parent_code of its {expected}"
            errors.append(RowError(row.line, message, "parent_code"))
            continue
        if row.parent_code in reported:
            continue
        parent_kind = kinds.get(row.parent_code)
        if parent_kind is None and row.parent_code in existing:
            parent_kind = NodeKind(existing[row.parent_code].kind)
        if parent_kind is None:
            errors.append(
                RowError(
                    row.line,
                    f"parent {row.parent_code!r} is neither in this file nor in the database",
                    "parent_code",
                )
            )
        elif parent_kind is not expected:
            errors.append(
                RowError(
                    row.line,
                    f"a {row.kind} belongs to a {expected}, "
                    f"but {row.parent_code!r} is a {parent_kind}",
                    "parent_code",
                )
            )
    return errors


async def _write(
    session: AsyncSession, rows: Sequence[ImportRow], existing: dict[str, Node], now: datetime
) -> ImportReport:
    repo = HierarchyRepo(session)
    report = ImportReport()
    nodes = dict(existing)
    # Level by level, so parents exist (and have their final paths) before children,
    # whatever order the file had.
    for kind in LEVELS:
        fresh: list[tuple[ImportRow, Node | None]] = []
        for row in (r for r in rows if r.kind is kind):
            parent = nodes[row.parent_code] if row.parent_code else None
            node = nodes.get(row.code)
            if node is None:
                fresh.append((row, parent))
            elif await _update(repo, node, row, parent):
                report.updated += 1
            else:
                report.unchanged += 1
        for node in await _create_many(session, kind, fresh, now):
            nodes[node.code] = node
        report.created += len(fresh)
        if fresh:
            report.created_by_kind[kind] = len(fresh)
    await session.flush()
    return report


async def _update(repo: HierarchyRepo, node: Node, row: ImportRow, parent: Node | None) -> bool:
    changed = False
    if node.name != row.name:
        node.name = row.name
        changed = True
    if row.households is not None and node.households != row.households:
        node.households = row.households
        changed = True
    if parent is not None and node.parent_id != parent.id:
        # move() keeps the node's id and qr_token, so printed codes keep working.
        await repo.move(node, parent)
        changed = True
    return changed


async def _create_many(
    session: AsyncSession,
    kind: NodeKind,
    items: Sequence[tuple[ImportRow, Node | None]],
    now: datetime,
) -> list[Node]:
    """HierarchyRepo.create for a whole level at once: the same checks, qr_token and
    path, but two flushes per level instead of two per node (10k rows: ~1 s, not ~12 s)."""
    created: list[Node] = []
    for row, parent in items:
        check_parent(kind, parent)
        node = Node(
            kind=kind,
            code=row.code,
            name=row.name,
            parent_id=parent.id if parent else None,
            households=row.households,
            created_at=now,
            path="",
            qr_token=new_qr_token() if kind is NodeKind.BUILDING else None,
        )
        session.add(node)
        created.append(node)
    if not created:
        return created
    await session.flush()  # assigns the ids the paths are made of
    for node, (_, parent) in zip(created, items, strict=True):
        node.path = f"{parent.path if parent else '/'}{node.id}/"
    await session.flush()
    return created
