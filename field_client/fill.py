"""`lantian-field fill`: walk a checklist item by item in the terminal.

Each item shows its text, how to check it, and the plan's own words it rests on, wrapped to
the terminal's width (never cut); the verdict appears as soon as the answer is given, then a
note and photos may be added. Items whose condition is not met are skipped, and answered
items are passed over, so leaving with `q` (at any prompt) and coming back resumes where one
was. A returned inspection opens with the supervisor's comment.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from rich.console import Console
from rich.panel import Panel

import checklists as rules
from field_client import capture
from field_client.errors import FieldError
from field_client.store import Store

CHECK_CHOICES = ("compliant", "non_compliant", "not_applicable")
QUIT = "q"
LEFT = "已保存，可随时继续 / saved; run fill again to resume"


def _say(console: Console, renderable: object) -> None:
    """Print wrapped to the terminal: the CLI's console never breaks lines (soft_wrap), which
    would cut panel lines and long quotes at the edge."""
    console.print(renderable, soft_wrap=False)


def _allowed(item: rules.Item, limit: rules.Limit | None) -> tuple[str, list[str]]:
    """A line describing the allowed answers, and the values numbered shortcuts stand for."""
    if item.answer_type is rules.AnswerType.CHECK:
        return "1 符合 compliant · 2 不符合 non-compliant · 3 不适用 n/a", list(CHECK_CHOICES)
    if item.answer_type is rules.AnswerType.CHOICE:
        values = [option.value for option in item.options]
        line = " · ".join(f"{i + 1} {o.label.zh} {o.label.en}" for i, o in enumerate(item.options))
        return line, values
    if item.answer_type is rules.AnswerType.NUMBER:
        bounds = []
        if limit is not None:
            sources = rules.load_sources()
            for word, bound in (("≤", limit.max), ("≥", limit.min), (">", limit.above)):
                if bound is not None:
                    bounds.append(f"{word} {bound:g}")
            bounds.append(f"({sources[limit.source].number})")
        return f"数字 number in {item.unit} {' '.join(bounds)}".strip(), []
    return "文本 / text", []


def _panel(
    item: rules.Item, ctx: capture.Context, current: object, bases: tuple[rules.Basis, ...]
) -> Panel:
    sources = rules.load_sources()
    lines = [f"[bold]{item.text.zh}[/bold]", item.text.en]
    if item.guidance:
        lines += ["", f"[dim]{item.guidance.zh}[/dim]"]
    lines.append("")
    for basis in bases:  # only the quotes of plans governing this site today
        source = sources[basis.source]
        lines.append(f"[cyan]{source.number} {basis.clause}[/cyan]：“{basis.quote}”")
    if current is not None:
        lines += ["", f"当前答案 / current answer: {current}"]
    return Panel("\n".join(lines), title=f"{item.code} · {item.severity.value}", expand=False)


def run_fill(store: Store, uuid: str, console: Console, review_all: bool = False) -> None:
    """Ask every applicable item in turn; `q` leaves, Enter skips, answers are saved at once."""
    row = capture.editable(store, uuid)
    if row["review_comment"] and row["state"] == "returned":
        _say(
            console,
            f"[yellow]退回意见 / returned by the supervisor: {row['review_comment']}[/yellow]",
        )
    ctx = capture.context(store, row)
    for item in ctx.checklist.items:
        _, results = capture.results(store, uuid)
        result = results[item.code]
        answers = store.answers(uuid)
        if result.applicable is False:
            continue
        if item.code in answers and not review_all:
            continue
        allowed, shortcuts = _allowed(item, result.limit)
        _say(console, _panel(item, ctx, answers.get(item.code, (None, ""))[0], result.bases))
        _say(console, f"可选 / allowed: {allowed}")
        while True:
            raw = click.prompt(
                "答案 / answer (Enter 跳过 skip, q 退出 quit)", default="", show_default=False
            )
            if raw.strip().lower() == QUIT:
                console.print(LEFT)
                return
            if not raw.strip():
                break
            if raw.strip().isdigit() and shortcuts and 1 <= int(raw) <= len(shortcuts):
                raw = shortcuts[int(raw) - 1]
            try:
                verdict = capture.answer(store, uuid, item.code, raw)
            except FieldError as error:
                console.print(f"[red]{error}[/red]")
                continue
            console.print(f"→ {capture.VERDICT_LABELS[verdict]}")
            if not _ask_note(store, uuid, item, raw, answers.get(item.code, (None, ""))[1]):
                console.print(LEFT)
                return
            if not _ask_photos(store, uuid, item, console):
                console.print(LEFT)
                return
            break
    gaps = capture.missing(store, uuid)
    if gaps:
        console.print("[yellow]尚缺 / still missing:[/yellow]")
        for gap in gaps:
            console.print(f"  {gap.code}: {gap.reason}")
    else:
        console.print("全部完成，可执行 finish / complete: run `lantian-field finish`")


def _ask_note(store: Store, uuid: str, item: rules.Item, raw: str, current: str) -> bool:
    """Ask for a note on the answer just given (Enter keeps what is there); False on `q`."""
    note = click.prompt(
        "备注 / note (Enter 跳过 skip, q 退出 quit)", default=current or "", show_default=False
    )
    if note.strip().lower() == QUIT:
        return False
    if note.strip() != (current or "").strip():
        capture.answer(store, uuid, item.code, raw, note.strip())
    return True


def _ask_photos(store: Store, uuid: str, item: rules.Item, console: Console) -> bool:
    """Ask for photos while the item still needs them; False when the inspector leaves."""
    while any(gap.code == item.code for gap in capture.missing(store, uuid)):
        raw = click.prompt(
            "照片路径 / photo path(s) (Enter 稍后 later, q 退出 quit)",
            default="",
            show_default=False,
        )
        if not raw.strip():
            return True
        if raw.strip().lower() == QUIT:
            return False
        try:
            hashes = capture.attach_photos(
                store, uuid, item.code, [Path(p).expanduser() for p in shlex.split(raw)]
            )
        except FieldError as error:
            console.print(f"[red]{error}[/red]")
            continue
        console.print(f"已添加 {len(hashes)} 张照片 / attached {len(hashes)} photo(s)")
    return True
