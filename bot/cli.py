"""The ``gridbot`` command: run, db upgrade, import, seed, qr."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_config, load_settings
from storage.clock import SystemClock
from storage.migrate import upgrade
from storage.sessions import create_engine, create_sessionmaker


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridbot",
        description="网格通 gridbot: neighbourhood grid governance in Telegram.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser(
        "run",
        help="apply migrations and run the bot (polling, or webhook if set)",
        description="Apply pending migrations, then run long polling, or a webhook "
        "server when WEBHOOK_URL is set.",
    )

    db = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser(
        "upgrade",
        help="apply pending migrations",
        description="Apply pending Alembic migrations to DATABASE_URL.",
    )

    imp = sub.add_parser(
        "import",
        help="load the hierarchy from a CSV, YAML or Excel (.xlsx) file",
        description="Load districts, streets, communities, grids and buildings "
        "from CSV (kind,code,name,parent_code,households) or YAML. "
        "Idempotent; a file with bad rows writes nothing.",
    )
    imp.add_argument("file", type=Path)

    seed = sub.add_parser("seed", help="load demo data", description="Load demo data.")
    seed.add_argument(
        "--demo",
        action="store_true",
        required=True,
        help="one district, two streets, communities, grids, buildings and people",
    )

    qr = sub.add_parser(
        "qr",
        help="write printable QR codes for buildings",
        description="Write a PNG per building and, per community, an A4 PDF sheet of "
        "its codes to cut out (<community>.pdf) and a PDF of door posters, one page per "
        "building with the grid workers who chose to be public (<community>-posters.pdf).",
    )
    qr.add_argument("--out", type=Path, default=Path("qr-codes"), help="output folder")
    qr.add_argument("--community", help="only this community (its code)")
    qr.add_argument("--bot-username", help="bot username for the links (default: ask Telegram)")
    qr.add_argument(
        "--poster-size",
        choices=("A4", "A5"),
        default="A5",
        help="page size of the door posters (default: A5)",
    )

    report = sub.add_parser(
        "report",
        help="write the monthly appeal KPIs as an XLSX file",
        description="Write response, resolution and satisfaction rates, "
        "times and counts per district, street, community "
        "and grid for one month as an XLSX workbook.",
    )
    report.add_argument("--month", required=True, help="YYYY-MM, in TIMEZONE")
    report.add_argument("--node", help="only this node (its code) and below")
    report.add_argument("--out", type=Path, help="output file (default: report-YYYY-MM.xlsx)")

    sandbox = sub.add_parser(
        "sandbox",
        help="the whole bot offline in a browser",
        description="Run the real bot against a local Bot API emulator "
        "with demo data, and serve a page where residents, "
        "grid workers and staff chat side by side. No token "
        "or network needed.",
    )
    sandbox.add_argument(
        "--db", type=Path, help="keep the sandbox's SQLite database here (default: temporary)"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"gridbot: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The interval job would log every 30 seconds at INFO.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    commands: dict[str, Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]] = {
        "run": _run,
        "db": _db,
        "import": _import,
        "seed": _seed,
        "qr": _qr,
        "report": _report,
        "sandbox": _sandbox,
    }
    try:
        return asyncio.run(commands[args.command](args, settings))
    except ConfigError as exc:
        print(f"gridbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import run

    await run(settings)
    return 0


async def _db(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date")
    return 0


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    from storage.onboarding.importer import ImportFailed, import_file

    if not args.file.exists():
        print(f"gridbot: no such file: {args.file}", file=sys.stderr)
        return 1
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            try:
                report = await import_file(session, args.file, SystemClock().now())
            except ImportFailed as exc:
                await session.rollback()
                print(
                    f"{args.file}: {len(exc.errors)} problem(s), nothing was imported:",
                    file=sys.stderr,
                )
                for error in exc.errors:
                    print(f"  {error}", file=sys.stderr)
                return 1
            await session.commit()
    finally:
        await engine.dispose()
    print(
        f"imported {args.file}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    )
    return 0


async def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from storage.demo import seed_demo

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            personas = await seed_demo(session, SystemClock().now())
            await session.commit()
    finally:
        await engine.dispose()
    print(f"demo data loaded: {len(personas)} demo people")
    for p in personas:
        print(f"  {p.user_id:>10}  {p.role:<16} {p.name}")
    return 0


async def _qr(args: argparse.Namespace, settings: Settings) -> int:
    from bot.handlers.onboarding.qr import write_qr_codes

    username = args.bot_username or settings.bot_username
    if not username:
        from bot.app import create_bot

        bot = create_bot(settings)
        try:
            username = (await bot.me()).username
        finally:
            await bot.session.close()
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            try:
                report = await write_qr_codes(
                    session,
                    args.out,
                    str(username),
                    community_code=args.community,
                    font_path=settings.qr_font,
                    poster_size=args.poster_size,
                )
            except ValueError as exc:
                print(f"gridbot: {exc}", file=sys.stderr)
                return 1
    finally:
        await engine.dispose()
    print(
        f"wrote {len(report.pngs)} PNG files, {len(report.pdfs)} PDF sheets and "
        f"{len(report.posters)} {args.poster_size} poster PDFs to {args.out}"
    )
    return 0


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.dialogs.appeals.report import write_report
    from bot.handlers.appeals.config import AppealSettings

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        print("gridbot: --month must look like 2026-11", file=sys.stderr)
        return 2
    out = args.out or Path(f"report-{args.month}.xlsx")
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            try:
                path = await write_report(
                    session,
                    args.month,
                    out,
                    settings.zone,
                    load_config(AppealSettings).policy(),
                    node_code=args.node,
                )
            except ValueError as exc:
                print(f"gridbot: {exc}", file=sys.stderr)
                return 1
    finally:
        await engine.dispose()
    print(f"wrote {path}")
    return 0


async def _sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.server import run_sandbox

    await run_sandbox(args.db, args.host, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
