"""The command line every service shares: `python -m <service> serve|migrate|rebuild|...`."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from revline_events.clock import SystemClock
from revline_events.replay import mark_all_unsent, rebuild_projections, state_digest

from revline_service.dlq_cli import add_dlq_parser, run_dlq
from revline_service.logs import configure_logging
from revline_service.migrations import upgrade
from revline_service.service import Runtime, ServiceSpec, create_app
from revline_service.settings import ServiceSettings


def main(spec: ServiceSpec, argv: list[str] | None = None) -> int:
    """Parse the command and run it; returns the process exit code."""
    parser = argparse.ArgumentParser(prog=f"python -m {spec.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    serving = sub.add_parser("serve", help="run the HTTP API, outbox relay and consumer")
    serving.add_argument(
        "--fd",
        type=int,
        help="listen on this inherited, bound socket instead of binding host and port "
        "(socket activation: the supervisor holds the port, so nobody takes it in between)",
    )
    sub.add_parser("migrate", help="apply the database migrations and exit")
    sub.add_parser("rebuild", help="drop the projections and replay the event store")
    sub.add_parser("republish", help="publish the whole event store to the broker again")
    sub.add_parser("digest", help="print the state digest of the projections")
    add_dlq_parser(sub)
    args = parser.parse_args(argv)
    settings = spec.settings_cls()  # every field from the environment
    configure_logging(spec.name, settings.log_level)
    if args.command == "serve":
        serve(create_app(spec, settings), settings, args.fd)
        return 0
    if args.command == "dlq":
        return asyncio.run(run_dlq(spec, settings, args, sys.stdout))
    return asyncio.run(_offline(spec, settings, args.command))


# How long an idle keep-alive connection stays open. Longer than a client's own idle
# expiry (httpx: 5 s) and a load balancer's idle timeout (60 s on the common ones), so the
# client, not the server, closes an idle connection: with uvicorn's default of 5 s, a
# client reusing a connection at the moment the server drops it gets a read error.
KEEP_ALIVE_S = 75


def serve(app: FastAPI, settings: ServiceSettings, fd: int | None = None) -> None:
    """Run `app` under uvicorn on settings' host and port, or on the inherited socket `fd`."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "timeout_keep_alive": KEEP_ALIVE_S,
    }
    if fd is None:
        uvicorn.run(app, **options)
        return
    # socket(fileno=...) reads the family and protocol back from the descriptor, so asyncio
    # still sets TCP_NODELAY on accepted connections (uvicorn's own --fd assumes AF_UNIX).
    listener = socket.socket(fileno=fd)
    uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[listener])


async def _offline(spec: ServiceSpec, settings: ServiceSettings, command: str) -> int:
    await upgrade(spec.alembic_dir, settings.database_url)
    runtime = Runtime(spec, settings, SystemClock())
    try:
        if command == "rebuild":
            count = await rebuild_projections(
                runtime.db, runtime.store, spec.projector, spec.projections
            )
            print(json.dumps({"service": spec.name, "replayed": count}))
        elif command == "republish":
            queued = await mark_all_unsent(runtime.db, spec.kernel)
            while await runtime.relay.publish_pending():
                pass
            print(json.dumps({"service": spec.name, "republished": queued}))
        elif command == "digest":
            async with runtime.db.session() as session:
                print(await state_digest(session, spec.projections))
    finally:
        await runtime.relay.close()
        await runtime.db.dispose()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run a service's own module: python -m quote ...")
