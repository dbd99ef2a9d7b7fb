"""The HTTP API under ``/api/``: CMS push and the editors' actions, for machines.

Each endpoint calls the one implementation of its action (news.ingest,
news.editorial, news.status) and enqueues what follows through tasks.actions,
exactly as the bot and the CLI do; only the wire format is this module's.

Every call needs ``Authorization: Bearer <token>`` with one of
``settings.api_tokens`` (compared in constant time against each); with no
tokens configured the API refuses everything, so turning the server on never
opens it by accident. Then, in this order: a body over 1 MB is a 413 (also
when it arrives without a Content-Length: it is counted while read), a body
that is not JSON or not what the endpoint takes is a 422 naming the field, an
unknown article or source a 404. A 500 means a bug in Loa: it is logged with
its traceback and answered briefly; everything a caller can cause has its own
status (see the OpenAPI document at ``/api/openapi.json``, rendered at
``/api/docs``).
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from config.settings import Settings
from feeds.api_models import (
    MAX_BODY_BYTES,
    ArticlePush,
    Invalid,
    PollBody,
    RepublishBody,
    jsonable,
    parse_json,
    push_model,
    validate,
)
from feeds.api_spec import docs_page, openapi_spec
from news.errors import (
    ArticleNotFound,
    ConfigError,
    EditorialError,
    ExtractionError,
    FetchError,
)
from news.ingest import IngestResult, PushedArticle, fetch_and_store, store_pushed
from news.models import Delivery
from news.ssrf import HostNotAllowed

log = logging.getLogger(__name__)
_ARTICLE_ID = re.compile(r"[0-9]{1,10}")
Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


class _Refusal(Exception):
    """An answer other than success, raised from deep in a handler."""

    def __init__(self, status: int, message: str, *, field: str | None = None, **headers: str):
        self.status, self.message, self.field, self.headers = status, message, field, headers
        super().__init__(message)


def create_api(settings: Settings, factory: sessionmaker[Session]) -> Starlette:
    """The ``/api`` application (mounted by feeds.server.create_app)."""
    tokens = [token.get_secret_value().encode("utf-8") for token in settings.api_tokens]
    if tokens and settings.redis_url:
        from tasks.actions import connect

        connect(settings)  # the Celery app now, not on the first push a CMS is waiting for
    spec = openapi_spec(settings.base_url)
    docs = docs_page(spec)

    def guarded(handler: Callable[[Request], Awaitable[tuple[int, Any]]]) -> Handler:
        """Authenticate, run, and turn every outcome into a JSON answer (see the module)."""

        async def endpoint(request: Request) -> Response:
            try:
                _authenticate(request, tokens)
                status, payload = await handler(request)
                return JSONResponse(payload, status_code=status)
            except _Refusal as refusal:
                return _error(refusal.status, refusal.message, refusal.field, refusal.headers)
            except Invalid as exc:
                field, _ = exc.errors[0]
                return _error(422, str(exc), field, errors=exc.errors)
            except Exception:
                log.exception("API bug answering %s %s", request.method, request.url.path)
                return _error(500, "internal error (logged); please report it", None)

        return endpoint

    async def push(request: Request) -> tuple[int, Any]:
        data = parse_json(await _bounded_body(request))
        model = push_model(data)
        return await _run(_push, settings, factory, model)

    async def republish(request: Request) -> tuple[int, Any]:
        article_id = _article_id(request)
        body = validate(RepublishBody, parse_json(await _bounded_body(request), empty={}))
        return await _run(_republish, settings, factory, article_id, body.chat)

    async def withdraw(request: Request) -> tuple[int, Any]:
        article_id = _article_id(request)
        await _bounded_body(request)  # a body, if any, is still limited
        return await _run(_withdraw, settings, factory, article_id)

    async def poll(request: Request) -> tuple[int, Any]:
        name = request.path_params["name"]
        body = validate(PollBody, parse_json(await _bounded_body(request), empty={}))
        try:
            settings.source(name)
        except ConfigError:
            raise _Refusal(404, f"no source named {name[:60]!r}", field="name") from None
        return await _run(_poll, settings, factory, name, body.force)

    async def status(request: Request) -> tuple[int, Any]:
        from news.status import current_status

        return 200, jsonable(await _run(current_status, factory))

    async def openapi(request: Request) -> Response:
        """The OpenAPI document (public: it holds no secrets)."""
        return JSONResponse(spec)

    async def docs_html(request: Request) -> Response:
        """The API described for people."""
        return HTMLResponse(docs, headers={"Cache-Control": "public, max-age=300"})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, exc.detail, None, dict(exc.headers or {}))

    app = Starlette(
        routes=[
            Route("/articles", guarded(push), methods=["POST"]),
            Route("/articles/{id}/republish", guarded(republish), methods=["POST"]),
            Route("/articles/{id}/withdraw", guarded(withdraw), methods=["POST"]),
            Route("/sources/{name}/poll", guarded(poll), methods=["POST"]),
            Route("/status", guarded(status), methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/docs", docs_html, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.router.redirect_slashes = False
    return app


def _authenticate(request: Request, tokens: Sequence[bytes]) -> None:
    """Refuse (401, logged) a call without one of the configured bearer tokens."""
    client = request.client.host if request.client else "?"
    where = f"{request.method} {request.url.path} from {client}"
    if not tokens:
        log.warning("API call refused (no api_tokens configured): %s", where)
        raise _Refusal(
            401,
            "the HTTP API is off: no api_tokens are configured",
            WWW_Authenticate='Bearer realm="loa"',
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        log.warning("API call refused (no bearer token): %s", where)
        raise _Refusal(401, "a bearer token is required", WWW_Authenticate='Bearer realm="loa"')
    candidate = given.strip().encode("latin-1", "replace")
    matched = False
    for token in tokens:  # every token is compared: the time taken names none of them
        matched |= hmac.compare_digest(candidate, token)
    if not matched:
        log.warning("API call refused (wrong token): %s", where)
        raise _Refusal(
            401,
            "the bearer token is not valid",
            WWW_Authenticate='Bearer realm="loa", error="invalid_token"',
        )


async def _bounded_body(request: Request) -> bytes:
    """The request body, refused (413) once past MAX_BODY_BYTES, never buffered beyond it."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Refusal(413, "the body is larger than 1 MB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Refusal(413, "the body is larger than 1 MB")
        chunks.append(chunk)
    return b"".join(chunks)


