"""Policy as an app: the public catalogue and its edits, the eligible-for-policy lists kept from events, and
the sweep that looks again at occasions whose day has come."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.contacts import contacts_from_settings
from libs.runtime import build_runtime
from libs.settings import Settings
from services.policy.api import router
from services.policy.consumers import policy_consumers
from services.policy.eligibility.api import router as eligibility_router
from services.policy.eligibility.assessing import run_sweep
from services.policy.models import platform

NAME = "policy"


def create_app(settings: Settings) -> FastAPI:
    runtime = build_runtime(NAME, settings, platform)
    app = create_service_app(
        runtime,
        title="eastwest policy · 政策落实",
        description=(
            "就业帮扶政策清单：补贴项目、政策依据、对象范围、适用条件（以 CEL 表达式写成的规则）、申请材料、申领程序和"
            "执行期限。清单公开（无需令牌，也可导出 XLSX）；管理员修改时保留每个版本和修改说明。"
            "拟享受政策对象清单：按各服务的事件（就业、培训、人员类别）自动比对，记录符合条件之日和依据的事实，"
            "经办人员逐条告知、受理、发放或不予发放；同一人同一项目同一期间不能重复发放。"
        ),
        routers=[router, eligibility_router],
        consumers=policy_consumers(runtime),
        background=lambda: {"eligibility-sweep": run_sweep(runtime.sessions, settings.policy_sweep_seconds)},
    )
    # An export shows names and masked ID numbers read from demand at that moment (policy keeps none); the
    # composition root swaps in an in-process client when all services share one process.
    app.state.person_contacts = contacts_from_settings(settings, NAME)
    return app
