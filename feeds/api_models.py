"""The HTTP API's request bodies, validated by pydantic, and how its answers are shaped.

Every refusal of a body names the field (``title: Field required``), so a CMS
developer can fix the call without reading Loa's code. Strings must be text a
database can hold (pydantic refuses unpaired surrogates); URLs must be http(s) with a host;
a date must be a real moment between 1970 and 2200 (ISO 8601, or a Unix time).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from news.text import normalize_text
from news.weburl import web_url

MAX_BODY_BYTES = 1024 * 1024
M = TypeVar("M", bound=BaseModel)
_URL_CHARS = 2000


class _Body(BaseModel):
    """Unknown fields are mistakes (a misspelt ``sumary`` would be lost silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _web_url(value: str) -> str:
    address = web_url(value)
    if address is None:
        raise ValueError("must be an http(s) URL with a host")
    try:
        port = urlsplit(address).port
    except ValueError:
        port = -1
    if port == -1:
        raise ValueError("has an invalid port")
    return address


class UrlPush(_Body):
    """Only an address: Loa fetches and extracts the page (SSRF rules apply)."""

    url: str = Field(max_length=_URL_CHARS, description="the article's http(s) address")

    _url = field_validator("url")(_web_url)


class ArticlePush(_Body):
    """A whole article as the CMS has it; Loa fetches nothing."""

    title: str = Field(min_length=1, max_length=1000)
    url: str = Field(max_length=_URL_CHARS, description="the article's http(s) address")
    published_at: datetime | None = Field(
        default=None,
        description="ISO 8601 (with an offset; without one it is in Loa's time zone) "
        "or Unix seconds",
    )
    category: str | None = Field(default=None, max_length=200)
    summary: str = Field(default="", max_length=20_000, description="the lead (sapo)")
    body: str = Field(default="", max_length=MAX_BODY_BYTES, description="paragraphs, plain text")
    image: str | None = Field(default=None, max_length=_URL_CHARS)

    _url = field_validator("url")(_web_url)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return _web_url(value) if value else None

    @field_validator("title")
    @classmethod
    def _visible_title(cls, value: str) -> str:
        if not normalize_text(value):
            raise ValueError("has no visible characters")
        return value

    @field_validator("published_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is not None and not 1970 <= value.year <= 2200:
            raise ValueError("must be between the years 1970 and 2200")
        return value


class RepublishBody(_Body):
    """Optional: one chat instead of every routed one."""

    chat: str | None = Field(
        default=None, min_length=1, max_length=100, description="@channel or numeric chat id"
    )


class PollBody(_Body):
    """Optional: poll a paused source anyway."""

    force: bool = False


class Invalid(Exception):
    """A body that is not what an endpoint takes: each (field, message) refused."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes, *, empty: Any = None) -> Any:
    """The body as JSON (`empty` for no body); Invalid for anything else."""
    if not body.strip() and empty is not None:
        return empty
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
        raise Invalid([("body", reason)]) from None


def validate(model: type[M], data: Any) -> M:
    """`data` as `model`, or Invalid naming each refused field."""
    if not isinstance(data, dict):
        raise Invalid([("body", "must be a JSON object")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(
            [
                (".".join(str(part) for part in error["loc"]) or "body", error["msg"])
                for error in exc.errors(include_url=False, include_input=False)
            ]
        ) from None
    except RecursionError:
        raise Invalid([("body", "nested too deeply")]) from None


def push_model(data: Any) -> UrlPush | ArticlePush:
    """A body of only ``url`` asks Loa to fetch; anything more is the whole article."""
    if isinstance(data, dict) and set(data) == {"url"}:
        return validate(UrlPush, data)
    return validate(ArticlePush, data)


def jsonable(value: Any) -> Any:
    """Dataclasses, enums and datetimes as JSON values (news.status answers with them)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value
