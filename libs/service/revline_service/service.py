"""A service's wiring: what it is (ServiceSpec), what runs (Runtime), and its FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from revline_events.catalogue import CATALOGUE
from revline_events.clock import Clock, SystemClock
from revline_events.consumer import ConsumerRunner
from revline_events.database import Database
from revline_events.event_store import ConcurrencyConflict, EventStore
from revline_events.ids import IdGenerator
from revline_events.kafka import FetchPacing
from revline_events.outbox import OutboxRelay
from revline_events.reactions import Reactions
from revline_events.replay import state_digest
from revline_events.tables import KernelTables
from revline_events.topics import dead_letter_topic, ensure_topics, events_topic
from revline_events.tracing import force_flush
from revline_events.unit_of_work import Projector, UnitOfWork
from sqlalchemy import MetaData, Table, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from revline_service.auth import KeyRing, Principal, Role, require
from revline_service.docs import install_offline_docs
from revline_service.idempotency import checked_key
from revline_service.logs import BodyLimitMiddleware, CorrelationMiddleware, correlation_id
from revline_service.migrations import current_revision, migration_state, upgrade
from revline_service.openapi import install_openapi
from revline_service.problems import ProblemType, install_problem_handlers
from revline_service.settings import ServiceSettings
from revline_service.tracing import TracingMiddleware

log = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "revline_http_request_seconds",
    "HTTP request latency by route and status",
    ["service", "method", "route", "status"],
)

KERNEL_PROBLEMS: dict[type[Exception], ProblemType] = {
    ConcurrencyConflict: ProblemType(409, "concurrent-update", "Concurrent update"),
}


class RequestLatencyMiddleware:
    """Observes each HTTP request's duration by route and status (REQUEST_LATENCY).

    Plain ASGI: Starlette's `@app.middleware("http")` runs each request through a
    task group and memory streams, a cost every command paid on the hot path.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, noting_status)
        # The router put the matched route into this same scope.
        path = getattr(scope.get("route"), "path", "unmatched")
        REQUEST_LATENCY.labels(self.service, scope["method"], path, str(status)).observe(
            time.perf_counter() - started
        )


@dataclass(frozen=True)
class ServiceSpec:
    """Everything that makes one service what it is; the chassis does the rest."""

    name: str
    settings_cls: type[ServiceSettings]
    metadata: MetaData
    kernel: KernelTables
    projections: Sequence[Table]  # parents before children
    projector: Projector
    routers: Sequence[APIRouter]
    alembic_dir: Path
    problems: Mapping[type[Exception], ProblemType] = field(default_factory=dict)
    upstream_topics: Sequence[str] = ()
    reactions: Reactions = field(default_factory=Reactions)
    # Jobs started with the service (after migrations), e.g. resuming interrupted work.
    workers: Sequence[Callable[[Runtime], Awaitable[None]]] = ()
    version: str = "0.1.0"
    description: str = ""

    @property
    def topic(self) -> str:
        """The topic this service publishes on."""
        return events_topic(self.name)


def fetch_pacing(settings: ServiceSettings) -> FetchPacing:
    """The consumer's fetch waits, busy and idle, from the settings."""
    return FetchPacing(
        busy_wait_ms=settings.consumer_fetch_max_wait_ms,
        idle_wait_ms=settings.consumer_idle_fetch_max_wait_ms,
        idle_after_ms=settings.consumer_idle_after_ms,
    )