def _article_id(request: Request) -> str:
    """The path's article id as digits; anything else names no article (404)."""
    raw: str = request.path_params["id"]
    if _ARTICLE_ID.fullmatch(raw) is None:
        raise _Refusal(404, f"no article {raw[:30]!r}: ids are whole numbers", field="id")
    return raw


async def _run(action: Callable[..., T], *args: Any) -> T:
    """Run a blocking action in a worker thread, mapping Loa's errors to statuses."""
    try:
        return await run_in_threadpool(partial(action, *args))
    except ArticleNotFound as exc:
        raise _Refusal(404, str(exc), field="id") from None
    except HostNotAllowed as exc:
        raise _Refusal(422, str(exc), field="url") from None
    except ExtractionError as exc:
        raise _Refusal(422, f"not an article Loa can read: {exc}", field="url") from None
    except FetchError as exc:
        raise _Refusal(502, f"could not fetch the page: {exc}", field="url") from None
    except EditorialError as exc:
        raise _Refusal(409, str(exc)) from None
    except OperationalError as exc:  # locked, unreachable, restarting: not a bug
        log.warning("API: database unavailable (%s)", exc.__class__.__name__)
        raise _Refusal(503, "the database is busy or down; try again", Retry_After="5") from None


def _push(
    settings: Settings, factory: sessionmaker[Session], model: Any
) -> tuple[int, dict[str, Any]]:
    """Store (or fetch and store), then announce a new article or correct an updated one."""
    from tasks.actions import announce_stored

    result: IngestResult
    if isinstance(model, ArticlePush):
        pushed = PushedArticle(**model.model_dump())
        result = store_pushed(factory, settings, pushed)
    else:
        result = fetch_and_store(settings, factory, model.url)
    announced = announce_stored(settings, factory, result.article_id, result.outcome, only_new=True)
    queued = announced.queued
    channels, readers = _deliveries(factory, [p.delivery_id for p in announced.planned])
    answer = {
        "id": result.article_id,
        "outcome": result.outcome,
        "deliveries": channels,
        "readers": readers,
        "queued": queued,
    }
    return (201 if result.outcome == "new" else 200), answer


def _republish(
    settings: Settings, factory: sessionmaker[Session], ref: str, chat: str | None
) -> tuple[int, dict[str, Any]]:
    from news.editorial import republish
    from tasks.actions import dispatch_publish

    configured = [channel.chat for channel in settings.effective_channels()]
    result = republish(factory, ref, settings.effective_routes(), chat=chat, channels=configured)
    queued = dispatch_publish(result.delivery_ids, settings=settings)
    channels, _ = _deliveries(factory, list(result.delivery_ids), readers_too=True)
    answer = {
        "id": result.article_id,
        "generation": result.generation,
        "deliveries": channels,
        "queued": queued,
    }
    return 202, answer


def _withdraw(
    settings: Settings, factory: sessionmaker[Session], ref: str
) -> tuple[int, dict[str, Any]]:
    from news.editorial import withdraw
    from tasks.actions import dispatch_withdrawn

    article_id = withdraw(factory, ref, by="the HTTP API")
    dispatch_withdrawn(article_id, settings=settings, factory=factory)
    return 200, {"id": article_id, "state": "withdrawn"}


def _poll(
    settings: Settings, factory: sessionmaker[Session], name: str, force: bool
) -> tuple[int, dict[str, Any]]:
    from tasks.actions import poll_now

    summary = poll_now(settings, factory, name, force=force)
    return 200, {
        "source": summary.source,
        "new": summary.new,
        "updated": summary.updated,
        "withdrawn": summary.withdrawn,
        "planned": summary.planned,
        "errors": list(summary.errors),
    }


def _deliveries(
    factory: sessionmaker[Session], ids: list[int], *, readers_too: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """Planned rows as ``{"id", "chat"}`` for channels and groups; readers only counted.

    A subscriber's private chat id is theirs: the CMS learns how many were
    alerted, not who (`readers_too` lists them for an editor's republish).
    """
    if not ids:
        return [], 0
    with factory() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.chat_id).where(Delivery.id.in_(ids)).order_by(Delivery.id)
        ).all()
    listed = [
        {"id": row.id, "chat": row.chat_id}
        for row in rows
        if readers_too or not _is_private(row.chat_id)
    ]
    return listed, sum(1 for row in rows if _is_private(row.chat_id))


def _is_private(chat: str) -> bool:
    """A person's private chat: a positive numeric id (groups and channels are negative)."""
    return chat.isascii() and chat.isdigit()


def _error(
    status: int,
    message: str,
    field: str | None,
    headers: dict[str, str] | None = None,
    *,
    errors: list[tuple[str, str]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = [{"field": f, "message": m} for f, m in errors]
    named = {name.replace("_", "-"): value for name, value in (headers or {}).items()}
    return JSONResponse(body, status_code=status, headers=named)
