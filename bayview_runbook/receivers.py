"""Real notification receivers on 127.0.0.1 for rehearsals and tests: an HTTP server that takes
webhook POSTs (Slack-style) and an SMTP server (aiosmtpd). Both keep what they received, and
the HTTP one can be told to fail its next requests, like a webhook service having a bad minute."""

from __future__ import annotations

import json
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bayview_runbook.localpg import free_port


class HttpReceiver:
    """down_flag: while this file exists, every request gets a 503 (another process can take it down)."""

    def __init__(self, down_flag: Path | None = None) -> None:
        self.received: list[dict] = []
        self.fail_next = 0  # the next N requests get a 503
        self.down_paths: set[str] = set()  # these paths get a 503 until removed
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                down = down_flag is not None and down_flag.exists()
                if receiver.fail_next > 0 or self.path in receiver.down_paths or down:
                    receiver.fail_next = max(receiver.fail_next - 1, 0)
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append({"path": self.path, "json": json.loads(body)})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks/T000/B000/secret-token") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def texts(self) -> list[str]:
        return [r["json"]["text"] for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """With credentials=(user, password), it offers AUTH (on loopback, without TLS) and accepts only
    that login; self.logins keeps the user names that logged in. While down_flag exists, every
    message is refused with 421 (the service is down)."""

    def __init__(self, credentials: tuple[str, str] | None = None, down_flag: Path | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list = []
        self.logins: list[str] = []
        receiver = self

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == (
                credentials
            )
            if ok:
                receiver.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                if down_flag is not None and down_flag.exists():
                    return "421 Service not available"
                receiver.messages.append(message_from_bytes(envelope.content, policy=default_policy))
                return "250 OK"

        self.port = free_port()
        auth = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True} if credentials else {}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **auth)
        self.controller.start()

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages]

    def stop(self) -> None:
        self.controller.stop()