class Runtime:
    """The live parts of one running service: database, event store, relay, consumer.

    Its units of work carry the service's name, clock, settings and id generator to
    every handler, HTTP command and reaction alike. Raises ReactionToUnknownEvent or
    ReactionRegisteredTwice when the spec's reactions do not fit the catalogue.
    """

    def __init__(self, spec: ServiceSpec, settings: ServiceSettings, clock: Clock) -> None:
        handlers = spec.reactions.handlers(CATALOGUE)
        self.spec = spec
        self.settings = settings
        self.clock = clock
        self.ids = IdGenerator(clock)
        self.db = Database(settings.database_url)
        self.store = EventStore(spec.kernel, spec.topic, unpublished=CATALOGUE.unpublished())
        self.relay = OutboxRelay(
            self.db,
            spec.kernel,
            settings.kafka_bootstrap,
            service=spec.name,
            topic_partitions=settings.topic_partitions,
            replication_factor=settings.replication_factor,
        )
        self.consumer: ConsumerRunner | None = None
        if spec.upstream_topics:
            self.consumer = ConsumerRunner(
                service=spec.name,
                bootstrap=settings.kafka_bootstrap,
                topics=list(spec.upstream_topics),
                uow_factory=self.uow,
                handlers=handlers,
                batch_handlers=spec.reactions.batch_handlers(CATALOGUE),
                group_id=settings.consumer_group,
                consumer_settings={
                    "session_timeout_ms": settings.consumer_session_timeout_ms,
                    "heartbeat_interval_ms": max(settings.consumer_session_timeout_ms // 10, 100),
                    "pacing": fetch_pacing(settings),
                },
            )
        self._tasks: list[asyncio.Task[None]] = []
        self.topics_ready = asyncio.Event()
        # Set when the service begins to stop: workers that wait between rounds wait on it.
        self.stopping = asyncio.Event()

    def uow(self) -> UnitOfWork:
        """A new unit of work on this service's database."""
        return UnitOfWork(
            self.db,
            self.spec.kernel,
            self.store,
            self.spec.projector,
            producer=self.spec.name,
            clock=self.clock,
            ids=self.ids,
            settings=self.settings,
            # Commands recorded in a request carry its X-Correlation-Id.
            correlation=correlation_id.get,
            after_commit=self.relay,
        )

    async def start(self) -> None:
        """Migrate (when configured), then start topic set-up, the relay and the consumer."""
        if self.settings.migrate_on_start:
            await upgrade(self.spec.alembic_dir, self.settings.database_url)
        self._tasks.append(asyncio.create_task(self._topics_then_consume()))
        self._tasks.append(asyncio.create_task(self.relay.run()))
        for worker in self.spec.workers:
            self._tasks.append(asyncio.create_task(self._run_worker(worker)))

    def spawn(self, name: str, work: Awaitable[object]) -> None:
        """Run `work` in the background, stopped with the service like a worker (its
        failure is logged). For work that outlives the request that started it: what a
        stop interrupts must be resumable (a bill run resumes on start-up)."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("background task %s failed", name)

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _run_worker(self, worker: Callable[[Runtime], Awaitable[None]]) -> None:
        try:
            await worker(self)
        except Exception:
            log.exception("worker %s failed", getattr(worker, "__name__", worker))

    async def _topics_then_consume(self) -> None:
        topics = [self.spec.topic, *self.spec.upstream_topics]
        topics += [dead_letter_topic(t) for t in self.spec.upstream_topics]
        backoff = 0.2
        while True:
            try:
                await ensure_topics(
                    self.settings.kafka_bootstrap,
                    topics,
                    partitions=self.settings.topic_partitions,
                    replication_factor=self.settings.replication_factor,
                )
                break
            except Exception as error:
                log.warning("creating topics failed: %s; retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        self.topics_ready.set()
        if self.consumer is not None:
            await self.consumer.run()

    async def stop(self) -> None:
        """Finish the event in hand, stop the tasks, close connections."""
        self.stopping.set()
        if self.consumer is not None:
            self.consumer.stop()
        self.relay.stop()
        # Let the event and the batch in hand finish; cancel only what hangs.
        _done, pending = await asyncio.wait(self._tasks, timeout=10) if self._tasks else ((), ())
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.relay.close()
        await self.db.dispose()
        await asyncio.to_thread(force_flush)  # the spans an OTLP exporter still holds

    async def readiness(self) -> dict[str, Any]:
        """Database, migrations and broker, each ok or the reason it is not."""
        checks: dict[str, Any] = {}
        try:
            async with self.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unreachable: {type(error).__name__}"
        try:
            current = await current_revision(self.db.engine)
            checks["migrations"] = migration_state(self.spec.alembic_dir, current)
        except Exception as error:
            checks["migrations"] = f"unknown: {type(error).__name__}"
        checks["broker"] = (
            "ok" if await _reachable(self.settings.kafka_bootstrap) else "unreachable"
        )
        if checks["broker"] == "ok" and not self.topics_ready.is_set():
            checks["broker"] = "topics not created yet"
        return checks


async def _reachable(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 1.0)
    except (OSError, TimeoutError, ValueError):
        return False
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the running service's Runtime (async: FastAPI runs a plain
    `def` dependency in its thread pool, a thread hop per request for an attribute read)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def operations_router(spec: ServiceSpec) -> APIRouter:
    """/healthz, /readyz, /metrics (no key); /v1/admin/state-digest, /v1/admin/republish and
    /v1/admin/consumer (admin)."""
    router = APIRouter()

    @router.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok", "service": spec.name}

    @router.get(
        "/readyz",
        tags=["operations"],
        responses={
            200: {"description": "Ready: every check is ok."},
            503: {"description": "Not ready: the checks say what is not ok."},
        },
    )
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        """Database, broker and migrations; 503 until all are ok."""
        checks = await runtime.readiness()
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition format.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics(runtime: RuntimeDep) -> Response:
        """Prometheus metrics."""
        await runtime.relay.backlog()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/v1/admin/state-digest", tags=["operations"])
    async def digest(
        runtime: RuntimeDep, _: Annotated[Principal, Depends(require(Role.ADMIN))]
    ) -> dict[str, Any]:
        """SHA-256 over the projection tables: equal before and after a rebuild."""
        async with runtime.db.session() as session:
            value = await state_digest(session, runtime.spec.projections)
        return {
            "service": spec.name,
            "digest": value,
            "tables": sorted(t.name for t in runtime.spec.projections),
        }

    @router.post("/v1/admin/republish", tags=["operations"], status_code=202)
    async def republish(
        runtime: RuntimeDep, _: Annotated[Principal, Depends(require(Role.ADMIN))]
    ) -> dict[str, Any]:
        """Publish the whole event store again, oldest first, while serving: after the
        broker lost its log (`make run` asks each service when the dev broker restarts).
        Consumers de-duplicate by event id, so asking twice doubles nothing."""
        queued = await runtime.relay.republish_all()
        return {"service": spec.name, "queued": queued}

    @router.get("/v1/admin/consumer", tags=["operations"])
    async def consumer_state(
        runtime: RuntimeDep, _: Annotated[Principal, Depends(require(Role.ADMIN))]
    ) -> dict[str, Any]:
        """The consumer's lag and the outbox backlog, for operators and tests."""
        consumer = runtime.consumer
        return {
            "topics": list(runtime.spec.upstream_topics),
            "consumer_lag": consumer.lag() if consumer else 0,
            "consumer_started": bool(consumer and consumer.started.is_set()),
            "outbox_backlog": await runtime.relay.backlog(),
        }

    return router


def create_app(
    spec: ServiceSpec,
    settings: ServiceSettings | None = None,
    *,
    clock: Clock | None = None,
    on_runtime: Callable[[Runtime], None] | None = None,
) -> FastAPI:
    """The service's FastAPI app; its lifespan starts and stops the Runtime."""
    settings = settings or spec.settings_cls()
    runtime = Runtime(spec, settings, clock or SystemClock())
    if on_runtime is not None:
        on_runtime(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"Revline {spec.name}",
        version=spec.version,
        description=spec.description,
        lifespan=lifespan,
        docs_url=None,  # install_offline_docs: the assets come from a package, not a CDN
        redoc_url=None,
        dependencies=[Depends(checked_key)],
    )
    app.state.runtime = runtime
    app.state.keyring = KeyRing.from_settings(settings.api_keys, settings.dev_keys_file)
    install_problem_handlers(app, {**KERNEL_PROBLEMS, **spec.problems})
    install_offline_docs(app)
    install_openapi(app)
    app.include_router(operations_router(spec))
    for router in spec.routers:
        app.include_router(router)

    app.add_middleware(RequestLatencyMiddleware, service=spec.name)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(CorrelationMiddleware)
    # Outermost: the span covers every answer, a refused body's 413 included.
    app.add_middleware(TracingMiddleware, service=spec.name)
    return app
