"""Run the emulator standalone: python -m bot.sandbox --port 8081 --token T [--no-rate-limits]."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import FaultConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--bot-username", default="resilience_test_bot")
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-429", type=float, default=0.0)
    parser.add_argument("--fault-5xx", type=float, default=0.0)
    parser.add_argument("--fault-timeout", type=float, default=0.0)
    parser.add_argument("--fault-lost", type=float, default=0.0)
    parser.add_argument("--timeout-delay", type=float, default=6.0)
    parser.add_argument(
        "--regen-spec",
        type=Path,
        metavar="API_JSON",
        help="regenerate bot/sandbox/spec_data.py from api.json and exit",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    faults = None
    if args.fault_429 or args.fault_5xx or args.fault_timeout or args.fault_lost:
        faults = FaultConfig(
            rate_limit_429=args.fault_429,
            server_error_5xx=args.fault_5xx,
            timeout=args.fault_timeout,
            lost_response=args.fault_lost,
            timeout_delay=args.timeout_delay,
        )
    emu = Emulator(
        token=args.token,
        bot_username=args.bot_username,
        rate_limits=not args.no_rate_limits,
        faults=faults,
        seed=args.seed,
    )
    await emu.start(args.host, args.port)
    print(f"sandbox listening on {emu.url} (base_url {emu.base_url})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emu.stop()


def regen_spec(api_json: Path) -> None:
    from bot.sandbox import spec
    from bot.sandbox.methods import HANDLERS

    target = Path(spec.__file__).with_name("spec_data.py")
    target.write_text(spec.generate(api_json, sorted(HANDLERS)), encoding="utf-8")
    print(f"wrote {target}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.regen_spec:
        regen_spec(args.regen_spec)
        return
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
