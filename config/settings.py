"""Loa's typed settings: one object, built once by an entry point and passed in.

Values come from (highest priority first) explicit overrides, environment
variables, and an optional YAML file. Nothing here reads the environment at
import time: :func:`config.loader.load_settings` does it when asked.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from config.errors import ConfigError
from config.profiles import BUILTIN_PROFILES, SiteProfile
from config.templates import check_template

DEFAULT_TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
#: Under the data directory: the demo portal's address and schedule, written by
#: `loa run` and read by one-shot commands so they see the same demo source.
DEMO_STATE_FILE = "demo-portal.json"
#: Under the data directory: the bot's @username as getMe reported it, written by
#: the bot at start and read by the feed server for its t.me deep links.
BOT_USERNAME_FILE = "bot-username"
#: Under the data directory (mode 0600): the webhook secret generated at first
#: start when LOA_WEBHOOK_SECRET is unset, so a restart keeps Telegram's copy valid.
WEBHOOK_SECRET_FILE = "webhook-secret"
SourceKind = Literal["html", "rss", "sitemap"]
Language = Literal["vi", "en"]


#: The environment a Settings construction reads; the loader sets it so tests and
#: the supervisor can pass their own mapping without touching ``os.environ``.
ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("loa_settings_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """Reads variables from :data:`ENVIRON` when set, else from ``os.environ``."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = ENVIRON.get()
        return parse_env_vars(
            os.environ if environ is None else environ,
            self.case_sensitive,
            self.env_ignore_empty,
            self.env_parse_none_str,
        )


class _Strict(BaseModel):
    """Base for YAML sections: unknown keys are mistakes, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SourceConfig(_Strict):
    """One watched news site (or feed)."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str | None = Field(
        default=None,
        max_length=100,
        description="the site's name as readers see it ('Also on: Báo Khánh Hòa'); default: name",
    )
    kind: SourceKind = "html"
    url: str = Field(pattern=r"^https?://")
    profile: str | None = Field(
        default=None, description="site profile name; none = zero-config extraction"
    )
    poll_interval: int = Field(default=300, ge=5, description="seconds between polls")
    unhealthy_after: int = Field(default=3, ge=1, description="failures in a row before alerting")
    respect_robots: bool = True
    recheck_window_hours: float = Field(
        default=48, ge=0, description="re-fetch articles younger than this for corrections"
    )
    recheck_every: int = Field(default=1800, ge=60, description="seconds between re-checks")
    categories: dict[str, str] = Field(
        default_factory=dict, description="source category name → Loa category name"
    )
    announce_first_poll: int = Field(
        default=0, ge=0, description="on a source's first poll, announce only the newest K"
    )


_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _is_loopback(host: str) -> bool:
    """`localhost` or a loopback IP literal (no DNS lookup: settings stay pure)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_CHAT = re.compile(r"@[A-Za-z0-9_]{1,64}|-?[0-9]{1,20}")


def _is_chat(value: str) -> bool:
    """'@name' or a numeric chat id ("-100…"), ASCII digits only."""
    return _CHAT.fullmatch(value) is not None


def _chat_text(value: object) -> object:
    """`chat: -1001234567890` unquoted, as users copy it from Telegram, is the id as text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ChannelConfig(_Strict):
    """A Telegram channel or group Loa posts to, and how its posts look."""

    chat: str = Field(description="'@name' or a numeric '-100…' id")
    language: Language = "vi"
    template: str | None = Field(
        default=None,
        description="format string with {title} {category_line} {date} {summary} {url} {read_more}",
    )
    send_mode: Literal["preview", "photo"] = "preview"
    long_caption: Literal["split", "preview"] = "split"
    read_more: Literal["button", "link", "both"] = Field(
        default="button",
        description="the article link: an inline button, a 'Đọc tiếp' link in the text, or both",
    )
    on_update: Literal["edit", "edit_and_note", "ignore"] = "edit"
    on_withdraw: Literal["delete", "mark", "ignore"] = "delete"

    @field_validator("template")
    @classmethod
    def _template_ok(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value)

    _chat_as_text = field_validator("chat", mode="before")(_chat_text)

    @field_validator("chat")
    @classmethod
    def _chat_form(cls, value: str) -> str:
        if _is_chat(value):
            return value
        raise ValueError("must be '@channel_name' or a numeric chat id like -1001234567890")


