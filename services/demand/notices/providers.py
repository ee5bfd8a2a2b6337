"""Where text messages go: Alibaba Cloud SMS or Tencent Cloud SMS through their own SDKs, or the local sink that
writes what would be sent (the embedded default, which needs no account and reaches no network).

Each adapter sends one message (a template id and its parameters, never free text), reads delivery receipts,
and reads replies (回复 TD 退订). The SDKs are synchronous: the sender calls them in a worker thread. The phone
is handed to the provider and to nobody else; the sink writes it masked."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from libs.db import BEIJING
from libs.pii import mask_phone
from libs.settings import Settings
from services.demand.notices.templates import TEMPLATES


class SendError(Exception):
    """The provider did not take the message; `retry` says whether trying again later may help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Pending:
    """A message sent and not yet known to have arrived."""

    message_id: str
    phone: str
    sent_on: date


@dataclass(frozen=True)
class Receipt:
    message_id: str
    delivered: bool
    at: datetime | None
    error: str | None = None


@dataclass(frozen=True)
class Reply:
    phone: str
    text: str


class SmsProvider(Protocol):
    name: str

    def send(self, phone: str, kind: str, params: dict[str, str], reference: str) -> str:
        """The provider's id of the message sent; SendError if it was not taken."""

    def receipts(self, pending: Sequence[Pending]) -> list[Receipt]: ...

    def replies(self) -> list[Reply]: ...


def opt_out_reply(text: str) -> bool:
    """回复 TD 退订: "TD", "td", "T D", "退订" (providers pass the reply as the person typed it)."""
    word = "".join(text.split()).upper()
    return word in {"TD", "退订", "N", "0000"} or word.startswith("TD")


def _template_id(settings: Settings, kind: str) -> str:
    template = settings.sms_templates.get(kind)
    if not template:
        raise SendError(f"EW_SMS_TEMPLATES has no template id for {kind}", retry=False)
    return template


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


# --- the local sink ------------------------------------------------------------------------------------------


class LocalSink:
    """Writes each message to `<data_dir>/sms-sink.jsonl` (phone masked, the text as the template renders it)
    and reports it delivered. Replies are read from `<data_dir>/sms-replies.jsonl`, one JSON object per line
    ({"phone": "139...", "text": "TD"}), which a developer (or a test) appends to; read lines are removed."""

    name = "sink"

    def __init__(self, folder: Path) -> None:
        self.sent_file = folder / "sms-sink.jsonl"
        self.reply_file = folder / "sms-replies.jsonl"
        self._lock = threading.Lock()

    def send(self, phone: str, kind: str, params: dict[str, str], reference: str) -> str:
        line = {
            "id": reference,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "phone": mask_phone(phone),
            "kind": kind,
            "params": params,
            "text": TEMPLATES[kind].render(params),
        }
        with self._lock:
            self.sent_file.parent.mkdir(parents=True, exist_ok=True)
            with self.sent_file.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return f"sink-{reference}"

    def receipts(self, pending: Sequence[Pending]) -> list[Receipt]:
        now = datetime.now(UTC)
        return [Receipt(item.message_id, True, now) for item in pending]

    def replies(self) -> list[Reply]:
        with self._lock:
            if not self.reply_file.exists():
                return []
            lines = self.reply_file.read_text(encoding="utf-8").splitlines()
            self.reply_file.unlink()
        found = []
        for line in lines:
            try:
                item = json.loads(line)
                found.append(Reply(str(item["phone"]), str(item["text"])))
            except (ValueError, KeyError, TypeError):
                continue  # a line a person mistyped: skipped, the others kept
        return found


# --- Alibaba Cloud SMS (dysmsapi 2017-05-25) -----------------------------------------------------------------


