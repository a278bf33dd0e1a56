"""Use cases of the residents' portal: phone-code login bound to the ID number, family members,
the whole record open to its owner (002 item 39), "who looked at my record", the health card."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import date, datetime

import qrcode
import qrcode.image.svg
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.service import LoginResult, do_create_user, start_web_session
from yilian.config import Settings
from yilian.family_doctor import repository as family_doctor_repository
from yilian.family_doctor import rules as family_doctor_rules
from yilian.kit.dates import age_on
from yilian.kit.errors import AppError, Forbidden, Unauthenticated, ValidationFailed
from yilian.kit.masking import mask_id_number
from yilian.models import (
    AuditLog,
    Guardianship,
    HealthCardIssue,
    Institution,
    OtpChallenge,
    Resident,
    User,
)
from yilian.portal import rules
from yilian.portal.sms import SmsSender, send_after_commit
from yilian.residents.service import access_resident
from yilian.scheduling import rules as scheduling_rules
from yilian.scheduling import service as scheduling_service

GUARDIAN_REGISTRARS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN})
CARD_SCANNERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN})
SCAN_PURPOSES = {"registration": "挂号", "booking": "预约", "exam": "检查检验", "payment": "缴费"}


def _key(settings: Settings, purpose: str) -> str:
    """One secret, a different key per use: a code hash can never verify a card and vice versa."""
    return rules.code_digest(purpose, "key", settings.secret_key)


# --- login ----------------------------------------------------------------------------------------


def do_send_code(
    session: Session, *, phone: str, now: datetime, settings: Settings, sender: SmsSender
) -> None:
    """Send a six-digit code (after commit). Sent whether or not a resident has this phone, so the
    answer does not tell a stranger who is registered."""
    phone = rules.check_mobile(phone)
    sent = list(
        session.scalars(
            select(OtpChallenge.created_at).where(
                OtpChallenge.phone == phone, OtpChallenge.created_at > now - rules.CODE_TTL * 12
            )
        )
    )
    rules.check_send_allowed(sent, now)
    code = f"{secrets.randbelow(10**rules.CODE_LENGTH):0{rules.CODE_LENGTH}d}"
    session.add(
        OtpChallenge(
            phone=phone,
            code_hash=rules.code_digest(phone, code, _key(settings, "otp")),
            created_at=now,
            expires_at=now + rules.CODE_TTL,
        )
    )
    session.flush()
    send_after_commit(session, sender, phone, f"【医联】您的登录验证码为{code}，5分钟内有效。请勿告诉他人。")


def _consume_code(session: Session, *, phone: str, code: str, now: datetime, settings: Settings) -> None:
    challenge = session.scalar(
        select(OtpChallenge)
        .where(OtpChallenge.phone == phone, OtpChallenge.consumed_at.is_(None), OtpChallenge.expires_at > now)
        .order_by(OtpChallenge.created_at.desc())
        .limit(1)
    )
    wrong = Unauthenticated("验证码错误或已过期", "Wrong or expired code")
    wrong.commit_anyway = True  # the attempt counts even though the request fails
    if challenge is None or challenge.attempts >= rules.MAX_ATTEMPTS:
        raise wrong
    challenge.attempts += 1
    if not secrets.compare_digest(
        challenge.code_hash, rules.code_digest(phone, code.strip(), _key(settings, "otp"))
    ):
        session.flush()
        raise wrong
    challenge.consumed_at = now
    session.flush()


def do_portal_login(
    session: Session, *, phone: str, code: str, id_number: str, now: datetime, settings: Settings
) -> LoginResult:
    """The code proves the phone; the ID number binds it to the resident registered with that phone."""
    phone = rules.check_mobile(phone)
    _consume_code(session, phone=phone, code=code, now=now, settings=settings)
    resident = session.scalar(
        select(Resident)
        .where(
            Resident.id_number == id_number.strip().upper(),
            Resident.phone == phone,
            Resident.status == "active",
        )
        .order_by(Resident.id)  # one person registered in two counties: the first record, until merged
        .limit(1)
    )
    if resident is None:
        error = Unauthenticated(
            "身份证号与该手机号登记的居民不符，请到签约机构核对手机号",
            "The ID number does not match the resident registered with this phone",
        )
        error.commit_anyway = True
        raise error
    user = session.scalar(
        select(User)
        .where(User.role == roles.RESIDENT, User.resident_id == resident.id, User.is_active)
        .limit(1)
    )
    if user is None:
        user = do_create_user(
            session,
            username=f"jm-{resident.health_card_no}"[:64],
            password="Pp1!" + secrets.token_urlsafe(24),  # never used: residents log in with codes
            role=roles.RESIDENT,
            now=now,
            display_name=resident.name,
            resident_id=resident.id,
            settings=settings,
        )
    return start_web_session(session, user=user, now=now)


# --- family members -------------------------------------------------------------------------------


def do_add_guardian(
    session: Session, *, actor: Actor, ward_id: int, guardian_id: int, relation: str, since: date
) -> Guardianship:
    """Recorded at the clinic, where the relation is checked against the 户口簿 or a court paper."""
    if not actor.subject.may(GUARDIAN_REGISTRARS):
        raise Forbidden("监护关系须由医疗机构核实登记", "Guardianship is registered by a clinic")
    if relation not in rules.RELATIONS:
        raise ValidationFailed.one(
            "relation", f"关系应为{'、'.join(rules.RELATIONS)}之一", "unknown relation"
        )
    if ward_id == guardian_id:
        raise ValidationFailed.one(
            "guardian_resident_id", "不能做自己的监护人", "a resident cannot guard themself"
        )
    ward = access_resident(session, actor, ward_id)
    guardian = session.get(Resident, guardian_id)
    if guardian is None or guardian.status != "active":
        raise ValidationFailed.one("guardian_resident_id", "监护人档案不存在", "no such guardian")
    link = Guardianship(
        guardian_resident_id=guardian.id,
        ward_resident_id=ward.id,
        relation=relation,
        since=since,
        registered_by=actor.subject.user_id,
        registered_at=actor.clock.now(),
    )
    session.add(link)
    session.flush()
    actor.record_change(
        session, action="create", entity="guardianship", entity_id=link.id, resident_id=ward.id
    )
    return link


def wards_of(session: Session, resident_id: int) -> list[tuple[Resident, str]]:
    return [
        (r, relation)
        for r, relation in session.execute(
            select(Resident, Guardianship.relation)
            .join(Guardianship, Guardianship.ward_resident_id == Resident.id)
            .where(Guardianship.guardian_resident_id == resident_id, Guardianship.until.is_(None))
            .order_by(Resident.birth_date.desc())
        )
    ]


def portal_person(session: Session, actor: Actor, resident_id: int | None) -> Resident:
    """The resident a portal page is about: the account's own, or a ward's (scoping decides)."""
    if actor.subject.role != roles.RESIDENT or actor.subject.resident_id is None:
        raise Forbidden("居民端仅供居民本人使用", "The residents' portal is for residents")
    return access_resident(session, actor, resident_id or actor.subject.resident_id)


# --- who looked at my record ---------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    at: datetime
    who: str
    role: str
    institution: str
    action: str
    what: str


ACTION_LABELS = {
    "read": "查看",
    "list": "列表中查看",
    "create": "新建",
    "update": "修改",
    "merge": "合并",
    "export": "导出",
    "import": "导入",
    "report": "出具报告",
    "scan": "扫码",
}


def accesses_of(
    session: Session, *, actor: Actor, resident_id: int, offset: int = 0, limit: int = 200
) -> tuple[int, list[Access]]:
    """Every audited read and change of the record by someone else, newest first, with the viewer's
    institution: (total, one page). The account's own reads (each page it opens) are left out: they
    would bury the few rows a resident looks for."""
    person = portal_person(session, actor, resident_id)
    others = or_(AuditLog.user_id.is_(None), AuditLog.user_id != actor.subject.user_id)
    statement = (
        select(
            AuditLog.at,
            AuditLog.username,
            AuditLog.role,
            AuditLog.action,
            AuditLog.entity,
            User.display_name,
            Institution.name,
        )
        .outerjoin(User, User.id == AuditLog.user_id)
        .outerjoin(Institution, Institution.id == User.institution_id)
        .where(AuditLog.resident_id == person.id, others)
    )
    total = session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.resident_id == person.id, others)
    )
    rows = session.execute(
        statement.order_by(AuditLog.at.desc(), AuditLog.id.desc()).offset(offset).limit(limit)
    ).all()
    return int(total or 0), [
        Access(
            at=at,
            who="本人" if username == actor.subject.username else (display or username),
            role=role,
            institution=institution or "",
            action=ACTION_LABELS.get(action, action),
            what=rules.entity_label(entity),
        )
        for at, username, role, action, entity, display, institution in rows
    ]


# --- the electronic health card -------------------------------------------------------------------


def current_card(session: Session, *, resident: Resident, now: datetime) -> HealthCardIssue:
    """The live card, issued on first use."""
    card = session.scalar(
        select(HealthCardIssue)
        .where(HealthCardIssue.resident_id == resident.id, HealthCardIssue.revoked_at.is_(None))
        .order_by(HealthCardIssue.version.desc())
        .limit(1)
    )
    if card is None:
        last = session.scalar(
            select(func.max(HealthCardIssue.version)).where(HealthCardIssue.resident_id == resident.id)
        )
        card = HealthCardIssue(resident_id=resident.id, version=(last or 0) + 1, issued_at=now)
        session.add(card)
        session.flush()
    return card


def card_payload(session: Session, *, resident: Resident, now: datetime, settings: Settings) -> str:
    card = current_card(session, resident=resident, now=now)
    claim = rules.CardClaim(resident.health_card_no, card.version, int(card.issued_at.timestamp()))
    return rules.sign_card(claim, _key(settings, "health-card"))


def do_revoke_card(session: Session, *, actor: Actor, resident_id: int, reason: str) -> HealthCardIssue:
    """Lost phone, stolen printout: the old code stops working; the next view issues a new one."""
    if actor.subject.role != roles.RESIDENT and not actor.subject.may(roles.RESIDENT_REGISTRARS):
        raise Forbidden()
    person = access_resident(session, actor, resident_id)
    card = current_card(session, resident=person, now=actor.clock.now())
    card.revoked_at, card.revoked_reason = actor.clock.now(), reason[:100]
    session.flush()
    actor.record_change(
        session, action="update", entity="health_card", entity_id=card.version, resident_id=person.id
    )
    return card


def do_scan_card(
    session: Session, *, actor: Actor, payload: str, purpose: str, settings: Settings
) -> Resident:
    """Staff scan a card: a genuine, live card opens its resident — if this member of staff may see them."""
    if not actor.subject.may(CARD_SCANNERS):
        raise Forbidden("当前角色不能扫描健康卡", "Your role cannot scan health cards")
    if purpose not in SCAN_PURPOSES:
        raise ValidationFailed.one("purpose", f"用途应为{'、'.join(SCAN_PURPOSES)}之一", "unknown purpose")
    claim = rules.read_card(payload, _key(settings, "health-card"))
    live = session.execute(
        select(Resident.id)
        .join(HealthCardIssue, HealthCardIssue.resident_id == Resident.id)
        .where(
            and_(
                Resident.health_card_no == claim.card_no,
                HealthCardIssue.version == claim.version,
                HealthCardIssue.revoked_at.is_(None),
            )
        )
    ).first()
    if live is None:
        raise AppError(
            "健康卡已作废，请居民在手机上刷新", "this health card was revoked; ask for the current one", 410
        )
    resident = access_resident(session, actor, live[0])
    actor.record_read(entity="health_card", resident_ids=[resident.id], action="scan", detail=purpose)
    return resident


def masked(resident: Resident) -> str:
    return mask_id_number(resident.id_number)


def qr_svg_data_url(payload: str) -> str:
    """The card's QR code as an SVG data URL (the page's CSP allows images from data: URLs)."""
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg: bytes = image.to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


# --- booking from the phone -----------------------------------------------------------------------


def booking_window_days(session: Session, *, resident: Resident, today: date) -> int:
    """How far ahead this resident may book by themself: further when signed or 65+ (scheduling.rules)."""
    signed = any(
        family_doctor_rules.in_force(c.start_on, c.end_on, c.ended_on, today)
        for c, _, _ in family_doctor_repository.contracts_of_resident(session, resident.id)
    )
    booker = scheduling_rules.Booker(
        via_grassroots=False, signed=signed, age=age_on(resident.birth_date, today)
    )
    return scheduling_rules.booking_window_days(booker)


def release_hours(session: Session, institution_ids: list[int], year: int) -> dict[int, int]:
    """Each institution's hours before a slot at which its unused reserved places turn public."""
    return {
        institution.id: scheduling_service.policy_for(session, institution, year).release_hours
        for institution in session.scalars(select(Institution).where(Institution.id.in_(institution_ids)))
    }
