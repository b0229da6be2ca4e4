"""Command line: `python -m bot run | db upgrade | staff add | policies load | telegram set-webhook`."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Patient assistant launcher and admin commands")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start Rasa, the action server and the console")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from bot import launcher

        return launcher.run()
    return 2


if __name__ == "__main__":
    sys.exit(main())
