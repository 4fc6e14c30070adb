"""``gridbot sandbox``: the real bot offline against the local Bot API emulator, with a
web page where several demo personas chat with it side by side."""

from sandbox.core import Sandbox
from sandbox.server import run_sandbox

__all__ = ["Sandbox", "run_sandbox"]
