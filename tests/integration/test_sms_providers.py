"""The text-message adapters through the providers' own SDKs, pointed at a local fake of each provider's HTTP
API on loopback: what each SDK sends (template id, parameters, the phone, a signed request) and how each answer
becomes a message id, a receipt or an opt-out."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from pydantic import SecretStr

from libs.settings import Settings
from services.demand.notices.providers import AlibabaSms, Pending, SendError, TencentSms, opt_out_reply

PHONE = "13900000001"


class FakeProvider:
    """One HTTP server playing both providers: Alibaba's OpenAPI (the action in x-acs-action, parameters in the
    query) and Tencent's API 3.0 (the action in X-TC-Action, parameters in a JSON body). `answers` maps an action to the JSON it answers; requests are kept."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {key: values[0] for key, values in parse_qs(urlparse(self.path).query).items()}
                if body and self.headers.get("content-type", "").startswith("application/x-www-form"):
                    query.update({key: values[0] for key, values in parse_qs(body.decode()).items()})
                action = self.headers.get("X-TC-Action") or self.headers.get("x-acs-action") or ""
                fake.requests.append(
                    {"action": action, "query": query, "headers": dict(self.headers), "json": _json(body)}
                )
                out = json.dumps(fake.answers.get(action, {})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def settings(self) -> Settings:
        return Settings(
            sms_endpoint=f"127.0.0.1:{self.server.server_address[1]}",
            sms_protocol="http",
            sms_access_key_id=SecretStr("test-key-id"),
            sms_access_key_secret=SecretStr("test-key-secret"),
            sms_templates={"eligibility": "SMS_123456", "bus_seat": "SMS_654321"},
            sms_app_id="1400000001",
        )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    provider = FakeProvider()
    yield provider
    provider.server.shutdown()


def test_alibaba_sends_a_template_and_reads_receipts(fake: FakeProvider) -> None:
    fake.answers["SendSms"] = {
        "Code": "OK",
        "Message": "OK",
        "BizId": "900619746936498440^0",
        "RequestId": "r1",
    }
    fake.answers["QuerySendDetails"] = {
        "Code": "OK",
        "RequestId": "r2",
        "TotalCount": 1,
        "SmsSendDetailDTOs": {
            "SmsSendDetailDTO": [
                {
                    "SendStatus": 3,
                    "ReceiveDate": "2026-12-07 10:00:09",
                    "ErrCode": "DELIVERED",
                    "PhoneNum": PHONE,
                }
            ]
        },
    }
    sms = AlibabaSms(fake.settings())
    message_id = sms.send(PHONE, "eligibility", {"policy": "跨省就业一次性交通补贴"}, "notice-1")
    assert message_id == "900619746936498440^0"
    sent = fake.requests[0]["query"]
    assert fake.requests[0]["action"] == "SendSms" and sent["PhoneNumbers"] == PHONE
    assert sent["TemplateCode"] == "SMS_123456" and sent["SignName"] == "东西部劳务协作"
    assert json.loads(sent["TemplateParam"]) == {"policy": "跨省就业一次性交通补贴"}
    assert sent["OutId"] == "notice-1"
    assert fake.requests[0]["headers"]["Authorization"].startswith("ACS3-HMAC-SHA256 Credential=test-key-id,")
    (receipt,) = sms.receipts([Pending(message_id, PHONE, date(2026, 12, 7))])
    assert receipt.delivered and receipt.at == datetime(2026, 12, 7, 2, 0, 9, tzinfo=UTC)
    assert fake.requests[1]["query"]["SendDate"] == "20261207"


def test_alibaba_refusals_say_whether_to_try_again(fake: FakeProvider) -> None:
    sms = AlibabaSms(fake.settings())
    fake.answers["SendSms"] = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控", "RequestId": "r"}
    with pytest.raises(SendError) as throttled:
        sms.send(PHONE, "eligibility", {"policy": "x"}, "n-1")
    assert throttled.value.retry
    fake.answers["SendSms"] = {
        "Code": "isv.MOBILE_NUMBER_ILLEGAL",
        "Message": "号码格式错误",
        "RequestId": "r",
    }
    with pytest.raises(SendError) as bad:
        sms.send(PHONE, "eligibility", {"policy": "x"}, "n-2")
    assert not bad.value.retry
    with pytest.raises(SendError) as unknown:
        sms.send(PHONE, "offer", {"employer": "x", "job": "y"}, "n-3")  # no template id configured
    assert not unknown.value.retry


def test_tencent_sends_reads_receipts_and_replies(fake: FakeProvider) -> None:
    fake.answers["SendSms"] = {
        "Response": {
            "SendStatusSet": [
                {
                    "SerialNo": "5000:1045710669157053657849499619",
                    "PhoneNumber": f"+86{PHONE}",
                    "Fee": 1,
                    "SessionContext": "notice-2",
                    "Code": "Ok",
                    "Message": "send success",
                    "IsoCode": "CN",
                }
            ],
            "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
        }
    }
    fake.answers["PullSmsSendStatus"] = {
        "Response": {
            "PullSmsSendStatusSet": [
                {
                    "UserReceiveTime": "2026-12-07 10:00:09",
                    "CountryCode": "86",
                    "SubscriberNumber": PHONE,
                    "PhoneNumber": f"+86{PHONE}",
                    "SerialNo": "5000:1045710669157053657849499619",
                    "ReportStatus": "SUCCESS",
                    "Description": "用户接收成功",
                    "SessionContext": "notice-2",
                }
            ],
            "RequestId": "r",
        }
    }
    fake.answers["PullSmsReplyStatus"] = {
        "Response": {
            "PullSmsReplyStatusSet": [
                {
                    "ExtendCode": "01",
                    "CountryCode": "86",
                    "PhoneNumber": f"+86{PHONE}",
                    "SignName": "东西部劳务协作",
                    "ReplyContent": "TD",
                    "ReplyTime": "2026-12-07 10:05:00",
                    "ReplyUnixTime": 1796608000,
                    "SubscriberNumber": PHONE,
                }
            ],
            "RequestId": "r",
        }
    }
    sms = TencentSms(fake.settings())
    message_id = sms.send(PHONE, "bus_seat", {"time": "12月8日07:30", "place": "碧江区人民广场"}, "notice-2")
    assert message_id == "5000:1045710669157053657849499619"
    sent = fake.requests[0]
    assert sent["headers"]["Authorization"].startswith("TC3-HMAC-SHA256 Credential=test-key-id/")
    assert sent["json"]["PhoneNumberSet"] == [f"+86{PHONE}"] and sent["json"]["TemplateId"] == "SMS_654321"
    assert sent["json"]["TemplateParamSet"] == ["12月8日07:30", "碧江区人民广场"]
    assert sent["json"]["SmsSdkAppId"] == "1400000001" and sent["json"]["SessionContext"] == "notice-2"
    (receipt,) = sms.receipts([])
    assert receipt.message_id == message_id and receipt.delivered
    (reply,) = sms.replies()
    assert reply.phone == PHONE and opt_out_reply(reply.text)


def test_tencent_refusals_say_whether_to_try_again(fake: FakeProvider) -> None:
    sms = TencentSms(fake.settings())
    status = {"SerialNo": "", "PhoneNumber": f"+86{PHONE}", "Fee": 0, "SessionContext": "", "IsoCode": "CN"}
    fake.answers["SendSms"] = {
        "Response": {
            "SendStatusSet": [{**status, "Code": "LimitExceeded.PhoneNumberDailyLimit", "Message": "x"}],
            "RequestId": "r",
        }
    }
    with pytest.raises(SendError) as limited:
        sms.send(PHONE, "eligibility", {"policy": "x"}, "n-1")
    assert limited.value.retry
    fake.answers["SendSms"] = {
        "Response": {
            "SendStatusSet": [
                {**status, "Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "x"}
            ],
            "RequestId": "r",
        }
    }
    with pytest.raises(SendError) as bad:
        sms.send(PHONE, "eligibility", {"policy": "x"}, "n-2")
    assert not bad.value.retry
    fake.answers["SendSms"] = {
        "Response": {
            "Error": {"Code": "AuthFailure.SignatureFailure", "Message": "签名错误"},
            "RequestId": "r",
        }
    }
    with pytest.raises(SendError) as refused:
        sms.send(PHONE, "eligibility", {"policy": "x"}, "n-3")
    assert refused.value.retry
