import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from parta.accounts import sms


class Gateway(BaseHTTPRequestHandler):
    """A fake SMS gateway: records requests, answers with the status the test sets."""

    received: list = []
    status = 202

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append((self.headers["Authorization"], json.loads(body)))
        self.send_response(Gateway.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    Gateway.received = []
    Gateway.status = 202
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PARTA_SMS_BACKEND = "parta.accounts.sms.HttpGatewaySmsBackend"
    settings.PARTA_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.PARTA_SMS_GATEWAY_TOKEN = "gateway-token"
    yield Gateway
    server.shutdown()
    server.server_close()


def test_http_gateway_posts_json_with_bearer_token(gateway):
    backend = sms.get_sms_backend()
    assert isinstance(backend, sms.HttpGatewaySmsBackend)
    backend.send("+79131234567", "Код: 123456")
    assert gateway.received == [
        ("Bearer gateway-token", {"phone": "+79131234567", "text": "Код: 123456"})
    ]


def test_http_gateway_error_is_clear(gateway):
    gateway.status = 503
    with pytest.raises(sms.SmsError, match="HTTP 503"):
        sms.get_sms_backend().send("+79131234567", "Код: 123456")


def test_http_gateway_unreachable(settings):
    settings.PARTA_SMS_GATEWAY_URL = "http://127.0.0.1:9/send"
    with pytest.raises(sms.SmsError, match="unreachable"):
        sms.HttpGatewaySmsBackend().send("+79131234567", "text")


def test_http_gateway_needs_a_url(settings):
    settings.PARTA_SMS_GATEWAY_URL = "file:///etc/passwd"
    with pytest.raises(ImproperlyConfigured):
        sms.HttpGatewaySmsBackend()


def test_console_backend_prints_the_message():
    stream = io.StringIO()
    sms.ConsoleSmsBackend(stream).send("+79131234567", "Код: 123456")
    assert stream.getvalue() == "[SMS to +79131234567] Код: 123456\n"


def test_console_backend_is_the_default():
    from parta import settings as project_settings

    assert project_settings.PARTA_SMS_BACKEND == "parta.accounts.sms.ConsoleSmsBackend"
