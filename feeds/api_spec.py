"""The HTTP API described for its callers: an OpenAPI 3.1 document and a small docs page.

The request schemas come from the pydantic models that validate the bodies
(feeds.api_models), so the document cannot drift from what is accepted; the
answers are described here. The docs page is rendered on the server from the
same document: one self-contained HTML file, no script and nothing fetched
from a CDN (editors' networks are often closed).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from feeds.api_models import ArticlePush, PollBody, RepublishBody, UrlPush

_REF = "#/components/schemas/{model}"


def _schema(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _schema("Error")}},
    }


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _schema(schema)}},
    }


_AUTH = {"401": _error("no bearer token, a wrong one, or no api_tokens configured")}
_WRITE = {
    **_AUTH,
    "413": _error("the body is larger than 1 MB"),
    "422": _error("the body is not JSON or a field is invalid (named in `field`)"),
    "503": _error("the database is busy or down; try again"),
}
_ARTICLE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "description": "the article's id (as POST /api/articles answered it)",
}


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _paths() -> dict[str, Any]:
    return {
        "/api/articles": {
            "post": {
                "summary": "Push an article from the CMS",
                "description": (
                    'Either `{"url": ...}`: Loa fetches and extracts the page (only '
                    "hosts of configured sources or `allowed_hosts`, never private "
                    "addresses), or the whole article. It is stored with the identity a poll "
                    "of its source would give it (a later poll does not post it again), "
                    "announced to the routed chats and subscribed readers, and queued for "
                    "sending."
                ),
                "operationId": "pushArticle",
                "requestBody": _body({"oneOf": [_schema("ArticlePush"), _schema("UrlPush")]}),
                "responses": {
                    "201": _ok("stored as a new article, deliveries planned", "PushResult"),
                    "200": _ok(
                        "known already: unchanged, or updated (posts are corrected)", "PushResult"
                    ),  # fmt: skip
                    **_WRITE,
                    "502": _error("the URL could not be fetched"),
                },
            }
        },
        "/api/articles/{id}/republish": {
            "post": {
                "summary": "Post an article again",
                "description": "A new generation in the delivery ledger: every routed chat, "
                "or the one `chat` given (a routed or configured chat).",
                "operationId": "republishArticle",
                "parameters": [_ARTICLE_ID],
                "requestBody": _body(_schema("RepublishBody"), required=False),
                "responses": {
                    "202": _ok("deliveries planned and queued", "RepublishResult"),
                    **_WRITE,
                    "404": _error("no such article"),
                    "409": _error("refused: the article is withdrawn, or no route names it"),
                },
            }
        },
        "/api/articles/{id}/withdraw": {
            "post": {
                "summary": "Take an article down",
                "description": "Marks it withdrawn, cancels unsent posts, deletes or marks "
                "the sent ones as each channel's `on_withdraw` says, drops it from the feeds.",
                "operationId": "withdrawArticle",
                "parameters": [_ARTICLE_ID],
                "responses": {
                    "200": _ok("withdrawn (withdrawing again changes nothing)", "WithdrawResult"),
                    **_WRITE,
                    "404": _error("no such article"),
                },
            }
        },
        "/api/sources/{name}/poll": {
            "post": {
                "summary": "Poll a source now",
                "description": "Runs the poll (and a re-check of young articles) before "
                "answering with what it found; new articles are announced and queued.",
                "operationId": "pollSource",
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "a configured source",
                    }
                ],  # fmt: skip
                "requestBody": _body(_schema("PollBody"), required=False),
                "responses": {
                    "200": _ok("the poll ran", "PollResult"),
                    **_WRITE,
                    "404": _error("no source of that name"),
                    "409": _error("refused: the source is paused, or a poll of it is running"),
                },
            }
        },
        "/api/status": {
            "get": {
                "summary": "Loa's health",
                "description": "Sources, deliveries by state and in the last hour, backlog, "
                "failing channels, possible duplicates, pauses, recent events.",
                "operationId": "status",
                "responses": {"200": _ok("the snapshot", "Status"), **_AUTH},
            }
        },
    }


def _answers() -> dict[str, Any]:
    delivery = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "chat": {"type": "string"}},
        "required": ["id", "chat"],
    }
    deliveries = {"type": "array", "items": _schema("Delivery")}
    return {
        "Delivery": delivery,
        "Error": {
            "type": "object",
            "properties": {
                "error": {"type": "string", "description": "what went wrong, in one sentence"},
                "field": {"type": "string", "description": "the first field refused"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },  # fmt: skip
                },
            },
            "required": ["error"],
        },
        "PushResult": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "outcome": {"type": "string", "enum": ["new", "updated", "unchanged"]},
                "deliveries": {**deliveries, "description": "planned posts to channels/groups"},
                "readers": {"type": "integer", "description": "subscribed readers alerted"},
                "queued": {"type": "integer", "description": "sends handed to the workers"},
            },
            "required": ["id", "outcome", "deliveries", "readers", "queued"],
        },
        "RepublishResult": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "generation": {"type": "integer"},
                "deliveries": deliveries,
                "queued": {"type": "integer"},
            },
            "required": ["id", "generation", "deliveries", "queued"],
        },
        "WithdrawResult": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "state": {"const": "withdrawn"}},
            "required": ["id", "state"],
        },
        "PollResult": {
            "type": "object",
            "properties": {
                "source": {"type": "string"},
                "new": {"type": "integer"},
                "updated": {"type": "integer"},
                "withdrawn": {"type": "integer"},
                "planned": {"type": "integer"},
                "errors": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["source", "new", "updated", "withdrawn", "errors"],
        },
        "Status": {"type": "object", "description": "news.status.Status as JSON"},
    }


def openapi_spec(base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document served at ``/api/openapi.json``."""
    schemas: dict[str, Any] = {}
    for model in (ArticlePush, UrlPush, RepublishBody, PollBody):
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas.update(_answers())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Loa HTTP API",
            "version": "1",
            "description": (
                "Push articles from a CMS and steer publishing. Every endpoint takes "
                "`Authorization: Bearer <token>` with a token from `api_tokens`; with no "
                "tokens configured the API refuses every call. Bodies are JSON, at most 1 MB."
            ),
        },
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2.2rem;font-size:1.1rem}code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f5f5f4;padding:.7rem;overflow:auto;border-radius:4px}
.m{display:inline-block;min-width:3.5rem;font-weight:bold;color:#8b1a1a}
table{border-collapse:collapse}td{padding:.15rem .8rem .15rem 0;vertical-align:top}
"""


_EXAMPLE = """curl -sS -X POST {base}/api/articles \\
  -H "Authorization: Bearer $LOA_API_TOKEN" -H "Content-Type: application/json" \\
  -d '{{"title": "Tỉnh khánh thành cầu dân sinh",
       "url": "https://baotinh.example/tin-tuc/cau-dan-sinh-77.html",
       "published_at": "2024-05-01T09:30:00+07:00", "category": "Xã hội",
       "summary": "Cây cầu nối hai xã miền núi đã được đưa vào sử dụng."}}'"""


