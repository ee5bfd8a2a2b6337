"""Service text messages as stations see them: what was sent to their workers and whether it arrived."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from libs.api.pagination import Page
from libs.api.schemas import RequestModel, example


class NoticeOut(BaseModel):
    model_config = example(
        {
            "id": "9b2e4f7a-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
            "person_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "phone_masked": "139****0001",
            "kind": "eligibility",
            "label": "可申领政策提醒",
            "text": "您可能符合“跨省就业一次性交通补贴”的申领条件，请联系户籍地劳务联络站了解办理。回复TD退订",
            "status": "delivered",
            "status_name": "已送达",
            "reason": None,
            "attempts": 1,
            "provider": "tencent",
            "created_at": "2026-12-07T02:00:00Z",
            "sent_at": "2026-12-07T02:00:05Z",
            "delivered_at": "2026-12-07T02:00:09Z",
        }
    )

    id: str
    person_id: str
    phone_masked: str | None
    kind: str
    label: str
    text: str = Field(description="短信内容（按模板和参数生成，不含签名）")
    status: str = Field(
        description="queued 待发送 | sent 已发送 | delivered 已送达 | undelivered 未送达 | suppressed 不发送 | failed 发送失败"
    )
    status_name: str
    reason: str | None = Field(description="推迟、不发送或失败的原因")
    attempts: int
    provider: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class NoticePage(Page[NoticeOut]):
    pass


class OptOutIn(RequestModel):
    model_config = example({"person_id": "0f8fad5b-d9cb-469f-a165-70867728950e"})

    person_id: str = Field(min_length=1, max_length=36, description="要求不再接收短信的务工人员")
