"""Reading Bot API parameters the three ways clients send them.

Telegram accepts a query string, ``application/x-www-form-urlencoded``, ``multipart/form-data``
and a JSON body. python-telegram-bot sends form fields whose nested values (reply_markup,
link_preview_options, entities) are JSON-encoded strings and uses multipart for uploads,
so every getter here takes either a native JSON value or its string form.
Multipart is parsed with the standard library's email parser: no python-multipart needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from .errors import bad_request


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str


def parse_body(content_type: str, body: bytes, query: str = "") -> dict[str, Any]:
    """Merge query-string and body parameters into one dict (body wins)."""
    values: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return values
    if kind == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(decoded, dict):
            raise bad_request("can't parse JSON object")
        values.update(decoded)
    elif kind == "multipart/form-data":
        values.update(_multipart(content_type, body))
    else:
        values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return values


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    values: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            values[name] = Upload(filename, content, part.get_content_type())
        else:
            values[name] = content.decode(part.get_content_charset() or "utf-8", "replace")
    return values


class Params:
    """Typed access to one request's parameters, raising Telegram-style 400s."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, Upload):
            raise bad_request(f'field "{name}" must be of type String')
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def require_int(self, name: str, missing: str) -> int:
        value = self.get_int(name)
        if value is None:
            raise bad_request(missing)
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes")

    def get_json(self, name: str) -> Any:
        """A nested object/array, native or JSON-encoded; 400 if the string is not JSON."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                what = "reply keyboard markup" if name == "reply_markup" else name
                raise bad_request(f"can't parse {what} JSON object") from None
        return value

    def chat_ref(self) -> int | str:
        """``chat_id`` as int or ``@username``; Telegram's wording when missing."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        try:
            return int(text)
        except ValueError:
            return text

    def upload_or_ref(self, name: str) -> Upload | str | None:
        """A file parameter: an upload, ``attach://name``, a URL or a file_id."""
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = self.values.get(value[len("attach://") :])
        if value is None or isinstance(value, Upload):
            return value
        return str(value)

    def loggable(self) -> dict[str, Any]:
        """The parameters with uploads replaced by a short description."""
        return {
            k: (f"<upload {v.filename} {len(v.content)} bytes>" if isinstance(v, Upload) else v)
            for k, v in self.values.items()
        }
