"""A real S3-compatible endpoint on 127.0.0.1 (moto's standalone server), and a TCP proxy in
front of it that can cut the connection in the middle of a transfer, like an endpoint dying."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bayview_runbook.localpg import free_port


class MotoServer:
    def __init__(self, require_auth: bool = False) -> None:
        self.port = free_port()
        env = {**os.environ}
        if require_auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"  # every request must carry valid IAM credentials
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class CuttingProxy:
    """Forwards 127.0.0.1:port to a target; after `cut_after` bytes from clients, it drops every
    connection and refuses new ones until heal()."""

    def __init__(self, target_port: int, cut_after: int, cut_flag: Path | None = None) -> None:
        """cut_flag: while this file exists, the proxy is cut too (another process can cut it)."""
        self.target_port, self.cut_after, self.sent, self._cut = target_port, cut_after, 0, False
        self.cut_flag = cut_flag
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cut(self) -> bool:
        return self._cut or (self.cut_flag is not None and self.cut_flag.exists())

    @cut.setter
    def cut(self, value: bool) -> None:
        self._cut = value

    def heal(self) -> None:
        with self.lock:
            self.cut, self.cut_after = False, 1 << 62
        if self.cut_flag is not None:
            self.cut_flag.unlink(missing_ok=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counts: bool) -> None:
        try:
            while data := source.recv(65536):
                if counts:
                    with self.lock:
                        self.sent += len(data)
                        if self.sent > self.cut_after:
                            self.cut = True
                if self.cut:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