class AlibabaSms:
    """SendSms and QuerySendDetails through `alibabacloud-dysmsapi20170525`. Replies reach Alibaba's customers
    through its message queue (SmsUp), which this adapter does not read: an opt-out is then recorded by the
    station (`POST /v1/notices/opt-outs`)."""

    name = "alibaba"

    def __init__(self, settings: Settings) -> None:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as openapi

        config = openapi.Config(
            access_key_id=_secret(settings.sms_access_key_id),
            access_key_secret=_secret(settings.sms_access_key_secret),
            endpoint=settings.sms_endpoint or "dysmsapi.aliyuncs.com",
            protocol=settings.sms_protocol,
        )
        self._client = Client(config)
        self._settings = settings

    def send(self, phone: str, kind: str, params: dict[str, str], reference: str) -> str:
        from alibabacloud_dysmsapi20170525 import models

        request = models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=self._settings.sms_sign_name,
            template_code=_template_id(self._settings, kind),
            template_param=json.dumps(params, ensure_ascii=False),
            out_id=reference,
        )
        try:
            body = self._client.send_sms(request).body
        except Exception as error:  # the SDK raises its own errors for transport and HTTP failures
            raise SendError(f"{type(error).__name__}: {error}", retry=True) from None
        if body.code != "OK":
            # Throttling and system errors pass; a bad template or number does not.
            retry = body.code in {"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "isv.OUT_OF_SERVICE"}
            raise SendError(f"{body.code}: {body.message}", retry=retry)
        return str(body.biz_id)

    def receipts(self, pending: Sequence[Pending]) -> list[Receipt]:
        from alibabacloud_dysmsapi20170525 import models

        found = []
        for item in pending:
            request = models.QuerySendDetailsRequest(
                phone_number=item.phone,
                biz_id=item.message_id,
                send_date=item.sent_on.strftime("%Y%m%d"),
                page_size=10,
                current_page=1,
            )
            try:
                body = self._client.query_send_details(request).body
            except Exception:  # asked again on the next round
                continue
            details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
            for detail in details or []:
                if detail.send_status in (2, 3):  # 1 waiting, 2 failed, 3 delivered
                    found.append(
                        Receipt(
                            item.message_id,
                            detail.send_status == 3,
                            _beijing(detail.receive_date),
                            detail.err_code,
                        )
                    )
        return found

    def replies(self) -> list[Reply]:
        return []


# --- Tencent Cloud SMS (2021-01-11) --------------------------------------------------------------------------


class TencentSms:
    """SendSms, PullSmsSendStatus and PullSmsReplyStatus through `tencentcloud-sdk-python-sms`."""

    name = "tencent"

    def __init__(self, settings: Settings) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        http = HttpProfile(
            endpoint=settings.sms_endpoint or "sms.tencentcloudapi.com", protocol=settings.sms_protocol
        )
        self._client = sms_client.SmsClient(
            credential.Credential(
                _secret(settings.sms_access_key_id), _secret(settings.sms_access_key_secret)
            ),
            settings.sms_region,
            ClientProfile(httpProfile=http),
        )
        self._settings = settings

    def send(self, phone: str, kind: str, params: dict[str, str], reference: str) -> str:
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [phone if phone.startswith("+") else f"+86{phone}"]
        request.SmsSdkAppId = self._settings.sms_app_id
        request.SignName = self._settings.sms_sign_name
        request.TemplateId = _template_id(self._settings, kind)
        request.TemplateParamSet = list(params.values())
        request.SessionContext = reference
        try:
            response = self._client.SendSms(request)
        except Exception as error:  # TencentCloudSDKException and transport errors
            raise SendError(f"{type(error).__name__}: {error}", retry=True) from None
        (status,) = response.SendStatusSet
        if status.Code != "Ok":
            retry = status.Code.startswith(
                ("LimitExceeded", "InternalError", "FailedOperation.InsufficientBalance")
            )
            raise SendError(f"{status.Code}: {status.Message}", retry=retry)
        return str(status.SerialNo)

    def receipts(self, pending: Sequence[Pending]) -> list[Receipt]:
        from tencentcloud.sms.v20210111 import models

        request = models.PullSmsSendStatusRequest()
        request.Limit = 100
        request.SmsSdkAppId = self._settings.sms_app_id
        try:
            response = self._client.PullSmsSendStatus(request)
        except Exception:
            return []
        return [
            Receipt(
                str(status.SerialNo),
                status.ReportStatus == "SUCCESS",
                _beijing(status.UserReceiveTime),
                None if status.ReportStatus == "SUCCESS" else str(status.Description),
            )
            for status in response.PullSmsSendStatusSet or []
        ]

    def replies(self) -> list[Reply]:
        from tencentcloud.sms.v20210111 import models

        request = models.PullSmsReplyStatusRequest()
        request.Limit = 100
        request.SmsSdkAppId = self._settings.sms_app_id
        try:
            response = self._client.PullSmsReplyStatus(request)
        except Exception:
            return []
        return [
            Reply(str(reply.PhoneNumber).removeprefix("+86"), str(reply.ReplyContent))
            for reply in response.PullSmsReplyStatusSet or []
        ]


def _beijing(value: Any) -> datetime | None:
    """A provider's time ("2026-12-07 10:00:00" Beijing time, or Unix seconds) as an instant."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).astimezone(UTC)
    except ValueError:
        return None


def provider_from_settings(settings: Settings) -> SmsProvider:
    """The configured provider; a provider without its credentials (or Tencent without its app id) stops the
    service at start with what is missing, rather than failing every message later."""
    if settings.sms_provider != "sink":
        missing = [
            name
            for name, value in (
                ("EW_SMS_ACCESS_KEY_ID", settings.sms_access_key_id),
                ("EW_SMS_ACCESS_KEY_SECRET", settings.sms_access_key_secret),
                ("EW_SMS_APP_ID", settings.sms_app_id if settings.sms_provider == "tencent" else "-"),
            )
            if not value
        ]
        if missing:
            raise RuntimeError(f"EW_SMS_PROVIDER={settings.sms_provider} needs {', '.join(missing)}")
    if settings.sms_provider == "alibaba":
        return AlibabaSms(settings)
    if settings.sms_provider == "tencent":
        return TencentSms(settings)
    return LocalSink(settings.data_dir)
