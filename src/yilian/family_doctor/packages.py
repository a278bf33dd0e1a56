"""Service packages of a consortium: saved by code, imported from and exported to Excel."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.family_doctor import repository, rules
from yilian.family_doctor.schemas import (
    PackageIn,
    PackageOut,
    PackagePage,
)
from yilian.kit.errors import AppError, FieldError, Forbidden, ValidationFailed
from yilian.kit.money import fen_to_yuan, yuan_to_fen
from yilian.kit.tabular import read_rows, write_xlsx
from yilian.models import ServicePackage

PACKAGE_COLUMNS = [
    "编码",
    "名称",
    "类别",
    "服务内容",
    "价格(元)",
    "医保分担(%)",
    "公卫分担(%)",
    "有效期起",
    "有效期止",
]
PACKAGE_ALIASES = dict(
    zip(
        PACKAGE_COLUMNS,
        [
            "code",
            "name",
            "category",
            "contents",
            "price",
            "insurance_share",
            "public_share",
            "valid_from",
            "valid_to",
        ],
        strict=True,
    )
)


def permille(percent: Decimal) -> int:
    return int((percent * 10).to_integral_value())


def package_out(p: ServicePackage) -> PackageOut:
    return PackageOut(
        id=p.id,
        code=p.code,
        name=p.name,
        category=p.category,
        contents=p.contents,
        price=fen_to_yuan(p.price_fen),
        insurance_share=f"{p.insurance_permille / 10:g}",
        public_share=f"{p.public_permille / 10:g}",
        resident_pays=fen_to_yuan(
            rules.resident_pays_fen(p.price_fen, p.insurance_permille, p.public_permille)
        ),
        valid_from=p.valid_from,
        valid_to=p.valid_to,
    )


def consortium_of(actor: Actor) -> int:
    if actor.subject.consortium_id is None:
        raise Forbidden(
            "只有医共体管理员可以维护服务包和分配办法", "Only consortium administrators maintain this"
        )
    return actor.subject.consortium_id


def do_save_package(session: Session, *, actor: Actor, data: PackageIn) -> ServicePackage:
    """Create or update (by code) a service package of the actor's consortium."""
    consortium_id = consortium_of(actor)
    values = {
        "price_fen": yuan_to_fen(data.price),
        "insurance_permille": permille(data.insurance_share),
        "public_permille": permille(data.public_share),
    }
    rules.check_package(valid_from=data.valid_from, valid_to=data.valid_to, category=data.category, **values)
    package = repository.package_by_code(session, consortium_id, data.code)
    if package is None:
        package = ServicePackage(consortium_id=consortium_id, code=data.code)
        session.add(package)
    package.name, package.category, package.contents = data.name, data.category, data.contents
    package.valid_from, package.valid_to = data.valid_from, data.valid_to
    package.price_fen, package.insurance_permille = values["price_fen"], values["insurance_permille"]
    package.public_permille = values["public_permille"]
    session.flush()
    return package


def do_import_packages(session: Session, *, actor: Actor, filename: str, data: bytes) -> int:
    """Excel/CSV laid out like the export; every row is saved, or none."""
    consortium_of(actor)
    rows = read_rows(filename, data, PACKAGE_ALIASES)
    errors: list[FieldError] = []
    parsed: list[PackageIn] = []
    for line, row in enumerate(rows, start=2):
        try:
            parsed.append(
                PackageIn.model_validate({k: (v or None) if k == "valid_to" else v for k, v in row.items()})
            )
        except ValueError as exc:
            errors.append(FieldError(_first_field(exc), "格式不正确", str(exc).splitlines()[0], row=line))
    if errors:
        raise ValidationFailed(errors, "导入失败，未写入任何数据", "Import failed; nothing was written")
    for line, item in enumerate(parsed, start=2):
        try:
            with session.begin_nested():
                do_save_package(session, actor=actor, data=item)
        except AppError as error:
            errors.extend(FieldError(e.field, e.message_zh, e.message_en, row=line) for e in error.errors)
    if errors:
        raise ValidationFailed(errors, "导入失败，未写入任何数据", "Import failed; nothing was written")
    return len(parsed)


def _first_field(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        for error in errors():
            return ".".join(str(p) for p in error.get("loc", ())) or "row"
    return "row"


def export_packages(session: Session, *, actor: Actor, q: str = "", category: str = "") -> bytes:
    """The consortium's packages as the import reads them: the whole list the filters select."""
    consortium_id = consortium_of(actor)
    rows = [
        [
            p.code,
            p.name,
            p.category,
            p.contents,
            fen_to_yuan(p.price_fen),
            f"{p.insurance_permille / 10:g}",
            f"{p.public_permille / 10:g}",
            p.valid_from.isoformat(),
            p.valid_to.isoformat() if p.valid_to else "",
        ]
        for p in session.scalars(repository.package_rows(consortium_id, q=q, category=category))
    ]
    return write_xlsx(PACKAGE_COLUMNS, rows, "服务包")


def package_page(
    session: Session, *, consortium_id: int | None, q: str, category: str, offset: int, limit: int
) -> PackagePage:
    """One page of the consortium's packages (none for an account outside any consortium)."""
    if consortium_id is None:
        return PackagePage(total=0, offset=offset, limit=limit, items=[])
    statement = repository.package_rows(consortium_id, q=q, category=category)
    return PackagePage(
        total=repository.count(session, statement),
        offset=offset,
        limit=limit,
        items=[package_out(p) for p in session.scalars(statement.offset(offset).limit(limit))],
    )
