"""Helpers for the exporter tests: settings that point AMI somewhere else, a fake NovoFon
REST balance endpoint on loopback that counts its requests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from trunkctl.settings import AmiSettings, Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ami_at(settings: Settings, host: str, port: int, secret_file: Path | None = None) -> Settings:
    ami = settings.ami
    return replace(
        settings,
        ami=AmiSettings(host, port, ami.username, secret_file or ami.secret_file),
    )


class BalanceServer:
    """NovoFon REST on loopback: ``info/balance`` → 12.34 RUB, ``sip`` → line 0053248 with
    2 simultaneous lines; ``hits`` counts the requests by path."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                outer.hits[path] = outer.hits.get(path, 0) + 1
                if path.startswith("/v1/sip"):
                    sips = [{"id": "0053248", "display_name": "trunk", "lines": 2}]
                    body = json.dumps({"status": "success", "sips": sips, "left": 0})
                else:
                    body = json.dumps({"status": "success", "balance": 12.34, "currency": "RUB"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def balance_server() -> Iterator[BalanceServer]:
    srv = BalanceServer()
    yield srv
    srv.close()