class RouteRule(_Strict):
    """Which articles go to which channel; an empty rule matches everything.

    `channel` may contain ``{category_slug}`` (the demo routes each category
    to ``@loa_demo_<slug>``). Keywords are plain words, matched without
    diacritics on whole words of the title and summary; no user regex. The
    matching itself lives in :mod:`news.routing`; this is only the rule.
    """

    channel: str
    categories: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    _channel_as_text = field_validator("channel", mode="before")(_chat_text)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    dedupe_stories: bool = Field(
        default=True,
        description="one post per story per chat: a copy from another source is added to it",
    )


class PublishConfig(_Strict):
    """Telegram publishing limits and policies."""

    global_per_second: int = Field(default=30, ge=1, description="raise for paid broadcasts")
    private_per_second: int = Field(default=1, ge=1)
    group_per_minute: int = Field(default=20, ge=1)
    burst_limit: int = Field(default=10, ge=1, description="more new articles per poll are spread")
    burst_spacing_seconds: int = Field(default=120, ge=0)
    max_attempts: int = Field(
        default=6, ge=1, description="transient failures (5xx, timeouts) before giving up"
    )
    retry_backoff_seconds: float = Field(
        default=5.0, gt=0, description="first wait after a transient failure, doubled each time"
    )
    stuck_after_seconds: int = Field(
        default=600, ge=1, description="a row left in 'sending' this long is retried once"
    )


class StoriesConfig(_Strict):
    """Grouping the same story published by several sources (see news.stories).

    Provincial portals republish each other's articles with small edits; a
    chat that follows several of them should get the story once. Articles are
    compared by a MinHash of their folded word shingles within `window_hours`.
    """

    enabled: bool = Field(default=True, description="fingerprint and group new articles")
    window_hours: float = Field(
        default=72, gt=0, description="a copy is looked for among articles this recent"
    )
    threshold: float = Field(
        default=0.5, gt=0, le=1, description="estimated word-shingle Jaccard to be one story"
    )
    edit_hours: float = Field(
        default=48, ge=0, description="'Also on' edits only for posts younger than this"
    )
    max_links: int = Field(default=5, ge=1, le=20, description="'Also on' links per post")
    dedupe_readers: bool = Field(
        default=True, description="readers' alerts also get one message per story"
    )


class RetentionConfig(_Strict):
    """How long housekeeping keeps what it may delete (days; 0 keeps forever).

    Only finished rows are deleted: a delivery still pending, sending or held
    is never touched, whatever its age, so retention can never lose a post.
    """

    deliveries_days: int = Field(default=90, ge=0, description="sent/failed/skipped deliveries")
    events_days: int = Field(default=30, ge=0, description="the event log")
    outbox_days: int = Field(default=14, ge=0, description="dry-run outbox files")
    logs_days: int = Field(default=14, ge=0, description="rotated log files under data_dir/logs")


