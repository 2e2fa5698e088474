"""The classroom app: `rlcraving app` serves a Streamlit page on this machine.

The page (`rlcraving/app/page.py`) runs a small cohort live (`rlcraving.app.lesson`). Streamlit
runs headless with usage statistics off; the page's scripts, styles and fonts come from the
installed streamlit package, so it works with no network.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PAGE = Path(__file__).with_name("page.py")
#: Streamlit settings: local only, no telemetry, no browser launched, no file watcher.
STREAMLIT_FLAGS = {
    "server.headless": "true",
    "browser.gatherUsageStats": "false",
    "global.developmentMode": "false",
    "server.fileWatcherType": "none",
    "server.runOnSave": "false",
    "client.toolbarMode": "minimal",
    "theme.base": "light",
}


def streamlit_command(address: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The command line that serves the page at http://address:port."""
    flags = {**STREAMLIT_FLAGS, "server.address": address, "server.port": str(port)}
    return [sys.executable, "-m", "streamlit", "run", str(PAGE), *(f"--{k}={v}" for k, v in flags.items())]


def url(address: str, port: int) -> str:
    return f"http://{'localhost' if address == '0.0.0.0' else address}:{port}"


def serve(address: str = "127.0.0.1", port: int = 8501) -> None:
    """Serve the page until interrupted: this process becomes the streamlit server (so Ctrl+C
    and signals reach it directly)."""
    command = streamlit_command(address, port)
    sys.stdout.flush()
    os.execv(command[0], command)


__all__ = ["PAGE", "STREAMLIT_FLAGS", "serve", "streamlit_command", "url"]
