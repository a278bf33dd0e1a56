"""Every ORM table, one module per aggregate. Importing this package registers them all."""

from yilian.models.audit import AuditLog
from yilian.models.chronic import (
    ChronicRegister,
    ChronicVisit,
    Drug,
    Prescription,
    PrescriptionItem,
    RiskAssessment,
    RiskRuleSet,
)
from yilian.models.consortium import Consortium, ConsortiumMember, Grid
from yilian.models.encounter import Encounter, EncounterDiagnosis, EncounterProcedure, VisitSummary
from yilian.models.evaluation import (
    ConductOffence,
    ConductPolicy,
    ConductRecord,
    EnteredFigure,
    EvaluationResult,
    EvaluationUnit,
    ReformTask,
    ScoreEntry,
    ScoringScheme,
    TaskList,
    TaskProgress,
    TaskUnitMember,
    YellowCard,
)
from yilian.models.family_doctor import (
    Contract,
    FamilyDoctorTeam,
    FeeRule,
    ServicePackage,
    TeamGrid,
    TeamMember,
)
from yilian.models.institution import AdminDivision, Department, Institution
from yilian.models.insurance import Claim, ClaimSummary, DrgGrouping, DrgStandard, Settlement
from yilian.models.referral import FollowUpTask, Referral, ReferralEvent
from yilian.models.resident import Household, Resident, ResidentMerge
from yilian.models.scheduling import Booking, BookingEvent, BookingPolicy, Schedule, Slot
from yilian.models.staff import Posting, Staff
from yilian.models.user import ApiToken, User, UserGrid, WebSession

__all__ = [
    "ConductOffence",
    "ConductPolicy",
    "ConductRecord",
    "EnteredFigure",
    "EvaluationResult",
    "EvaluationUnit",
    "ReformTask",
    "ScoreEntry",
    "ScoringScheme",
    "TaskList",
    "TaskProgress",
    "TaskUnitMember",
    "YellowCard",
    "Claim",
    "ClaimSummary",
    "DrgGrouping",
    "DrgStandard",
    "EncounterProcedure",
    "Settlement",
    "Booking",
    "BookingEvent",
    "BookingPolicy",
    "FollowUpTask",
    "Referral",
    "ReferralEvent",
    "Schedule",
    "Slot",
    "ChronicRegister",
    "ChronicVisit",
    "Contract",
    "Drug",
    "FamilyDoctorTeam",
    "FeeRule",
    "Prescription",
    "PrescriptionItem",
    "RiskAssessment",
    "RiskRuleSet",
    "ServicePackage",
    "TeamGrid",
    "TeamMember",
    "AdminDivision",
    "ApiToken",
    "AuditLog",
    "Consortium",
    "ConsortiumMember",
    "Department",
    "Encounter",
    "EncounterDiagnosis",
    "Grid",
    "Household",
    "Institution",
    "Posting",
    "Resident",
    "ResidentMerge",
    "Staff",
    "User",
    "UserGrid",
    "VisitSummary",
    "WebSession",
]
