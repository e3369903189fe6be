"""One table for every benchmark, and bench/RESULTS.md written with the machine it ran on.

Each benchmark returns `Row`s (ours against what it is compared with, medians over
rounds run in alternation) and notes; `make bench` prints the table and writes the whole
file, so the numbers in it always come from one run on one machine.
"""

from __future__ import annotations

import math
import os
import platform
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"


@dataclass
class Row:
    """One comparison: our median against the other's, and whether the target is met.

    `ratio` is expressed so that the target reads naturally: for throughput it is ours /
    theirs (≥ is good), for times it is ours / theirs too (≤ is good); `higher_is_better`
    says which way the target points.
    """

    benchmark: str
    ours_label: str
    ours: list[float]
    other_label: str = ""
    other: list[float] = field(default_factory=list)
    unit: str = ""
    target: float | None = None
    higher_is_better: bool = True
    digits: int = 0
    note: str = ""

    @staticmethod
    def _median(values: list[float]) -> float:
        ordered = sorted(values)
        if not ordered:
            return math.nan
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2

    @property
    def ratio(self) -> float | None:
        if not self.other:
            return None
        theirs = self._median(self.other)
        return self._median(self.ours) / theirs if theirs else None

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def cell(self, values: list[float]) -> str:
        if not values:
            return "–"
        median = self._median(values)
        if len(values) == 1:
            return f"{median:.{self.digits}f}"
        return (
            f"{median:.{self.digits}f} ({min(values):.{self.digits}f}–"
            f"{max(values):.{self.digits}f})"
        )

    def markdown(self) -> str:
        ratio = "–" if self.ratio is None else f"{self.ratio:.2f}×"
        if self.target is None:
            target = "–"
        else:
            target = f"{'≥' if self.higher_is_better else '≤'} {self.target:g}×"
        met = {None: "", True: "yes", False: "**no**"}[self.met]
        return (
            f"| {self.benchmark} | {self.unit} | {self.ours_label}: {self.cell(self.ours)} | "
            f"{self.other_label or '–'}: {self.cell(self.other)} | {ratio} | {target} | {met} |"
        )


HEADER = (
    "| benchmark | unit | ours: median (min–max) | compared with: median (min–max) "
    "| ratio ours/theirs | target | met |\n|---|---|---|---|---|---|---|"
)


def table(rows: list[Row]) -> str:
    return HEADER + "\n" + "\n".join(row.markdown() for row in rows)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return "unknown memory"


def machine() -> str:
    """One line: processor, cores, memory, OS, Python and the libraries that matter."""
    libraries = ", ".join(
        f"{name} {_version(name)}"
        for name in (
            "Flask",
            "flask-smorest",
            "Flask-SQLAlchemy",
            "SQLAlchemy",
            "psycopg",
            "gunicorn",
            "httpx",
            "Pillow",
        )
    )
    return (
        f"{cpu()}, {os.cpu_count()} cores, {memory_gib()}; {platform.platform()}; "
        f"Python {platform.python_version()}; {libraries}"
    )


def write_results(rows: list[Row], sections: list[tuple[str, str]], context: list[str]) -> None:
    """Write bench/RESULTS.md whole: the table, where it ran, then each benchmark's notes."""
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    parts = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({when}); every number below comes from that one run.",
        "Ratios are ours / theirs of the medians; each pair ran in the same run, alternating,",
        "over several rounds. Targets are reported here, never asserted in tests.",
        "",
        table(rows),
        "",
        "## Where it ran",
        "",
        f"- {machine()}",
        *[f"- {line}" for line in context],
        "",
    ]
    for title, body in sections:
        parts += [f"## {title}", "", body.strip(), ""]
    parts += _kept_sections()
    RESULTS.write_text("\n".join(parts).rstrip() + "\n", encoding="utf-8")


# Sections written by benchmarks that run on their own (`make load`), kept by `make bench`.
KEPT_SECTIONS = ("Load test",)


def _kept_sections() -> list[str]:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    kept = []
    for title in KEPT_SECTIONS:
        found = re.search(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", text, re.S | re.M)
        if found:
            kept += [found.group(0).strip(), ""]
    return kept


def write_section(title: str, body: str) -> None:
    """Replace the section `## title` (or add it), keeping the others: for a benchmark run
    on its own, outside `make bench`."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    section = f"## {title}\n\n{body.strip()}\n\n_Machine: {machine()}_\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")
