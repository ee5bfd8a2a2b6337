"""RFC 9457 problem details for every error: a stable `type`, a Chinese `title`, the failing fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from libs.db import unavailable
from libs.observability import get_logger

log = get_logger("ew.api")

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "请求格式错误",
    401: "未认证或令牌无效",
    403: "无权执行此操作",
    404: "资源不存在",
    405: "不支持的请求方法",
    406: "不支持的响应格式",
    409: "与现有数据冲突",
    410: "资源已删除",
    412: "前提条件不满足",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "请求数据校验失败",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
}

SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "too-many-requests",
    500: "internal",
    503: "unavailable",
}


def problem_type(slug: str) -> str:
    return f"https://eastwest.dev/problems/{slug}"


class FieldError(dict[str, Any]):
    """One failing field: `{"field": "body.salary_min", "code": "...", "message": "..."}`."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(field=field, code=code, message=message)


class Problem(Exception):
    """Raise anywhere below the route; the handler turns it into problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or SLUGS.get(status, "error")
        self.title = title or TITLES.get(status, "请求失败")
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def validation_problem(field: str, code: str, message: str, detail: str | None = None) -> Problem:
    return Problem(422, detail or message, errors=[FieldError(field, code, message)])


def not_found(what: str = "资源") -> Problem:
    return Problem(404, f"{what}不存在或不在您的权限范围内")


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(request.url.path if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


_MESSAGES = {
    "missing": "{subject}为必填项",
    "string_too_short": "{subject}至少 {min_length} 个字",
    "string_too_long": "{subject}最多 {max_length} 个字",
    "too_short": "{subject}至少 {min_length} 项",
    "too_long": "{subject}最多 {max_length} 项",
    "greater_than_equal": "{subject}不能小于 {ge}",
    "less_than_equal": "{subject}不能大于 {le}",
    "greater_than": "{subject}必须大于 {gt}",
    "less_than": "{subject}必须小于 {lt}",
    "int_type": "{subject}必须是整数",
    "int_parsing": "{subject}必须是整数",
    "int_from_float": "{subject}必须是整数",
    "bool_type": "{subject}必须是 true 或 false",
    "bool_parsing": "{subject}必须是 true 或 false",
    "string_type": "{subject}必须是文本",
    "list_type": "{subject}必须是数组",
    "dict_type": "{subject}必须是对象",
    "model_type": "{subject}必须是对象",
    "model_attributes_type": "{subject}必须是对象",
    "date_type": "{subject}必须是日期（YYYY-MM-DD）",
    "date_parsing": "{subject}必须是日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "{subject}必须是日期（YYYY-MM-DD）",
    "datetime_parsing": "{subject}必须是带时区的时间（ISO 8601）",
    "datetime_type": "{subject}必须是带时区的时间（ISO 8601）",
    "string_pattern_mismatch": "{subject}格式不正确",
    "extra_forbidden": "{subject}不是可接受的字段",
    "enum": "{subject}须为以下之一：{expected}，当前为「{input}」",
    "literal_error": "{subject}须为以下之一：{expected}，当前为「{input}」",
}


def describe_error(item: Mapping[str, Any], subject: str) -> str:
    """pydantic speaks English; users read Chinese. Unknown kinds keep pydantic's own message."""
    kind = str(item.get("type", ""))
    context: dict[str, Any] = dict(item.get("ctx") or {})
    if kind == "value_error":
        return str(context.get("error", item.get("msg", ""))).removeprefix("Value error, ")
    template = _MESSAGES.get(kind)
    if template is None:
        return f"{subject}: {item.get('msg', '格式不正确')}"
    if "expected" in context:
        context["expected"] = (
            "、".join(re.findall(r"'([^']*)'", str(context["expected"]))) or context["expected"]
        )
    try:
        return template.format(subject=subject, input=item.get("input"), **context)
    except (KeyError, IndexError):
        return f"{subject}格式不正确"


MALFORMED_BODY = "请求体不是合法的 JSON"


def _malformed() -> Problem:
    return Problem(
        400,
        MALFORMED_BODY,
        slug="malformed-json",
        errors=[FieldError("body", "json_invalid", MALFORMED_BODY)],
    )


def _from_validation(error: RequestValidationError, request: Request) -> Problem:
    errors = error.errors()
    if any(item.get("type") == "json_invalid" for item in errors):
        return _malformed()
    is_form = request.headers.get("content-type", "").startswith(
        ("multipart/form-data", "application/x-www-form")
    )
    fields = []
    for item in errors:
        location = list(item.get("loc", ()))
        if is_form and location[:1] == ["body"]:
            location[0] = "form"  # a form's fields are named as the form names them
        path = _field_path(location)
        fields.append(FieldError(path, str(item.get("type", "invalid")), describe_error(item, path)))
    detail = "；".join(str(item["message"]) for item in fields[:5])
    return Problem(422, detail, errors=fields)


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route on this path accepts (Starlette names only the first route's)."""
    allowed: set[str] = set()
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.add(method)
    return allowed


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(_from_validation(exc, request), request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        headers = dict(exc.headers) if exc.headers else {}
        if status == 400 and exc.detail == "There was an error parsing the body":
            return problem_response(_malformed(), request)  # bad UTF-8, absurd nesting: still "not JSON"
        if status == 405:
            allowed = _allowed_methods(request) or set(headers.get("Allow", "").split(", ")) - {""}
            headers["Allow"] = ", ".join(sorted(allowed))
        defaults = {404: "请求的路径或资源不存在", 405: f"此路径不支持 {request.method} 方法"}
        own_detail = isinstance(exc.detail, str) and exc.detail != HTTPStatus(status).phrase
        detail = exc.detail if own_detail and status != 404 else None
        problem = Problem(
            status,
            str(detail or defaults.get(status, TITLES.get(status, "请求失败"))),
            headers=headers or None,
        )
        return problem_response(problem, request)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if unavailable(exc):
            log.warning("request.database_unavailable", path=request.url.path, error=type(exc).__name__)
            busy = Problem(503, "服务繁忙，请稍后重试", slug="overloaded", headers={"Retry-After": "2"})
            return problem_response(busy, request)
        log.error("request.unhandled", path=request.url.path, error=type(exc).__name__, exc_info=exc)
        return problem_response(Problem(500, "服务器处理请求时出错，请稍后重试"), request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
