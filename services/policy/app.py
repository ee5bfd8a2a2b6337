"""Policy as an app: the public catalogue, its vocabulary, and the admins' edits."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.runtime import build_runtime
from libs.settings import Settings
from services.policy.api import router
from services.policy.models import platform

NAME = "policy"


def create_app(settings: Settings) -> FastAPI:
    runtime = build_runtime(NAME, settings, platform)
    return create_service_app(
        runtime,
        title="eastwest policy · 政策落实",
        description=(
            "就业帮扶政策清单：补贴项目、政策依据、对象范围、适用条件（以 CEL 表达式写成的规则）、申请材料、申领程序和"
            "执行期限。清单公开（无需令牌，也可导出 XLSX）；管理员修改时保留每个版本和修改说明。"
        ),
        routers=[router],
        consumers=[],
    )
