"""Rules of the residents' portal, pure: phone numbers, one-time codes, and the signed payload of the
electronic health card's QR code (002 item 38: 电子健康卡)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from yilian.kit.errors import AppError, ValidationFailed
from yilian.kit.tokens import same_token

MOBILE = re.compile(r"^1[3-9]\d{9}$")
CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
SENDS_PER_HOUR = 5
RESEND_AFTER = timedelta(seconds=60)
RELATIONS = ("父母", "子女", "配偶", "其他监护人")
CARD_PREFIX = "YLHC1"


def check_mobile(phone: str) -> str:
    phone = phone.strip().replace(" ", "").removeprefix("+86")
    if not MOBILE.match(phone):
        raise ValidationFailed.one("phone", "请输入11位手机号码", "enter an 11-digit mainland mobile number")
    return phone


def code_digest(phone: str, code: str, secret: str) -> str:
    """Codes are stored as a keyed hash: a leaked table does not reveal live codes."""
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def check_send_allowed(sent_at: list[datetime], now: datetime) -> None:
    """At most one code a minute and five an hour per phone (an SMS costs money and can be abused)."""
    recent = [t for t in sent_at if now - t < timedelta(hours=1)]
    if recent and now - max(recent) < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - max(recent))).total_seconds()) + 1
        raise AppError(f"请{wait}秒后再获取验证码", f"wait {wait} s before asking for another code", 429)
    if len(recent) >= SENDS_PER_HOUR:
        raise AppError("验证码获取过于频繁，请一小时后再试", "too many codes; try again in an hour", 429)


# --- the health card's QR payload -----------------------------------------------------------------


@dataclass(frozen=True)
class CardClaim:
    card_no: str
    version: int
    issued: int  # unix seconds


class ForgedCard(AppError):
    def __init__(self) -> None:
        super().__init__(
            "健康卡二维码无效（无法验证或已被篡改）", "invalid health card QR code (forged or damaged)", 400
        )


def _signature(body: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign_card(claim: CardClaim, secret: str) -> str:
    """`YLHC1.<card no>.<version>.<issued>.<signature>`: short enough for a small QR code."""
    body = f"{CARD_PREFIX}.{claim.card_no}.{claim.version}.{claim.issued}"
    return f"{body}.{_signature(body, secret)}"


def read_card(payload: str, secret: str) -> CardClaim:
    """The claim of a scanned code whose signature is ours; anything else is a forgery."""
    parts = payload.strip().split(".")
    if len(parts) != 5 or parts[0] != CARD_PREFIX or not parts[2].isdigit() or not parts[3].isdigit():
        raise ForgedCard()
    body = ".".join(parts[:4])
    if not same_token(_signature(body, secret), parts[4]):
        raise ForgedCard()
    return CardClaim(card_no=parts[1], version=int(parts[2]), issued=int(parts[3]))


# --- words the phone pages show instead of codes ---------------------------------------------------

BOOKING_STATUS = {"booked": "待就诊", "checked_in": "已到诊", "no_show": "爽约", "cancelled": "已取消"}
# What an audit row was about, in the resident's words ("who looked at my record").
ENTITY_LABELS = {
    "resident": "个人基本信息",
    "record": "健康档案",
    "booking": "预约挂号",
    "health_card": "电子健康卡",
    "guardianship": "家庭成员关系",
    "encounter": "就诊记录",
    "referral": "转诊",
    "exam_order": "检查检验",
    "imaging_study": "影像检查",
    "critical_alert": "危急值",
    "chronic_visit": "慢病随访",
    "prescription": "处方",
    "contract": "家庭医生签约",
    "teleconsult": "远程会诊",
    "claim": "医保结算",
    "recognition_item": "检查结果互认",
}
DISEASES = {"hypertension": "高血压", "diabetes": "糖尿病", "hyperlipidaemia": "高血脂"}
COLOURS = {"green": "绿标（控制良好）", "yellow": "黄标（需关注）", "red": "红标（需尽快随访）"}


# A guardianship names the guardian's relation to the ward ("父母": the guardian is a parent); the
# phone pages name the family member as the account sees them ("子女": my child).
WARD_SEEN_AS = {"父母": "子女", "子女": "父母", "配偶": "配偶", "其他监护人": "被监护人"}


def ward_seen_as(relation: str) -> str:
    return WARD_SEEN_AS.get(relation, "家人")


def entity_label(entity: str) -> str:
    return ENTITY_LABELS.get(entity, "健康档案")
