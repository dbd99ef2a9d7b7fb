"""The editors' ``/addsource`` strings, per language (merged into bot.i18n.STRINGS).

Apart from bot.i18n_editors so the command and its strings read as one
piece; the catalog test checks both languages have the same keys and
placeholders. Values filled in are escaped by the caller (bot.commands.addsource).
"""

from __future__ import annotations

from typing import Final

ADDSOURCE_STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "cmd_addsource": "Biên tập: thêm nguồn tin từ một URL",
        "as_usage": "Cách dùng: /addsource <URL của một trang>, ví dụ /addsource https://baomoi.vn/",
        "as_searching": "Đang tìm những gì có thể theo dõi ở {url}…",
        "as_proposal": (
            "<b>Đề xuất nguồn mới</b>\n"
            "Loại: {kind}\n"
            "Địa chỉ: {url}\n"
            "Cách đọc: {method} (điểm {score})\n"
            "Số bài tìm thấy: {articles}\n\n"
            "<pre>{yaml}</pre>"
        ),
        "as_button_add": "➕ Thêm vào cấu hình",
        "as_button_cancel": "Hủy",
        "as_nothing": "Không tìm thấy gì để theo dõi ở {url}. Đã thử:\n{attempts}",
        "as_no_config": (
            "Loa đang chạy không có tệp cấu hình (ví dụ bản demo không có loa.yaml), "
            "nên không thể tự thêm: hãy dán đoạn YAML trên vào tệp cấu hình."
        ),
        "as_added": (
            "Đã thêm nguồn <b>{name}</b> vào {file}.\n"
            "<code>loa run</code> tự khởi động lại worker, beat và bot trong vài giây; "
            "với Docker Compose: <code>docker compose restart worker beat bot</code>."
        ),
        "as_already_added": "Nguồn này đã được thêm rồi.",
        "as_not_written": "Không ghi được vào tệp cấu hình: {reason}",
        "as_cancelled": "Đã hủy, không thêm nguồn nào.",
        "as_stale": "Đề xuất này đã hết hạn: hãy gõ lại /addsource.",
    },
    "en": {
        "cmd_addsource": "Editors: add a source from a URL",
        "as_usage": "Usage: /addsource <URL of a page>, e.g. /addsource https://baomoi.vn/",
        "as_searching": "Looking for what can be watched at {url}…",
        "as_proposal": (
            "<b>Proposed source</b>\n"
            "Kind: {kind}\n"
            "Address: {url}\n"
            "Read with: {method} (score {score})\n"
            "Articles found: {articles}\n\n"
            "<pre>{yaml}</pre>"
        ),
        "as_button_add": "➕ Add to the config",
        "as_button_cancel": "Cancel",
        "as_nothing": "Nothing watchable at {url}. Tried:\n{attempts}",
        "as_no_config": (
            "Loa runs without a config file (e.g. the demo without loa.yaml), so it cannot "
            "add this itself: paste the YAML above into your config file."
        ),
        "as_added": (
            "Added source <b>{name}</b> to {file}.\n"
            "<code>loa run</code> restarts worker, beat and bot within seconds; "
            "with Docker Compose: <code>docker compose restart worker beat bot</code>."
        ),
        "as_already_added": "This source was already added.",
        "as_not_written": "Could not write the config file: {reason}",
        "as_cancelled": "Cancelled: no source added.",
        "as_stale": "This proposal has expired: send /addsource again.",
    },
}
