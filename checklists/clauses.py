"""Locate the clauses of a plan text, so a citation can be held to the clause it names.

The plans were extracted from PDFs: line breaks fall anywhere, headings can be split over
several lines and whitespace is damaged. Headings are therefore found at line starts with
whitespace allowed between their characters, and a heading is only accepted when it is the
next one in its numbering sequence (一、 after nothing, 二、 after 一、; （二） after （一）;
task 9 after task 8). A stray "一、" in a repeated copy of the text, or a line that starts with
"3." inside a sentence, is then never mistaken for a heading.

Two clause syntaxes (whitespace ignored, ASCII or full-width parentheses):

- Numbered: ``三、（二）8`` = section 三, sub-section （二）, task 8; ``二、（四）18``; ``二、1``
  when a section has tasks without sub-sections. Only a leaf (a heading with no numbered
  heading under it) may be cited, so a citation is never wider than the plan's own structure.
- Lead phrase: ``三、严防散煤复烧`` = the paragraph of section 三 whose text begins with the
  lead phrase "严防散煤复烧", up to its first 。，；or：. Allowed only in sections without
  numbered headings: 高平 004 lost its sub-headings in extraction, and its paragraphs are told
  apart by their opening words. The phrase must equal a paragraph's lead exactly and match one
  paragraph only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from checklists.sources import SOURCES_DIR, squeeze

_NUMERALS = "零一二三四五六七八九"
_CN = "[一二三四五六七八九十]+"
# Headings at a line start, optionally after Markdown "#" marks; \s inside allows line breaks.
_SECTION = re.compile(rf"^[ \t#]*(?P<n>{_CN})\s*、", re.MULTILINE)
_SUBSECTION = re.compile(
    r"^[ \t#]*[（(]\s*(?P<n>"
    + r"[一二三四五六七八九十](?:\s*[一二三四五六七八九十])*"
    + r")\s*[)）]",
    re.MULTILINE,
)
_TASK = re.compile(r"^[ \t#]*(?P<n>\d{1,2})\s*[.．](?!\s*\d)", re.MULTILINE)

_NUMBERED_CLAUSE = re.compile(rf"^(?P<s>{_CN})、(?:（(?P<sub>{_CN})）)?(?P<task>\d+)?$")
_LEAD_CLAUSE = re.compile(rf"^(?P<s>{_CN})、(?P<lead>.+)$")
_LEAD_END = re.compile("[。，；：]")

# A line of a lead-phrase section closes its paragraph when it closes the plan's
# responsibility note (〔责任单位：…〕) or ends a sentence well short of a full line.
_SHORT_LINE = 20


class ClauseError(ValueError):
    """A clause string that names no clause, or more than one."""


def chinese_number(text: str) -> int:
    """一 → 1, 十 → 10, 十七 → 17, 二十三 → 23 (headings never go beyond 99)."""
    text = squeeze(text)
    if "十" in text:
        tens, _, units = text.partition("十")
        return (_NUMERALS.index(tens) if tens else 1) * 10 + (
            _NUMERALS.index(units) if units else 0
        )
    return _NUMERALS.index(text)


def chinese_numeral(number: int) -> str:
    """The inverse of chinese_number, for labels: 17 → 十七."""
    tens, units = divmod(number, 10)
    if not tens:
        return _NUMERALS[units]
    return ("" if tens == 1 else _NUMERALS[tens]) + "十" + (_NUMERALS[units] if units else "")


@dataclass(frozen=True)
class Span:
    """One clause: its label, where it lies in the raw text, and its squeezed text."""

    label: str
    start: int
    end: int
    text: str


@dataclass
class Outline:
    """The clauses of one plan: numbered leaves, and paragraphs of unnumbered sections."""

    leaves: dict[str, Span] = field(default_factory=dict)
    branches: set[str] = field(default_factory=set)
    paragraphs: dict[str, list[tuple[str, Span]]] = field(default_factory=dict)

    def locate(self, clause: str) -> Span:
        """The one span `clause` names; ClauseError when it names none or several."""
        wanted = squeeze(clause).replace("(", "（").replace(")", "）")
        numbered = _NUMBERED_CLAUSE.match(wanted)
        if numbered and (numbered["sub"] or numbered["task"]):
            label = _label(
                chinese_number(numbered["s"]),
                chinese_number(numbered["sub"]) if numbered["sub"] else None,
                int(numbered["task"]) if numbered["task"] else None,
            )
            if label in self.leaves:
                return self.leaves[label]
            if label in self.branches:
                raise ClauseError(f"{clause} has numbered sub-clauses: cite one of them")
            raise ClauseError(f"no clause {clause} in this plan")
        lead = _LEAD_CLAUSE.match(wanted)
        if not lead:
            raise ClauseError(f"{clause} is neither 一、（一）1 nor 一、lead phrase")
        section = f"{lead['s']}、"
        if section not in self.paragraphs:
            if section in self.branches:
                raise ClauseError(f"section {section} has numbered headings: cite them")
            raise ClauseError(f"no section {section} in this plan")
        found = [span for phrase, span in self.paragraphs[section] if phrase == lead["lead"]]
        if not found:
            raise ClauseError(f"no paragraph of {section} begins with {lead['lead']}")
        if len(found) > 1:
            raise ClauseError(f"{len(found)} paragraphs of {section} begin with {lead['lead']}")
        return found[0]


def _label(section: int, sub: int | None, task: int | None) -> str:
    label = f"{chinese_numeral(section)}、"
    if sub is not None:
        label += f"（{chinese_numeral(sub)}）"
    if task is not None:
        label += str(task)
    return label


@dataclass(frozen=True)
class _Heading:
    level: int  # 1 section, 2 sub-section, 3 task
    number: int
    start: int


def _candidates(text: str) -> list[_Heading]:
    found = [
        _Heading(level, chinese_number(m["n"]) if level < 3 else int(m["n"]), m.start())
        for level, pattern in ((1, _SECTION), (2, _SUBSECTION), (3, _TASK))
        for m in pattern.finditer(text)
    ]
    return sorted(found, key=lambda heading: heading.start)


def _accepted(text: str) -> tuple[list[tuple[str, _Heading]], int]:
    """Headings that continue their numbering, with labels; and where clause text ends.

    A section number that goes backwards (a repeated copy of the text after the end, as in
    003) ends the citable text.
    """
    section = sub = task = 0
    restart_allowed = False
    accepted: list[tuple[str, _Heading]] = []
    for heading in _candidates(text):
        if heading.level == 1:
            if heading.number == section + 1:
                section, sub, task, restart_allowed = heading.number, 0, 0, True
            elif section and heading.number <= section:
                return accepted, heading.start
            else:
                continue
        elif heading.level == 2:
            if not section or heading.number != sub + 1:
                continue
            sub, restart_allowed = heading.number, True
        else:
            if not section or not (
                heading.number == task + 1 or (heading.number == 1 and restart_allowed)
            ):
                continue
            task, restart_allowed = heading.number, False
        label = _label(
            section,
            sub or None if heading.level >= 2 else None,
            task if heading.level == 3 else None,
        )
        accepted.append((label, heading))
    return accepted, len(text)


def outline(text: str) -> Outline:
    """Parse a plan's raw text into its clauses."""
    result = Outline()
    headings, text_end = _accepted(text)
    for index, (label, heading) in enumerate(headings):
        end = text_end
        for _, later in headings[index + 1 :]:
            if later.level <= heading.level:
                end = later.start
                break
        span = Span(label, heading.start, end, squeeze(text[heading.start : end]))
        has_children = index + 1 < len(headings) and headings[index + 1][1].level > heading.level
        if has_children:
            result.branches.add(label)
        else:
            result.leaves[label] = span
            if heading.level == 1:
                result.paragraphs[label] = _paragraphs(text, span)
    return result