def _text(markdown: str) -> str:
    """A description as HTML: escaped, with its `code` spans kept as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(markdown))


def docs_page(spec: dict[str, Any]) -> str:
    """One self-contained HTML page describing every operation in `spec`."""
    esc = html.escape
    info = spec["info"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(info['title'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(info['title'])}</h1><p>{_text(info['description'])}</p>",
        "<p>Machine-readable: <a href='openapi.json'>openapi.json</a> (OpenAPI 3.1).</p>",
        f"<pre>{esc(_EXAMPLE.format(base=spec['servers'][0]['url']))}</pre>",
    ]
    schemas = spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            parts.append(
                f"<h2><span class='m'>{method.upper()}</span> <code>{esc(path)}</code></h2>"
                f"<p><b>{esc(op['summary'])}.</b> {_text(op.get('description', ''))}</p>"
            )
            body = op.get("requestBody")
            if body is not None:
                schema = body["content"]["application/json"]["schema"]
                names = [r["$ref"].rsplit("/", 1)[1] for r in schema.get("oneOf", [schema])]
                for name in names:
                    optional = "" if body["required"] else " (optional body)"
                    parts.append(f"<p>Body <code>{esc(name)}</code>{optional}:</p>")
                    parts.append(f"<pre>{esc(json.dumps(schemas[name], indent=2))}</pre>")
            rows = "".join(
                f"<tr><td><code>{esc(code)}</code></td><td>{_text(answer['description'])}</td></tr>"
                for code, answer in op["responses"].items()
            )
            parts.append(f"<table>{rows}</table>")
    parts.append("</body></html>")
    return "".join(parts)
