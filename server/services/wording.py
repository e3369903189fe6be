"""How states are named to people: Chinese first, with English."""

from __future__ import annotations

from checklists import AnswerType, Item, Verdict
from checklists.model import SEVERITY_LABELS
from server.models import FindingStatus, InspectionStatus, TaskReason, TaskStatus

FINDING_STATUS = {
    FindingStatus.OPEN: "待下发 / open",
    FindingStatus.NOTIFIED: "待整改 / notified",
    FindingStatus.ANSWERED: "待核验 / answered",
    FindingStatus.CLOSED: "已销号 / closed",
    FindingStatus.REOPENED: "退回重改 / reopened",
    FindingStatus.WITHDRAWN: "已撤销 / withdrawn",
}
INSPECTION_STATUS = {
    InspectionStatus.SUBMITTED: "待审核 / submitted",
    InspectionStatus.APPROVED: "已通过 / approved",
    InspectionStatus.RETURNED: "已退回 / returned",
}
VERDICT = {
    Verdict.COMPLIANT: "符合 / compliant",
    Verdict.NON_COMPLIANT: "不符合 / non-compliant",
    Verdict.NOT_APPLICABLE: "不适用 / not applicable",
    Verdict.UNANSWERED: "未答 / unanswered",
    Verdict.DUE: "限期内未达要求（非违规）/ due: the plan's deadline has not passed",
    Verdict.OBSERVATION: "建议（倡导性要求）/ observation: the plans only encourage this",
    Verdict.RECORDED: "已记录（无现行限值）/ recorded: no limit in force here",
}
OBLIGATION = {
    "mandatory": "强制 / mandatory",
    "due": "限期 / due by the plan's deadline",
    "advisory": "倡导 / encouraged: advice only",
}
SEVERITY = dict(SEVERITY_LABELS)
TASK_REASON = {
    TaskReason.PLANNED: "计划检查 / planned",
    TaskReason.DOUBLE_RANDOM: "双随机 / random draw",
    TaskReason.CLUE: "线索 / clue",
    TaskReason.REINSPECTION: "复查 / re-inspection",
    TaskReason.ALERT: "预警 / alert",
}
TASK_STATUS = {
    TaskStatus.OPEN: "进行中 / open",
    TaskStatus.FULFILLED: "已完成 / fulfilled",
    TaskStatus.CANCELLED: "已取消 / cancelled",
}


def label(kind: dict, value: str | None) -> str:
    """The label of a state, or the raw value when it has none."""
    if value is None:
        return ""
    return kind.get(value, value)  # StrEnum keys hash and compare as their strings


def answer_text(item: Item, value: object) -> str:
    """An answer as the inspector saw it: the option's label, yes/no, or the number."""
    if value is None:
        return "—"
    for option in item.options:
        if option.value == value:
            return f"{option.label.zh} / {option.label.en}"
    if item.answer_type == AnswerType.CHECK:
        return label(VERDICT, str(value))
    if isinstance(value, bool):
        return "是 / yes" if value else "否 / no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} {item.unit}" if item.unit else str(value)