class Settings(BaseSettings):
    """Everything Loa needs to run; see ``loa.example.yaml`` for a commented copy.

    Environment variables win over the YAML file (which is passed in as init
    data by :func:`config.loader.load_settings`): a deployment can override one
    value without editing the file. Fields without an explicit variable name
    read ``LOA_<FIELD>`` (never a bare ``LANGUAGE`` that the OS may set).
    """

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        allow_inf_nan=False,
        env_prefix="LOA_",
        # `TELEGRAM_BOT_TOKEN=` (as .env.example ships it) means "not set".
        env_ignore_empty=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the YAML data given at construction."""
        return (_MappingEnvSource(settings_cls), init_settings)

    data_dir: Path = Field(
        default=Path("var"), validation_alias=AliasChoices("data_dir", "LOA_DATA_DIR")
    )
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("database_url", "DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("redis_url", "REDIS_URL")
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("telegram_bot_token", "TELEGRAM_BOT_TOKEN")
    )
    telegram_api_base_url: str = Field(
        default=DEFAULT_TELEGRAM_API_BASE_URL,
        validation_alias=AliasChoices("telegram_api_base_url", "TELEGRAM_API_BASE_URL"),
    )
    telegram_bot_username: str | None = Field(
        default=None,
        validation_alias=AliasChoices("telegram_bot_username", "LOA_BOT_USERNAME"),
        description="the bot's @username for t.me links; unset → what the bot recorded",
    )
    webhook_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("webhook_url", "LOA_WEBHOOK_URL"),
        description="set → the bot takes updates by webhook at this public URL, not polling",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("webhook_secret", "LOA_WEBHOOK_SECRET"),
        description="X-Telegram-Bot-Api-Secret-Token; unset → generated once in the data dir",
    )
    webhook_host: str = Field(
        default="127.0.0.1", validation_alias=AliasChoices("webhook_host", "LOA_WEBHOOK_HOST")
    )
    webhook_port: int = Field(
        default=8443,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("webhook_port", "LOA_WEBHOOK_PORT"),
    )
    http_host: str = Field(
        default="127.0.0.1", validation_alias=AliasChoices("http_host", "LOA_HTTP_HOST")
    )
    http_port: int = Field(
        default=8080, ge=0, le=65535, validation_alias=AliasChoices("http_port", "LOA_HTTP_PORT")
    )
    public_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("public_base_url", "LOA_PUBLIC_BASE_URL")
    )
    timezone: str = "Asia/Ho_Chi_Minh"
    language: Language = "vi"
    summary_chars: int = Field(default=400, ge=80, le=3000)
    feed_title: str = "Loa"
    feed_full_content: bool = Field(default=True, description="full text in feed entries")
    feed_logo_url: str | None = None
    feed_max_age: int = Field(default=300, ge=0, description="Cache-Control max-age, seconds")
    sources: list[SourceConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    routes: list[RouteRule] = Field(default_factory=list)
    editors: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Telegram user ids allowed to run editor commands (LOA_EDITORS=123,456)",
    )
    editors_chat: str | None = Field(
        default=None,
        description="where alerts go (a group id or @name); unset: each editor privately",
    )
    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="bearer tokens for the HTTP API's /api/ endpoints"
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="hosts /post, /preview and the API may fetch besides the sources' hosts",
    )
    backlog_alert_threshold: int = Field(
        default=200, ge=1, description="pending deliveries that make an alert to editors"
    )
    profiles: dict[str, SiteProfile] = Field(
        default_factory=dict, description="custom site profiles by name (CSS selectors)"
    )
    publish: PublishConfig = Field(default_factory=PublishConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    stories: StoriesConfig = Field(default_factory=StoriesConfig)
    status_username: str | None = Field(
        default=None, description="basic-auth user of the operator's /status page"
    )
    status_password: SecretStr | None = Field(
        default=None, description="its password; unset → /status is refused (never the API token)"
    )
    feeds_export_dir: Path | None = Field(
        default=None,
        description="every feed rebuild also writes each feed and its .gz here, atomically",
    )
    host_max_concurrent: int = Field(default=2, ge=1, description="requests in flight per host")
    host_min_delay: float = Field(default=1.0, ge=0, description="seconds between requests")
    demo_portal_url: str | None = Field(
        default=None, validation_alias=AliasChoices("demo_portal_url", "LOA_DEMO_PORTAL_URL")
    )
    config_file: Path | None = Field(default=None, exclude=True)

    @field_validator(
        "database_url",
        "redis_url",
        "telegram_bot_token",
        "public_base_url",
        "feed_logo_url",
        "demo_portal_url",
        "telegram_bot_username",
        "webhook_url",
        "webhook_secret",
        "editors_chat",
        "status_username",
        "status_password",
        "feeds_export_dir",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty secret or URL in the YAML file means unset, as in the environment."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("editors", "api_tokens", "allowed_hosts", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        """`LOA_EDITORS=123,456` (commas or spaces); a JSON list or YAML list works too."""
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            import json

            try:
                return json.loads(text)
            except ValueError as exc:
                raise ValueError("not a JSON list") from exc
        return [part for part in re.split(r"[\s,;]+", text) if part]

    @field_validator("telegram_api_base_url", mode="before")
    @classmethod
    def _empty_base_is_default(cls, value: object) -> object:
        return (
            DEFAULT_TELEGRAM_API_BASE_URL if isinstance(value, str) and not value.strip() else value
        )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("telegram_bot_username")
    @classmethod
    def _bot_username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip().removeprefix("@")
        if not _BOT_USERNAME.fullmatch(name):
            raise ValueError("must be the bot's @username: 5-32 letters, digits or _")
        return name

    @field_validator("webhook_url")
    @classmethod
    def _webhook_https(cls, value: str | None) -> str | None:
        """HTTPS, as Telegram requires; plain http only to a loopback host (tests, emulator)."""
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme == "https" and parts.hostname:
            if (parts.port or 443) not in (443, 80, 88, 8443):
                raise ValueError("Telegram calls webhooks only on ports 443, 80, 88 or 8443")
            return value.strip()
        if parts.scheme == "http" and _is_loopback(parts.hostname or ""):
            return value.strip()
        raise ValueError("must be an https:// URL (http:// only for a loopback address)")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token; the message never quotes the value.
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _profiles_exist(self) -> Settings:
        known = set(BUILTIN_PROFILES) | set(self.profiles)
        for index, source in enumerate(self.sources):
            if source.profile is not None and source.profile not in known:
                raise ValueError(
                    f"sources.{index}.profile: unknown site profile {source.profile!r} "
                    f"(known: {', '.join(sorted(known))})"
                )
        return self

    # --- derived values -------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        """The newsroom's time zone (dates without an offset are read in it)."""
        return ZoneInfo(self.timezone)

    @property
    def is_demo(self) -> bool:
        """Demo mode: no sources configured, the bundled demo portal stands in."""
        return not self.sources and self.demo_portal_url is not None

    @property
    def effective_database_url(self) -> str:
        """`DATABASE_URL`, or a SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'loa.db').resolve()}"

    @property
    def bot_username_file(self) -> Path:
        """Where the bot records its @username for the feed server (see BOT_USERNAME_FILE)."""
        return self.data_dir / BOT_USERNAME_FILE

    @property
    def webhook_secret_file(self) -> Path:
        """Where a generated webhook secret is kept (see WEBHOOK_SECRET_FILE)."""
        return self.data_dir / WEBHOOK_SECRET_FILE

    @property
    def outbox_dir(self) -> Path:
        """Where dry-run Bot API requests are written when no token is set."""
        return self.data_dir / "outbox"

    @property
    def metrics_dir(self) -> Path:
        """Where every Loa process writes its Prometheus samples (multiprocess mode)."""
        return self.data_dir / "metrics"

    @property
    def base_url(self) -> str:
        """Public URL of Loa's HTTP server, used in feed self links."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"

    def effective_sources(self) -> list[SourceConfig]:
        """Configured sources, or the demo portal in demo mode."""
        if self.sources or not self.demo_portal_url:
            return list(self.sources)
        portal = self.demo_portal_url.rstrip("/")
        return [
            SourceConfig(
                name="demo",
                title="Cổng TTĐT Đảng bộ tỉnh (demo)",
                url=portal + "/",
                profile="cms-portal",
                poll_interval=10,
                announce_first_poll=3,
            ),
            # the province's newspaper, republishing every other story (loa.demo_portal)
            SourceConfig(
                name="demo-bao",
                title="Báo tỉnh (demo)",
                url=portal + "/bao/",
                profile="cms-portal",
                poll_interval=10,
                announce_first_poll=3,
            ),
        ]

    def source_titles(self) -> dict[str, str]:
        """Source name → the title readers see, for the sources that have one."""
        return {s.name: s.title for s in self.effective_sources() if s.title}

    def effective_channels(self) -> list[ChannelConfig]:
        """Configured channels, or the demo channel in demo mode."""
        if self.channels or not self.is_demo:
            return list(self.channels)
        return [ChannelConfig(chat="@loa_demo")]

    def channel_options(self, chat: str) -> ChannelConfig:
        """How posts to `chat` look: its configured options, or the defaults."""
        for channel in self.effective_channels():
            if channel.chat == chat:
                return channel
        return ChannelConfig(chat=chat if _is_chat(chat) else "@unknown", language=self.language)

    def effective_routes(self) -> list[RouteRule]:
        """Configured routes; the demo sends everything to `@loa_demo`."""
        if self.routes or not self.is_demo:
            return list(self.routes)
        return [RouteRule(channel="@loa_demo"), RouteRule(channel="@loa_demo_{category_slug}")]

    def source(self, name: str) -> SourceConfig:
        """The source called `name`, or a clear error."""
        for candidate in self.effective_sources():
            if candidate.name == name:
                return candidate
        raise ConfigError(f"no source named {name!r}", source=str(self.config_file or "config"))
