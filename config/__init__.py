"""Typed configuration: settings, their loader, and routing rules."""

from config.loader import load_settings
from config.settings import ChannelConfig, RouteRule, Settings, SourceConfig

__all__ = ["ChannelConfig", "RouteRule", "Settings", "SourceConfig", "load_settings"]
