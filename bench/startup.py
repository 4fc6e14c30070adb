"""Start-up and idle memory: `gridbot run` against a bare aiogram echo bot, in one run.

Each round starts both as fresh processes against the project's Bot API emulator (SQLite
for gridbot, already migrated, as a restart finds it) and takes the time from spawning the
process to its first getUpdates, then, a few seconds later, the resident set size of the
idle process. Rounds alternate which goes first so that a warm disk cache favours
neither. Medians and their ratios are printed.

    uv run --extra dev python bench/startup.py --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from emulator import BotAPIEmulator
from storage.migrate import upgrade
from storage.sessions import create_engine

TOKEN = "123456:BENCH-TOKEN-gridbot"
ROOT = Path(__file__).resolve().parents[1]

ECHO = textwrap.dedent(
    """
    import asyncio, os
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    async def main() -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["API"]))
        await dp.start_polling(Bot(os.environ["TOKEN"], session=session))

    asyncio.run(main())
    """
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used: unlike wall time, not inflated by other
    work on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_start(
    emu: BotAPIEmulator, argv: list[str], env: dict[str, str]
) -> tuple[float, float, float]:
    mark = len(emu.requests)
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while not any(r.method == "getUpdates" for r in emu.requests[mark:]):
            if proc.returncode is not None:
                raise RuntimeError(f"{argv} exited with {proc.returncode}")
            await asyncio.sleep(0.01)
        up, cpu = time.perf_counter() - started, cpu_seconds(proc.pid)
        await asyncio.sleep(3)  # idle: the scheduler's first runs and the web server are up
        return up, cpu, rss_mib(proc.pid)
    finally:
        proc.terminate()
        await proc.wait()


async def main(rounds: int) -> None:
    emu = BotAPIEmulator(token=TOKEN, bot_username="gridbot_bench_bot")
    await emu.start()
    folder = Path(tempfile.mkdtemp(prefix="gridbot-startup-"))
    url = f"sqlite+aiosqlite:///{folder / 'bot.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "WEB", "DATABASE"))}
    gridbot_env = dict(
        base,
        BOT_TOKEN=TOKEN,
        BOT_USERNAME="gridbot_bench_bot",
        TELEGRAM_API_URL=emu.base_url,
        DATABASE_URL=url,
        WEB_PORT="0",
        LOG_LEVEL="WARNING",
    )
    echo_env = dict(base, TOKEN=TOKEN, API=emu.base_url)
    runs: dict[str, list[tuple[float, float, float]]] = {"gridbot": [], "echo": []}
    commands = {
        "gridbot": ([sys.executable, "-m", "bot.cli", "run"], gridbot_env),
        "echo": ([sys.executable, "-c", ECHO], echo_env),
    }
    try:
        for i in range(rounds):
            order = ["gridbot", "echo"] if i % 2 == 0 else ["echo", "gridbot"]
            for name in order:
                argv, env = commands[name]
                runs[name].append(await one_start(emu, argv, env))
                up, cpu, rss = runs[name][-1]
                print(
                    f"round {i + 1} {name:8} first getUpdates {up:6.2f} s"
                    f" ({cpu:5.2f} s CPU)  idle RSS {rss:6.1f} MiB"
                )
    finally:
        await emu.stop()
    median = {n: [statistics.median(r[k] for r in v) for k in range(3)] for n, v in runs.items()}
    for name, (up, cpu, rss) in median.items():
        print(f"median {name:8} {up:6.2f} s ({cpu:5.2f} s CPU)  {rss:6.1f} MiB")
    g, e = median["gridbot"], median["echo"]
    print(
        f"ratio gridbot/echo: start-up ×{g[0] / e[0]:.2f} (CPU ×{g[1] / e[1]:.2f}),"
        f" idle memory ×{g[2] / e[2]:.2f} (goal ≤ 1.3 each)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
