"""One error type for the whole platform; one handler renders it as JSON or HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    message_zh: str
    message_en: str
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        if self.row is not None:
            out["row"] = self.row
        return out


@dataclass
class AppError(Exception):
    """A domain error with a Chinese and an English message; `status` is the HTTP status."""

    message_zh: str
    message_en: str
    status: int = 400
    errors: list[FieldError] = field(default_factory=list)
    # A refusal that must still be recorded (a failed login counts towards the lockout).
    commit_anyway: bool = False

    def __str__(self) -> str:
        return f"{self.message_zh} / {self.message_en}"

    def message_for_page(self, *, fields: bool = False) -> str:
        """What a page shows above its form: each bad field's Chinese message (named if `fields`),
        or the error's own message when no field is named."""
        if not self.errors:
            return self.message_zh
        return "；".join(f"{e.field}：{e.message_zh}" if fields else e.message_zh for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "message_zh": self.message_zh,
                "message_en": self.message_en,
                "fields": [e.as_dict() for e in self.errors],
            }
        }


class ValidationFailed(AppError):
    """Input that names one or more bad fields (HTTP 422)."""

    def __init__(
        self, errors: list[FieldError], message_zh: str = "输入有误", message_en: str = "Invalid input"
    ):
        super().__init__(message_zh, message_en, 422, errors)

    @classmethod
    def none_written(
        cls, errors: list[FieldError], what_zh: str = "", *, saved: bool = False, tail_zh: str = ""
    ) -> ValidationFailed:
        """An import or form refused whole: "评分表有3处错误，未导入" / "3 errors; nothing imported"."""
        zh = f"{what_zh}有{len(errors)}处错误，" + (tail_zh or ("未保存" if saved else "未导入"))
        return cls(errors, zh, f"{len(errors)} errors; nothing {'saved' if saved else 'imported'}")

    @classmethod
    def one(cls, field: str, message_zh: str, message_en: str) -> ValidationFailed:
        return cls(
            [FieldError(field, message_zh, message_en)], f"{field}：{message_zh}", f"{field}: {message_en}"
        )


class NotFound(AppError):
    def __init__(self, what_zh: str, what_en: str):
        super().__init__(f"{what_zh}不存在或无权查看", f"{what_en} not found or not visible to you", 404)


class Forbidden(AppError):
    def __init__(
        self, message_zh: str = "无权执行此操作", message_en: str = "You are not allowed to do this"
    ):
        super().__init__(message_zh, message_en, 403)


class Conflict(AppError):
    def __init__(self, message_zh: str, message_en: str, errors: list[FieldError] | None = None):
        super().__init__(message_zh, message_en, 409, errors or [])


class Unauthenticated(AppError):
    def __init__(self, message_zh: str = "请先登录", message_en: str = "Please log in"):
        super().__init__(message_zh, message_en, 401)
