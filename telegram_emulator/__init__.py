"""A local Telegram Bot API emulator for tests.

Public surface::

    Emulator            the server plus its control API (start/stop, base_url, create_chat, ...)
    Limits              rate-limit settings (set_limits changes them)
    ManualClock         a frozen clock for deterministic time-based tests
    SystemClock         real time plus an offset (the default)
    MessageRecord       what ``Emulator.messages()`` returns
    ApiError, ControlError, EmulatorError

See README.md in this folder for the control API and examples.
"""

from .clock import Clock, ManualClock, SystemClock
from .errors import ApiError, ControlError, EmulatorError
from .limits import Limits
from .models import MessageRecord, Version
from .server import Emulator

__all__ = [
    "ApiError",
    "Clock",
    "ControlError",
    "Emulator",
    "EmulatorError",
    "Limits",
    "ManualClock",
    "MessageRecord",
    "SystemClock",
    "Version",
]
