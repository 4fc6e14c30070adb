"""`gridbot import`: CSV and YAML, idempotent re-imports, and all-or-nothing errors with
line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import ManualClock
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.onboarding.importer import (
    ImportFailed,
    ImportRow,
    RowError,
    import_file,
    import_rows,
    read_rows,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

HEADER = "kind,code,name,parent_code,households\n"
# Children before parents on purpose: the importer must sort them out.
GOOD_CSV = HEADER + (
    "building,TH-G1-B1,1号楼,TH-G1,64\n"
    "building,TH-G1-B2,2号楼,TH-G1,72\n"
    "building,TH-G2-B3,3号楼,TH-G2,\n"
    "grid,TH-G1,第一网格,TH,\n"
    "grid,TH-G2,第二网格,TH,\n"
    "community,TH,通海社区,NH,\n"
    "street,NH,宁海街道,MP,\n"
    "district,MP,牟平区,,\n"
)


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


async def count_nodes(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Node))).scalar_one())


async def tokens(session: AsyncSession) -> dict[str, str | None]:
    rows = await session.execute(select(Node.code, Node.qr_token).where(Node.kind == "building"))
    return {code: token for code, token in rows.all()}


async def node(session: AsyncSession, code: str) -> Node:
    found = await HierarchyRepo(session).by_code(code)
    assert found is not None, code
    return found


async def test_good_csv(session: AsyncSession, clock: ManualClock, tmp_path: Path) -> None:
    report = await import_file(session, write(tmp_path, "h.csv", GOOD_CSV), clock.now())
    await session.commit()

    assert (report.created, report.updated, report.unchanged) == (8, 0, 0)
    assert report.created_by_kind[NodeKind.BUILDING] == 3
    assert await count_nodes(session) == 8
    district, street, community = [await node(session, c) for c in ("MP", "NH", "TH")]
    grid, building = await node(session, "TH-G1"), await node(session, "TH-G1-B1")
    assert district.parent_id is None and district.path == f"/{district.id}/"
    assert street.parent_id == district.id
    assert community.parent_id == street.id
    assert building.parent_id == grid.id
    assert building.path == f"/{district.id}/{street.id}/{community.id}/{grid.id}/{building.id}/"
    assert building.name == "1号楼" and building.households == 64
    assert (await node(session, "TH-G2-B3")).households is None
    assert building.qr_token and grid.qr_token is None
    assert [n.code for n in await HierarchyRepo(session).ancestors(building)] == [
        "MP",
        "NH",
        "TH",
        "TH-G1",
        "TH-G1-B1",
    ]


async def test_example_files(session: AsyncSession, clock: ManualClock) -> None:
    csv_report = await import_file(session, EXAMPLES / "hierarchy.csv", clock.now())
    assert csv_report.created == 14
    # The YAML example describes the same tree: importing it on top changes nothing.
    yaml_report = await import_file(session, EXAMPLES / "hierarchy.yaml", clock.now())
    assert (yaml_report.created, yaml_report.updated, yaml_report.unchanged) == (0, 0, 14)


async def test_good_yaml(session: AsyncSession, clock: ManualClock, tmp_path: Path) -> None:
    text = """\
districts:
  - code: MP
    name: 牟平区
    streets:
      - code: MP-NH
        name: 宁海街道
        communities:
          - code: MP-NH-TH
            name: 通海社区
            grids:
              - code: MP-NH-TH-G1
                name: 第一网格
                buildings:
                  - {code: MP-NH-TH-G1-B1, name: 1号楼, households: 64}
                  - {code: "007", name: 7号楼}
