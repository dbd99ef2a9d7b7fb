"""The fixture server's fault paths: each one a way a real news site misbehaves.

Mixed into the request handler of :mod:`tests.sites.server`; every method
answers one path of :data:`FAULTS` and is documented there.
"""

from __future__ import annotations

from typing import Any

_CHUNK = 64 * 1024

FAULTS = {
    "/fault/404": "404 Not Found with a small HTML body",
    "/fault/500-then-ok": "500 for the first `fail_times` (2) requests, then 200 with a "
    "cms-portal article (FAULT_ARTICLE_URL's page, links not rewritten)",
    "/fault/timeout": "waits `timeout_sleep` seconds (default 5) before answering 200; stop() "
    "cuts the wait short",
    "/fault/slow-drip": "200 with Content-Length; `drip_chunks` chunks of 64 bytes, one every "
    "`drip_interval` seconds",
    "/fault/endless-drip": "200 text/html, no Content-Length, one byte every `drip_interval` "
    "seconds until the server stops (an endless drip)",
    "/fault/huge": "200 text/html, chunked, no Content-Length, `huge_bytes` (20 MB) of HTML",
    "/fault/invalid-html": "200 text/html; charset=utf-8 with broken markup and invalid UTF-8",
    "/fault/redirect-loop": "302 to /fault/redirect-loop-b, which 302s back",
    "/fault/binary": "200 image/png (a real 1x1 PNG)",
}
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
INVALID_HTML = (
    b"<<html><<body <p <div class=>>\xff\xfe broken \xc3\x28 </table></td></tr>"
    b"<title>x<title <![CDATA[ ]]> <?php echo 1 ?> \x1b[0m &#xD800; <p>unclosed"
)


class FaultHandlers:
    """Request-handler methods for the /fault/* paths (mixed into the handler)."""

    server: Any
    wfile: Any
    close_connection: bool
    _send: Any
    send_response: Any
    send_header: Any
    end_headers: Any

    # _send, send_response, send_header and end_headers come from the handler class.

    def _fault_404(self, hits: int, head: bool) -> None:
        self._send(404, b"<html><body><h1>404</h1></body></html>", head=head)

    def _fault_500_then_ok(self, hits: int, head: bool) -> None:
        if hits <= self.server.site.fail_times:
            return self._send(500, b"<html><body>Server Error</body></html>", head=head)
        self._send(200, self.server.site.fault_article_body, head=head)

    def _fault_timeout(self, hits: int, head: bool) -> None:
        if not self.server.site.stopping.wait(self.server.site.timeout_sleep):
            self._send(200, b"<html><body>late</body></html>", head=head)

    def _fault_slow_drip(self, hits: int, head: bool) -> None:
        site = self.server.site
        chunk = b"<p>" + b"nho giot " * 6 + b"</p>\n"
        chunk = chunk[:64].ljust(64, b" ")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(64 * site.drip_chunks))
        self.end_headers()
        for _ in range(0 if head else site.drip_chunks):
            self.wfile.write(chunk)
            self.wfile.flush()
            if site.stopping.wait(site.drip_interval):
                return

    def _fault_endless_drip(self, hits: int, head: bool) -> None:
        site = self.server.site
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.close_connection = True
        while not head and not site.stopping.wait(site.drip_interval):
            try:
                self.wfile.write(b"<")
                self.wfile.flush()
            except OSError:
                return  # the client gave up, as it should

    def _fault_huge(self, hits: int, head: bool) -> None:
        site = self.server.site
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if head:
            return
        block = (b"<p>" + b"x" * (_CHUNK - 8) + b"</p>\n")[:_CHUNK]
        sent = 0
        try:
            while sent < site.huge_bytes and not site.stopping.is_set():
                piece = block[: site.huge_bytes - sent]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (size cap): expected

    def _fault_invalid_html(self, hits: int, head: bool) -> None:
        self._send(200, INVALID_HTML, head=head)

    def _fault_redirect_loop(self, hits: int, head: bool) -> None:
        self._send(302, b"", headers={"Location": "/fault/redirect-loop-b"}, head=head)

    def _fault_redirect_loop_b(self, hits: int, head: bool) -> None:
        self._send(302, b"", headers={"Location": "/fault/redirect-loop"}, head=head)

    def _fault_binary(self, hits: int, head: bool) -> None:
        self._send(200, PNG_1X1, "image/png", head=head)
