"""The app served by a process of its own over a loopback port, as deployed: started, waited for, stopped.

One helper for every test that talks to a real server process (the API over a socket, the browser
pages, live notifications): a free port, the output in a log file (never a pipe, which a chatty
server could fill and block on), `/health` polled until it answers, the log's tail printed when the
test fails, and SIGTERM at the end, with a kill and a failure if the process does not leave in time.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_until_healthy(client: httpx.AsyncClient, server: subprocess.Popen, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited before answering"
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server did not answer /health within {deadline_s} s")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str  # host:port
    log: Path

    @property
    def base(self) -> str:
        return f"http://{self.url}"

    def stop(self, timeout: float) -> int:
        """SIGTERM, then the exit code; a kill (and failure) if it does not leave within `timeout`."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the server did not exit within {timeout} s of SIGTERM") from None


@asynccontextmanager
async def serving(arguments: Callable[[int], list[str]], env: dict[str, str], log: Path,
                  stop_timeout: float = 15) -> AsyncIterator[Server]:
    """Run `python <arguments(port)>` from the checkout until the block ends; yield it once `/health` answers."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, *arguments(port)], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                                   stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"127.0.0.1:{port}", log)
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            await wait_until_healthy(client, process)
        yield server
    except BaseException:
        print(log.read_text(errors="replace")[-5000:])
        raise
    finally:
        server.stop(stop_timeout)
