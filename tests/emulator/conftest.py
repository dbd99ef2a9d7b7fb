"""Fixtures for the emulator's own tests: the plugin's emulator plus a bot token."""

from __future__ import annotations

from telegram_emulator.pytest_plugin import telegram_emulator

__all__ = ["telegram_emulator"]