def _paragraphs(text: str, section: Span) -> list[tuple[str, Span]]:
    """The paragraphs of an unnumbered section, each with its lead phrase."""
    line_end = text.find("\n", section.start, section.end)
    body_start = section.end if line_end < 0 else line_end + 1
    paragraphs: list[tuple[str, Span]] = []
    start = position = body_start
    for line in text[body_start : section.end].splitlines(keepends=True):
        position += len(line)
        squeezed = squeeze(line)
        body = squeeze(text[start:position])
        # The note's opening may itself be split over lines ("〔责任单" / "位：…〕").
        closes_note = squeezed.endswith("〕") and body[body.rfind("〔") :].startswith("〔责任单位")
        if body and (closes_note or (squeezed.endswith("。") and len(squeezed) < _SHORT_LINE)):
            paragraphs.append(_paragraph(text, section.label, start, position))
            start = position
    if squeeze(text[start : section.end]):
        paragraphs.append(_paragraph(text, section.label, start, section.end))
    return paragraphs


def _paragraph(text: str, section: str, start: int, end: int) -> tuple[str, Span]:
    body = squeeze(text[start:end])
    lead = _LEAD_END.split(body, maxsplit=1)[0]
    return lead, Span(f"{section}{lead}", start, end, body)


@cache
def plan_outline(file: str, directory: Path = SOURCES_DIR) -> Outline:
    """The outline of one plan file (cached: the texts are pinned and never change at run time)."""
    return outline((directory / file).read_text(encoding="utf-8"))
