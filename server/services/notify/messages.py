"""What each mail says: Chinese first, then English, in subject and body alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SIGNATURE = "\n\n—— 蓝天巡检 Lantian Inspect（系统邮件，请勿回复 / automatic mail, do not reply）"


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def _text(subject_zh: str, subject_en: str, zh: str, en: str) -> Text:
    return Text(f"【蓝天巡检】{subject_zh} / {subject_en}", f"{zh}\n\n{en}{SIGNATURE}")


def notice_issued(number: str, enterprise: str, deadline: date, count: int, link: str) -> Text:
    return _text(
        f"整改通知书 {number}",
        f"Rectification notice {number}",
        f"{enterprise}：\n经现场检查，你单位存在 {count} 项问题，整改通知书 {number} 见附件。"
        f"请于 {deadline.isoformat()} 前逐项整改，并在企业端逐项答复：{link}",
        f"{count} finding(s) were recorded at your sites; notice {number} is attached. Rectify "
        f"each by {deadline.isoformat()} and answer each one in the enterprise portal: {link}",
    )


def deadline_soon(number: str, due: date, count: int, link: str) -> Text:
    return _text(
        f"整改期限将至：{number}（{due.isoformat()}）",
        f"Deadline approaching: {number} ({due.isoformat()})",
        f"整改通知书 {number} 尚有 {count} 项问题未答复，期限为 {due.isoformat()}。"
        f"请尽快整改并答复：{link}",
        f"{count} finding(s) of notice {number} still wait for your answer, due "
        f"{due.isoformat()}. Please rectify and answer: {link}",
    )


def overdue(number: str, due: date, count: int, link: str) -> Text:
    return _text(
        f"整改已逾期：{number}",
        f"Rectification overdue: {number}",
        f"整改通知书 {number} 有 {count} 项问题已超过整改期限（{due.isoformat()}）仍未答复。"
        f"请立即整改并答复：{link}",
        f"{count} finding(s) of notice {number} are past their deadline ({due.isoformat()}) "
        f"without an answer. Rectify and answer now: {link}",
    )


def answer_reopened(number: str, item: str, comment: str, link: str) -> Text:
    return _text(
        f"整改答复被退回：{number} {item}",
        f"Answer reopened: {number} {item}",
        f"你单位对整改通知书 {number} 第 {item} 项的答复未通过核验：{comment}\n"
        f"请补充整改后重新答复：{link}",
        f"Your answer to item {item} of notice {number} was not accepted: {comment}\n"
        f"Rectify further and answer again: {link}",
    )


def answer_waiting(number: str, item: str, enterprise: str, link: str) -> Text:
    return _text(
        f"待核验：{enterprise} 已答复 {number} {item}",
        f"Awaiting verification: {enterprise} answered {number} {item}",
        f"{enterprise} 已答复整改通知书 {number} 第 {item} 项，请核验后销号或退回：{link}",
        f"{enterprise} answered item {item} of notice {number}. Verify it, then close or "
        f"reopen it: {link}",
    )


def inspection_returned(site: str, revision: int, comment: str) -> Text:
    return _text(
        f"检查被退回：{site}",
        f"Inspection returned: {site}",
        f"你在 {site} 的检查（第{revision}版）被退回：{comment}\n请在现场端修改后重新提交。",
        f"Your inspection of {site} (revision {revision}) was returned: {comment}\n"
        "Amend it in the field app and submit it again.",
    )


def task_created(title: str, due: date, link: str) -> Text:
    return _text(
        f"新检查任务：{title}",
        f"New inspection task: {title}",
        f"你有一项新检查任务：{title}，应于 {due.isoformat()} 前完成。{link}",
        f"You have a new inspection task: {title}, due {due.isoformat()}. {link}",
    )


def task_overdue(title: str, due: date, link: str) -> Text:
    return _text(
        f"检查任务逾期：{title}",
        f"Inspection task overdue: {title}",
        f"检查任务 {title} 已超过期限（{due.isoformat()}）尚未完成。{link}",
        f"The inspection task {title} is past its due date ({due.isoformat()}) and not "
        f"done. {link}",
    )