"""
    report = await import_file(session, write(tmp_path, "h.yaml", text), clock.now())
    assert report.created == 6
    b1, b7 = await node(session, "MP-NH-TH-G1-B1"), await node(session, "007")
    grid = await node(session, "MP-NH-TH-G1")
    assert b1.households == 64 and b1.parent_id == grid.id and b7.parent_id == grid.id
    assert b1.path.startswith(grid.path) and b1.path.endswith(f"/{b1.id}/")

    # A top-level list adds to an existing parent by parent_code.
    more = "buildings:\n  - {code: MP-NH-TH-G1-B2, name: 2号楼, parent_code: MP-NH-TH-G1}\n"
    report = await import_file(session, write(tmp_path, "more.yml", more), clock.now())
    assert report.created == 1
    assert (await node(session, "MP-NH-TH-G1-B2")).parent_id == grid.id


async def test_reimport_creates_nothing_and_keeps_tokens(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    path = write(tmp_path, "h.csv", GOOD_CSV)
    await import_file(session, path, clock.now())
    await session.commit()
    before = await tokens(session)

    report = await import_file(session, path, clock.now())
    await session.commit()

    assert (report.created, report.updated, report.unchanged) == (0, 0, 8)
    assert await count_nodes(session) == 8
    assert await tokens(session) == before


async def test_reimport_renames_and_moves(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    await import_file(session, write(tmp_path, "h.csv", GOOD_CSV), clock.now())
    await session.commit()
    before = await tokens(session)
    changed = GOOD_CSV.replace(
        "building,TH-G1-B1,1号楼,TH-G1,64", "building,TH-G1-B1,一号楼,TH-G1,66"
    ).replace("building,TH-G1-B2,2号楼,TH-G1,72", "building,TH-G1-B2,2号楼,TH-G2,72")

    report = await import_file(session, write(tmp_path, "h2.csv", changed), clock.now())
    await session.commit()

    assert (report.created, report.updated, report.unchanged) == (0, 2, 6)
    renamed, moved = await node(session, "TH-G1-B1"), await node(session, "TH-G1-B2")
    g2 = await node(session, "TH-G2")
    assert (renamed.name, renamed.households) == ("一号楼", 66)
    assert moved.parent_id == g2.id and moved.path == f"{g2.path}{moved.id}/"
    assert await tokens(session) == before  # printed codes keep working
    assert await count_nodes(session) == 8


async def test_moving_a_grid_rewrites_the_subtree(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    await import_file(session, write(tmp_path, "h.csv", GOOD_CSV), clock.now())
    moved = GOOD_CSV.replace("grid,TH-G2,第二网格,TH,", "grid,TH-G2,第二网格,ZY,") + (
        "community,ZY,正阳社区,NH,\n"
    )
    await import_file(session, write(tmp_path, "h2.csv", moved), clock.now())
    zy, grid, building = [await node(session, c) for c in ("ZY", "TH-G2", "TH-G2-B3")]
    assert grid.parent_id == zy.id
    assert building.path == f"{zy.path}{grid.id}/{building.id}/"


async def test_bad_rows_are_all_reported_and_nothing_written(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    text = HEADER + (
        "district,MP,牟平区,,\n"  # line 2: fine
        "street,NH,宁海街道,MP,\n"  # line 3: fine
        "village,V1,某村,NH,\n"  # line 4: unknown kind
        "community,,通海社区,NH,\n"  # line 5: missing code
        "community,TH,,NH,\n"  # line 6: missing name
        "grid,bad code!,第一网格,TH,\n"  # line 7: code format
        "grid,G1,第一网格,TH,\n"  # line 8: fine (parent is line 6, broken: no extra error)
        "grid,G1,重复网格,TH,\n"  # line 9: duplicate code
        "building,B1,1号楼,NOPE,\n"  # line 10: parent missing
        "building,B2,2号楼,NH,\n"  # line 11: parent of the wrong kind
        "district,MP2,另一区,MP,\n"  # line 12: district with a parent
        "building,B3,3号楼,G1,-5\n"  # line 13: households negative
        "building,B4,4号楼,G1,many\n"  # line 14: households not a number
        f"building,B5,{'楼' * 201},G1,\n"  # line 15: name too long
        "building,B6,6号楼,,\n"  # line 16: no parent
    )
    with pytest.raises(ImportFailed) as caught:
        await import_file(session, write(tmp_path, "bad.csv", text), clock.now())

    lines = [e.line for e in caught.value.errors]
    assert lines == [4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16]
    by_line = {e.line: e.message for e in caught.value.errors}
    assert "village" in by_line[4]
    assert "code is missing" in by_line[5]
    assert "name is missing" in by_line[6]
    assert "bad code!" in by_line[7]
    assert "first on line 8" in by_line[9]
    assert "NOPE" in by_line[10]
    assert "belongs to a grid" in by_line[11]
    assert "no parent" in by_line[12]
    assert "households" in by_line[13] and "households" in by_line[14]
    assert "200" in by_line[15]
    assert "parent_code" in by_line[16]
    assert "line 4: " in str(caught.value)
    await session.rollback()
    assert await count_nodes(session) == 0


async def test_bad_file_leaves_the_database_unchanged(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    await import_file(session, write(tmp_path, "h.csv", GOOD_CSV), clock.now())
    await session.commit()
    # A valid rename next to a row whose kind clashes with the database: neither applies.
    text = HEADER + "building,TH-G1-B1,新名字,TH-G1,\ncommunity,TH-G1,冒名社区,NH,\n"
    with pytest.raises(ImportFailed) as caught:
        await import_file(session, write(tmp_path, "bad.csv", text), clock.now())
    assert [e.line for e in caught.value.errors] == [3]
    assert "already a grid" in caught.value.errors[0].message
    await session.rollback()
    assert (await node(session, "TH-G1-B1")).name == "1号楼"
    assert await count_nodes(session) == 8


async def test_import_rows_checks_rows_built_in_code(
    session: AsyncSession, clock: ManualClock
) -> None:
    rows = [
        ImportRow(1, NodeKind.DISTRICT, "MP", "牟平区"),
        ImportRow(2, NodeKind.STREET, "NH", "宁海街道", "MP", households=-1),
        ImportRow(3, NodeKind.STREET, "a/b", "x", "MP"),
    ]
    with pytest.raises(ImportFailed) as caught:
        await import_rows(session, rows, clock.now())
    assert [e.line for e in caught.value.errors] == [2, 3]
    assert await count_nodes(session) == 0


async def test_bom_and_chinese_kinds(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    text = (
        "kind,code,name,parent_code,households\r\n"
        "区,MP,牟平区,,\r\n街道,NH,宁海街道,MP,\r\n社区,TH,通海社区,NH,\r\n"
        "网格,G1,第一网格,TH,\r\n楼栋,B1,1号楼,G1,48\r\n"
    )
    path = write(tmp_path, "excel.csv", text, bom=True)
    rows = read_rows(path)
    assert [r.kind for r in rows] == list(NodeKind)
    assert rows[0].line == 2
    report = await import_file(session, path, clock.now())
    assert report.created == 5
    assert (await node(session, "B1")).households == 48


async def test_csv_without_households_column_and_quoted_multiline(tmp_path: Path) -> None:
    text = 'kind,code,name,parent_code\ndistrict,MP,"牟平\n区",\nstreet,NH,宁海街道,MP\nx,Y,z,\n'
    with pytest.raises(ImportFailed) as caught:
        read_rows(write(tmp_path, "h.csv", text))
    # The quoted name spans lines 2-3, so the bad row is on line 5.
    assert caught.value.errors == [RowError(5, caught.value.errors[0].message, "kind")]


def test_not_utf8_and_bad_header(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(HEADER.encode() + "district,MP,牟平区,,\n".encode("gbk"))
    with pytest.raises(ImportFailed) as caught:
        read_rows(gbk)
    assert caught.value.errors[0].line == 2 and "UTF-8" in caught.value.errors[0].message

    with pytest.raises(ImportFailed) as caught:
        read_rows(write(tmp_path, "h.csv", "type,id,title\n"))
    assert caught.value.errors[0].line == 1


def test_yaml_errors_carry_line_numbers(tmp_path: Path) -> None:
    text = """\
districts:
  - code: MP
    name: 牟平区
    streets:
      - code: NH
        name: 宁海街道
        communities:
          - code: TH
            grids:
              - code: G1
                name: 第一网格
                bulidings: []
              - {code: G2, name: 第二网格, households: lots}
"""
    with pytest.raises(ImportFailed) as caught:
        read_rows(write(tmp_path, "h.yaml", text))
    errors = {e.line: e.message for e in caught.value.errors}
    assert set(errors) == {8, 12, 13}
    assert "name is missing" in errors[8]
    assert "bulidings" in errors[12]
    assert "households" in errors[13]


def test_yaml_syntax_error_line(tmp_path: Path) -> None:
    text = "districts:\n  - code: MP\n    name: [牟平区\n"
    with pytest.raises(ImportFailed) as caught:
        read_rows(write(tmp_path, "h.yaml", text))
    assert caught.value.errors[0].line in (3, 4)
    assert "YAML" in caught.value.errors[0].message
