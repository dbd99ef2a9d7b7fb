"""Per-process resources for tasks: settings, database, Bot API sender.

Built lazily once per process (Celery forks pool children, and neither a
database pool nor PTB's event loop survive a fork), and dropped again in
``worker_process_init`` so each child builds its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import ChannelRegistry
from bot.limiter import Limits, TelegramLimiter
from bot.publisher import Publisher
from bot.senders import OutboxSender, Sender, TelegramSender
from config.settings import Settings, SourceConfig
from news.db import make_engine, make_session_factory
from news.errors import ConfigError
from news.extract import SiteReader, reader_for
from news.fetch import Fetcher
from news.politeness import RedisGate, RedisRobotsCache
from news.reading import SourceReading

#: What a process that needs Redis says when it has none.
NO_REDIS = (
    "REDIS_URL is not set: `loa run` starts a bundled Redis for its worker and beat; "
    "to run `loa worker` or `loa beat` on their own, set REDIS_URL=redis://HOST:6379/0"
)


def redis_client_url(url: str) -> str:
    """redis-py spelling of a broker URL (kombu's ``redis+socket://`` → ``unix://``)."""
    if url.startswith("redis+socket://"):
        return "unix://" + url[len("redis+socket://") :]
    return url


@dataclass
class Runtime:
    """What a Loa process needs, built from `Settings` on first use; one per process.

    The one factory every entry point uses: the worker's tasks (through
    :func:`get_runtime`), and `loa beat`, `loa serve`, `loa bot` and the
    one-shot CLI commands (each makes its own ``Runtime(settings)``). Nothing
    is connected before it is asked for: `loa check-source` never opens the
    database, and a process without Redis can still fetch and read.
    """

    settings: Settings
    _engine: Engine | None = field(default=None, init=False)
    _factory: sessionmaker[Session] | None = field(default=None, init=False)
    _sender: Sender | None = field(default=None, init=False)
    _redis: redis.Redis | None = field(default=None, init=False)
    _publisher: Publisher | None = field(default=None, init=False)
    _fetchers: dict[str, Fetcher] = field(default_factory=dict, init=False)

    @property
    def engine(self) -> Engine:
        """The database engine (`DATABASE_URL`, or SQLite under the data directory)."""
        if self._engine is None:
            self._engine = make_engine(self.settings.effective_database_url)
        return self._engine

    @property
    def factory(self) -> sessionmaker[Session]:
        """Sessions on :attr:`engine`."""
        if self._factory is None:
            self._factory = make_session_factory(self.engine)
        return self._factory

    @property
    def sender(self) -> Sender:
        """The Telegram sender with a token, else the dry-run outbox."""
        if self._sender is None:
            token = self.settings.telegram_bot_token
            if token is None:
                self._sender = OutboxSender(self.settings.outbox_dir)
            else:
                self._sender = TelegramSender(
                    token.get_secret_value(), base_url=self.settings.telegram_api_base_url
                )
        return self._sender

    @property
    def redis(self) -> redis.Redis:
        """A client for the broker's Redis (rate limits, locks, debouncing)."""
        if self._redis is None:
            url = self.settings.redis_url
            if not url:
                raise ConfigError(NO_REDIS)
            self._redis = redis.Redis.from_url(redis_client_url(url))
        return self._redis

    @property
    def publisher(self) -> Publisher:
        """The publisher: this process's sender behind the limiter all workers share."""
        if self._publisher is None:
            publish = self.settings.publish
            limits = Limits(
                global_per_second=publish.global_per_second,
                private_per_second=publish.private_per_second,
                group_per_minute=publish.group_per_minute,
            )
            limiter = TelegramLimiter(self.redis, limits)
            self._publisher = Publisher(self.factory, self.sender, self.settings, limiter=limiter)
        return self._publisher

    @property
    def channels(self) -> ChannelRegistry:
        """Configured chats as Telegram knows them (needs no Redis: `loa channels` uses it)."""
        return ChannelRegistry(self.factory, self.sender)

    def fetcher(self, source: SourceConfig) -> Fetcher:
        """The Fetcher for `source` (one Session each, kept).

        Polite across all workers through Redis when there is one; a one-shot
        command without Redis is polite within its own process.
        """
        if source.name not in self._fetchers:
            gate = robots = None
            if self.settings.redis_url:
                gate = RedisGate(
                    self.redis,
                    max_concurrent=self.settings.host_max_concurrent,
                    min_delay=self.settings.host_min_delay,
                )
                robots = RedisRobotsCache(self.redis)
            self._fetchers[source.name] = Fetcher(
                gate=gate, respect_robots=source.respect_robots, robots_cache=robots
            )
        return self._fetchers[source.name]

    def reading(self, source: SourceConfig) -> SourceReading:
        """Everything a poll or a re-check of `source` reads its pages with."""
        return SourceReading(
            source,
            self.fetcher(source),
            self.reader(source),
            tz=self.settings.tz,
            summary_chars=self.settings.summary_chars,
            stories=self.settings.stories,
        )

    def reader(self, source: SourceConfig) -> SiteReader:
        """How to read `source`'s pages (its profile, or zero-config)."""
        return reader_for(source.profile, self.settings.profiles)

    def close(self) -> None:
        for fetcher in self._fetchers.values():
            fetcher.session.close()
        self._fetchers.clear()
        if self._sender is not None:
            self._sender.close()
            self._sender = None
        self._publisher = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine, self._factory = None, None


_lock = threading.Lock()
_current: Runtime | None = None
_settings: Settings | None = None


def configure(settings: Settings) -> None:
    """Set the settings this process's runtime is built from (entry points call this)."""
    global _settings, _current
    with _lock:
        _settings = settings
        _current = None


def get_runtime() -> Runtime:
    """This process's Runtime, built on first use."""
    global _current
    with _lock:
        if _current is None:
            if _settings is None:
                raise RuntimeError("tasks.runtime.configure(settings) was not called")
            _current = Runtime(_settings)
        return _current


def reset_after_fork() -> None:
    """Forget the parent's runtime in a forked child (connections are not fork-safe)."""
    global _current
    _current = None
