"""The bot tests' emulator-backed publisher, for the operator tests that post for real."""

from tests.bot.conftest import publisher, sender, settings

__all__ = ["publisher", "sender", "settings"]
