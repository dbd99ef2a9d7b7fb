"""Running the emulator: in-process (uvicorn on a background thread) or as a command.

In-process use is the common case for tests: ``Emulator().start()`` binds 127.0.0.1 on a
free port (port 0) before returning, so ``base_url`` is usable at once. ``stop()`` wakes
every long poll and injected hang, then shuts uvicorn down and joins the thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

import uvicorn

from .api import build_app
from .clock import Clock
from .control import Control
from .state import Settings


class Emulator(Control):
    """A local Telegram Bot API server plus its control API.

    python-telegram-bot: ``Bot(token, base_url=emu.base_url, base_file_url=emu.file_base_url)``.
    Any well-formed token is accepted and registers its bot on first use, unless
    ``auto_register_bots=False``; then only tokens from ``create_bot`` work (others: 401).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        auto_register_bots: bool = True,
        strict_html_ampersand: bool = False,
    ) -> None:
        super().__init__(
            clock=clock,
            settings=Settings(
                auto_register_bots=auto_register_bots,
                strict_html_ampersand=strict_html_ampersand,
            ),
        )
        self.host = host
        self.port = port
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Emulator:
        """Serve on a background thread; returns once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
        # and without it every long-poll answer waited ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._stopping = threading.Event()
        config = uvicorn.Config(
            build_app(self, self._stopping),
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        server = self._server

        def run() -> None:
            asyncio.run(server.serve(sockets=[sock]))
            sock.close()

        self._thread = threading.Thread(target=run, name="telegram-emulator", daemon=True)
        self._thread.start()
        for _ in range(int(timeout / 0.01)):
            if server.started or not self._thread.is_alive():
                break
            self._stopping.wait(0.01)
        if not server.started:
            self.stop()
            raise RuntimeError("telegram emulator failed to start")
        return self

    def stop(self) -> None:
        """Wake pending long polls and hangs, shut down, and join the server thread."""
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
        self._server = None

    def serve_forever(self) -> None:
        """Block until interrupted (starting first if needed): ``python -m telegram_emulator``."""
        if self._thread is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:PORT (control API at {url}/_emulator/...)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What python-telegram-bot takes as ``base_url``; it appends ``<token>/<method>``."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        """What python-telegram-bot takes as ``base_file_url``."""
        return f"{self.url}/file/bot"

    def api_url(self, token: str, method: str) -> str:
        """Full URL of one Bot API method, for raw HTTP clients."""
        return f"{self.base_url}{token}/{method}"
