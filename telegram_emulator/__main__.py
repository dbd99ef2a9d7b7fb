"""``python -m telegram_emulator --port N [--host 127.0.0.1]``: a standalone emulator."""

from __future__ import annotations

import argparse

from .server import Emulator


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m telegram_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--registered-bots-only",
        action="store_true",
        help="answer 401 to tokens not created via /_emulator/create_bot",
    )
    parser.add_argument(
        "--strict-html-ampersand",
        action="store_true",
        help="reject a bare '&' in HTML (stricter than Telegram)",
    )
    args = parser.parse_args(argv)
    emulator = Emulator(
        host=args.host,
        port=args.port,
        auto_register_bots=not args.registered_bots_only,
        strict_html_ampersand=args.strict_html_ampersand,
    )
    emulator.start()
    print(
        f"telegram emulator: base_url={emulator.base_url} control={emulator.url}/_emulator/",
        flush=True,
    )
    emulator.serve_forever()


if __name__ == "__main__":
    main()
