"""`gridbot import` of an Excel workbook (.xlsx): the CSV's columns and rules, plus what
spreadsheets bring (numbers for codes, stray spaces, merged parent cells, title rows),
and errors that name the sheet, row and column. Workbooks are built here with openpyxl."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import ManualClock
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.migrate import upgrade
from storage.onboarding.importer import ImportFailed, import_file, read_rows
from storage.sessions import create_engine, create_sessionmaker
from tests.onboarding.test_import import GOOD_CSV, count_nodes, tokens

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ZH_HEADER = ["类型", "编码", "名称", "上级编码", "户数"]
EN_HEADER = ["kind", "code", "name", "parent_code", "households"]

Row = Sequence[Any]


def xlsx(
    tmp_path: Path,
    rows: Iterable[Row],
    *,
    name: str = "h.xlsx",
    title: str = "层级",
    merges: Iterable[str] = (),
    formats: dict[str, str] | None = None,
    before: Iterable[tuple[str, str]] = (),
) -> Path:
    """A one-sheet workbook (after ``before``: (title, sheet_state) sheets)."""
    wb = Workbook()
    first = True
    for extra_title, state in before:
        extra = wb.active if first else wb.create_sheet()
        first = False
        extra.title = extra_title
        extra.sheet_state = state
        extra.append(["这张表是说明，不是数据"])
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    for row in rows:
        ws.append(list(row))
    for coord, number_format in (formats or {}).items():
        ws[coord].number_format = number_format
    for merged in merges:
        ws.merge_cells(merged)
    path = tmp_path / name
    wb.save(path)
    return path


def csv_rows(text: str) -> list[list[Any]]:
    """CSV text as a spreadsheet would hold it: households as numbers."""
    rows = list(csv.reader(text.splitlines()))
    return [rows[0]] + [[*r[:4], int(r[4]) if r[4] else None] for r in rows[1:]]


async def tree(session: AsyncSession) -> dict[str, tuple[str, str, str | None, int | None, str]]:
    """code -> (kind, name, parent code, households, path spelled in codes)."""
    nodes = list((await session.execute(select(Node))).scalars())
    code_of = {n.id: n.code for n in nodes}
    return {
        n.code: (
            n.kind,
            n.name,
            code_of.get(n.parent_id) if n.parent_id else None,
            n.households,
            "/".join(code_of[int(i)] for i in n.path.strip("/").split("/")),
        )
        for n in nodes
    }


async def node(session: AsyncSession, code: str) -> Node:
    found = await HierarchyRepo(session).by_code(code)
    assert found is not None, code
    return found


def failure(path: Path) -> ImportFailed:
    with pytest.raises(ImportFailed) as caught:
        read_rows(path)
    return caught.value


async def test_xlsx_tree_equals_the_csv_import(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    csv_path = EXAMPLES / "hierarchy.csv"
    data = csv_rows(csv_path.read_text("utf-8"))
    # Chinese headers, a title above them, blank rows after the data.
    rows = [["牟平区网格划分表"], [], ZH_HEADER, *data[1:], [], [None, "  ", None], []]
    report = await import_file(session, xlsx(tmp_path, rows), clock.now())
    await session.commit()
    assert (report.created, report.updated, report.unchanged) == (14, 0, 0)
    from_xlsx = await tree(session)

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'csv.db'}")
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as csv_session:
            await import_file(csv_session, csv_path, clock.now())
            await csv_session.commit()
            from_csv = await tree(csv_session)
    finally:
        await engine.dispose()

    assert from_xlsx == from_csv
    assert from_xlsx["MP-NH-TH-G1-B1"] == (
        "building",
        "1号楼",
        "MP-NH-TH-G1",
        64,
        "MP/MP-NH/MP-NH-TH/MP-NH-TH-G1/MP-NH-TH-G1-B1",
    )
    # The CSV on top of the workbook's import changes nothing.
    again = await import_file(session, csv_path, clock.now())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 14)


async def test_xlsx_reimport_updates_and_never_duplicates(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    rows = csv_rows(GOOD_CSV)
    path = xlsx(tmp_path, rows)
    await import_file(session, path, clock.now())
    await session.commit()
    before = await tokens(session)

    report = await import_file(session, path, clock.now())
    await session.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 8)

    renamed = [[*r[:2], "一号楼", *r[3:]] if r[1] == "TH-G1-B1" else r for r in rows]
    report = await import_file(session, xlsx(tmp_path, renamed, name="h2.xlsx"), clock.now())
    await session.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 1, 7)
    assert (await node(session, "TH-G1-B1")).name == "一号楼"
    assert await count_nodes(session) == 8
    assert await tokens(session) == before  # printed QR codes keep working


async def test_xlsx_numbers_and_stray_whitespace(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    rows: list[Row] = [
        ["Kind ", " CODE", "名称", "parent", "户数", "备注"],  # any case, spaces, extra column
        ["区", "MP", " 牟平区 ", None, None, "notes are ignored"],
        ["街道", "NH", "宁海街道\u3000", "MP"],
        ["社区", "TH", "通海社区", " NH "],
        ["网格", 12, "第一网格", "TH"],  # a numeric code
        [" 楼栋 ", 3, "3号楼", 12.0, 64.0],  # an int code, a float parent and households
        ["楼栋", 4.0, "4号楼", 12, " 72 "],  # a float code; households typed as text
        ["楼栋", 7, "7号楼", 12, 0],  # shown as 007 by the cell's number format
    ]
    path = xlsx(tmp_path, rows, formats={"B8": "000"})
    parsed = read_rows(path)
    assert [(r.line, r.kind, r.code, r.name, r.parent_code, r.households) for r in parsed] == [
        (2, NodeKind.DISTRICT, "MP", "牟平区", None, None),
        (3, NodeKind.STREET, "NH", "宁海街道", "MP", None),
        (4, NodeKind.COMMUNITY, "TH", "通海社区", "NH", None),
        (5, NodeKind.GRID, "12", "第一网格", "TH", None),
        (6, NodeKind.BUILDING, "3", "3号楼", "12", 64),
        (7, NodeKind.BUILDING, "4", "4号楼", "12", 72),
        (8, NodeKind.BUILDING, "007", "7号楼", "12", 0),
    ]
    report = await import_file(session, path, clock.now())
    assert report.created == 7
    grid = await node(session, "12")
    assert (await node(session, "3")).parent_id == grid.id
    assert (await node(session, "007")).households == 0


def test_xlsx_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    rows: list[Row] = [
        [],
        EN_HEADER,  # row 2
        ["district", "MP", "牟平区"],
        [None, None, None, None, None],
        ["", " ", "\u3000"],  # whitespace only: blank
        ["street", "NH", "宁海街道", "MP"],  # row 6
        ["street", "NH2", "", "MP"],  # row 7: name missing
        [],
        [],
    ]
    path = xlsx(tmp_path, rows, formats={"A20": "@", "C30": "0"})  # formatted, empty
    failed = failure(path)
    assert [(e.line, e.column, e.message) for e in failed.errors] == [
        (7, "name", "name is missing")
    ]
    fixed = [r if r[:2] != ["street", "NH2"] else ["street", "NH2", "二街道", "MP"] for r in rows]
    assert [r.line for r in read_rows(xlsx(tmp_path, fixed, name="ok.xlsx"))] == [3, 6, 7]


async def test_xlsx_merged_kind_and_parent_cells_count_in_every_row(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    rows: list[Row] = [
        ZH_HEADER,
        ["区", "MP", "牟平区"],
        ["街道", "NH", "宁海街道", "MP"],
        ["社区", "TH", "通海社区", "NH"],
        ["网格", "G1", "第一网格", "TH"],  # row 5
        ["网格", "G2", "第二网格"],  # row 6: parent under the merge D5:D6
        ["楼栋", "B1", "1号楼", "G1", 64],  # row 7: kind merged A7:A10
        [None, "B2", "2号楼", "G1", 72],
        [None, "B3", "3号楼", "G2"],  # parent merged D9:D11
        [None, "B4", "4号楼"],
        [],  # row 11: inside the merges but blank: skipped, not "kind is missing"
    ]
    path = xlsx(tmp_path, rows, merges=["D5:D6", "A7:A10", "D9:D11"])
    parsed = {r.code: r for r in read_rows(path)}
    assert parsed["G2"].parent_code == "TH"
    assert [parsed[c].kind for c in ("B2", "B3", "B4")] == [NodeKind.BUILDING] * 3
    assert parsed["B4"].parent_code == "G2"
    assert set(parsed) == {"MP", "NH", "TH", "G1", "G2", "B1", "B2", "B3", "B4"}
    await import_file(session, path, clock.now())
    assert (await node(session, "B4")).parent_id == (await node(session, "G2")).id

    # A blank cell that is not merged still means "no parent", as in a CSV file.
    unmerged = xlsx(tmp_path, rows, name="unmerged.xlsx", merges=["A7:A10"])
    with pytest.raises(ImportFailed) as caught:
        await import_file(session, unmerged, clock.now())
    failed = caught.value
    assert [(e.line, e.where) for e in failed.errors] == [
        (6, "sheet '层级', row 6, column D (上级编码)"),
        (10, "sheet '层级', row 10, column D (上级编码)"),
    ]
    assert "needs the parent_code of its community" in failed.errors[0].message


def test_xlsx_merged_codes_names_or_households_are_refused(tmp_path: Path) -> None:
    rows: list[Row] = [
        EN_HEADER,
        ["district", "MP", "牟平区"],
        ["street", "NH", "宁海街道", "MP"],
        ["street", "ZY", "正阳街道", "MP"],
        ["community", "TH", "通海社区", "NH", 300],
        ["community", "YT", "烟台社区", "NH"],
    ]
    rows[0] = [*EN_HEADER, "备注"]
    failed = failure(xlsx(tmp_path, rows, merges=["C3:C4", "E5:E6", "F2:F6"]))
    assert [(e.line, e.column) for e in failed.errors] == [
        (3, "name"),
        (4, "name"),
        (5, "households"),
    ]
    assert failed.errors[0].where == "sheet '层级', row 3, column C (name)"
    assert "cells C3:C4 are merged across rows" in failed.errors[0].message
    assert "only kind and parent_code may be" in failed.errors[0].message
    assert failed.errors[1].message == "name is missing"  # C4 really is empty
    assert "E5:E6" in failed.errors[2].message


async def test_xlsx_errors_name_sheet_row_and_column_and_nothing_is_written(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    await import_file(session, xlsx(tmp_path, csv_rows(GOOD_CSV), name="good.xlsx"), clock.now())
    await session.commit()
    before = await tree(session)

    rows: list[Row] = [
        ZH_HEADER,
        ["楼栋", "TH-G1-B1", "新名字", "TH-G1", 64],  # row 2: a valid rename, not applied
        ["村", "V1", "某村", "NH"],  # row 3: unknown kind
        ["楼栋", "bad code!", "9号楼", "TH-G1"],  # row 4: code format
        ["楼栋", "B10", "10号楼", "NOPE"],  # row 5: parent missing
        ["楼栋", "B11", "11号楼", "TH-G1", "很多"],  # row 6: households not a number
        ["楼栋", datetime(2026, 3, 1), "3-1号楼", "TH-G1"],  # row 7: Excel made "3-1" a date
        ["楼栋", "B12", "12号楼", "#REF!"],  # row 8: a broken formula
        ["楼栋", "B10", "又一个10号楼", "TH-G1"],  # row 9: duplicate code
        ["社区", "TH-G2", "冒名社区", "NH"],  # row 10: already a grid
    ]
    with pytest.raises(ImportFailed) as caught:
        await import_file(session, xlsx(tmp_path, rows, title="牟平区"), clock.now())
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("sheet '牟平区', row 3, column A (类型): unknown kind '村'")
    assert lines[1].startswith("sheet '牟平区', row 4, column B (编码): code 'bad code!'")
    assert lines[2] == (
        "sheet '牟平区', row 5, column D (上级编码): "
        "parent 'NOPE' is neither in this file nor in the database"
    )
    assert lines[3].startswith("sheet '牟平区', row 6, column E (户数): households must be")
    assert lines[4].startswith("sheet '牟平区', row 7, column B (编码): the cell holds a date")
    assert "2026-03-01" in lines[4] and "Text" in lines[4]
    assert lines[5].startswith("sheet '牟平区', row 8, column D (上级编码): ")
    assert "#REF!" in lines[5]
    assert lines[6] == (
        "sheet '牟平区', row 9, column B (编码): code 'B10' appears twice (first on row 5)"
    )
    assert lines[7] == (
        "sheet '牟平区', row 10, column A (类型): "
        "'TH-G2' is already a grid in the database, not a community"
    )
    assert len(lines) == 8
    assert caught.value.errors[0].location == caught.value.errors[0].where
    await session.rollback()
    assert await tree(session) == before


def test_xlsx_sheet_choice(tmp_path: Path) -> None:
    rows: list[Row] = [EN_HEADER, ["district", "MP", "牟平区", None, "many"]]
    # A sheet called 层级 / hierarchy wins over the first sheet ...
    named = xlsx(tmp_path, rows, name="a.xlsx", title="Hierarchy", before=[("说明", "visible")])
    assert failure(named).errors[0].where == "sheet 'Hierarchy', row 2, column E (households)"
    # ... otherwise the first visible one is read.
    hidden = xlsx(tmp_path, rows, name="b.xlsx", title="数据", before=[("模板", "hidden")])
    assert failure(hidden).errors[0].where == "sheet '数据', row 2, column E (households)"
    # The wrong sheet first: the message says which one was read.
    wrong = xlsx(tmp_path, [["说明"]], name="c.xlsx", title="Sheet1")
    assert str(failure(wrong)) == (
        "sheet 'Sheet1', row 1: the header lacks kind, code, name; expected: "
        "kind,code,name,parent_code,households (or 类型,编码,名称,上级编码,户数)"
    )


def test_xlsx_empty_sheet_and_header_only(tmp_path: Path) -> None:
    assert str(failure(xlsx(tmp_path, [], name="e.xlsx"))) == "sheet '层级': the sheet is empty"
    header_only = xlsx(tmp_path, [ZH_HEADER, [], []], name="h.xlsx")
    assert str(failure(header_only)) == "sheet '层级': the sheet has a header but no rows"
    lacking = xlsx(tmp_path, [["类型", "名称", "上级编码"], ["区", "牟平区"]], name="l.xlsx")
    assert str(failure(lacking)).startswith("sheet '层级', row 1: the header lacks code;")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        GOOD_CSV.encode(),  # a CSV file renamed .xlsx
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),  # an old .xls (OLE) file
        "zip without a workbook",
        "truncated",
        "bad xml",
    ],
    ids=["empty", "csv", "xls", "zip", "truncated", "bad-xml"],
)
async def test_not_an_xlsx_file_is_a_clear_error(
    session: AsyncSession, clock: ManualClock, tmp_path: Path, content: bytes | str
) -> None:
    path = tmp_path / "h.xlsx"
    if content == "zip without a workbook":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "hi")
    elif content == "truncated":
        whole = xlsx(tmp_path, csv_rows(GOOD_CSV), name="good.xlsx").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif content == "bad xml":
        good = xlsx(tmp_path, csv_rows(GOOD_CSV), name="good.xlsx")
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename.endswith("sheet1.xml"):
                    data = data[: len(data) // 2]
                dst.writestr(item, data)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)

    with pytest.raises(ImportFailed) as caught:
        await import_file(session, path, clock.now())
    [error] = caught.value.errors
    assert error.line == 0 and error.where == "workbook"
    assert ".xlsx" in error.message
    assert "Traceback" not in str(caught.value)
    await session.rollback()
    assert await count_nodes(session) == 0


def test_xls_suffix_is_told_to_save_as_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "h.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    [error] = failure(path).errors
    assert error.message == (
        "use a .csv, .yaml, .yml or .xlsx file (in Excel or WPS, save the workbook as .xlsx first)"
    )
