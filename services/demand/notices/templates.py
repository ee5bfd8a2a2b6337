"""The text messages the platform sends, as mainland SMS requires: pre-approved templates with parameters, never
free text. A template's provider id (Alibaba's `SMS_...`, Tencent's number) is a setting (`EW_SMS_TEMPLATES`);
the wording here is the one submitted for approval, used by the local sink to show what would be sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["eligibility", "offer", "bus_seat", "follow_up"]


@dataclass(frozen=True)
class Template:
    kind: Kind
    label: str
    text: str  # with {name} parameters; the provider adds the signature
    params: tuple[str, ...]
    urgent: bool  # sent in quiet hours too (a bus that leaves early tomorrow)

    def render(self, params: dict[str, str]) -> str:
        return self.text.format(**params)


TEMPLATES: dict[str, Template] = {
    template.kind: template
    for template in (
        Template(
            "eligibility",
            "可申领政策提醒",
            "您可能符合“{policy}”的申领条件，请联系户籍地劳务联络站了解办理。回复TD退订",
            ("policy",),
            urgent=False,
        ),
        Template(
            "offer",
            "录用通知",
            "{employer}拟录用您为“{job}”，请尽快通过联络站确认是否接受。回复TD退订",
            ("employer", "job"),
            urgent=False,
        ),
        Template(
            "follow_up",
            "回访提醒",
            "劳务联络站将在{date}前回访您的就业情况，请保持电话畅通。回复TD退订",
            ("date",),
            urgent=False,
        ),
        Template(
            "bus_seat",
            "直通车座位确认",
            "您已预订{time}从{place}出发的就业帮扶直通车，请提前30分钟到达上车点。回复TD退订",
            ("time", "place"),
            urgent=True,
        ),
    )
}

# Parameters are what the template shows, bounded as the providers require (a variable at most 35 characters).
PARAM_LIMIT = 35


def params_of(kind: str, values: dict[str, str]) -> dict[str, str]:
    """The template's parameters, each trimmed to the providers' limit; a missing one is a programming error."""
    template = TEMPLATES[kind]
    return {name: values[name][:PARAM_LIMIT] for name in template.params}
