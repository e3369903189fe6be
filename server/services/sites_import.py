"""Import a registry of enterprises and sites from CSV: all rows or none.

Every row is checked first and every bad row is reported by its line number; only a
file without a single bad row is written, in one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from checklists import SITE_KINDS
from server.extensions import db
from server.services import audit, law
from server.services.credit_code import credit_code_problem
from server.services.errors import ErrorCode, Invalid
from server.services.registry import save_enterprise, save_site

COLUMNS = (
    "credit_code",
    "enterprise_name",
    "city",
    "district",
    "industry",
    "contact_name",
    "contact_phone",
    "site_code",
    "site_name",
    "site_kind",
    "address",
    "lat",
    "lon",
    "radius_m",
    "district_code",  # optional: GB/T 2260 code of the site's district (or township)
)
REQUIRED = ("credit_code", "enterprise_name", "city", "site_code", "site_name", "site_kind")


@dataclass
class ImportReport:
    enterprises: int = 0
    sites: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 as saved by Chinese Excel."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _number(raw: str, name: str, low: float, high: float, problems: list[str]) -> float | None:
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} 不是数字 / {name} is not a number: {raw!r}")
        return None
    if not low <= value <= high:
        problems.append(f"{name} 超出范围 / {name} out of range [{low}, {high}]: {raw}")
    return value


def district_code_problem(code: str, city_code: str) -> str | None:
    """A district (or township) code must lie inside the row's city (GB/T 2260 prefixes)."""
    if not code.isdigit() or not 6 <= len(code) <= 12:
        return f"district_code 须为6至12位数字 / district_code must be 6–12 digits: {code!r}"
    # A prefecture-level city (140600) holds the codes 1406xx…; a county-level city (140581)
    # holds itself and the townships below it.
    prefix = city_code[:4] if city_code.endswith("00") else city_code
    if not code.startswith(prefix):
        return f"district_code {code} 不属于城市 {city_code} / is not inside city {city_code}"
    return None


def _check_row(row: dict[str, str]) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    problems = [f"缺少 {name} / {name} is required" for name in REQUIRED if not row.get(name)]
    code = row.get("credit_code", "").upper()
    if code:
        problem = credit_code_problem(code)
        if problem:
            problems.append(f"统一社会信用代码 {code}: {problem}")
    kind = row.get("site_kind", "")
    if kind and kind not in SITE_KINDS:
        problems.append(
            f"未知场所类型 / unknown site_kind {kind!r}; known: {', '.join(SITE_KINDS)}"
        )
    lat = _number(row.get("lat", ""), "lat", -90, 90, problems)
    lon = _number(row.get("lon", ""), "lon", -180, 180, problems)
    if (lat is None) != (lon is None):
        problems.append("lat 与 lon 须同时填写 / give both lat and lon or neither")
    radius = _number(row.get("radius_m", ""), "radius_m", 1, 50_000, problems)
    city = law.governance().city(row.get("city", "")) if row.get("city") else None
    if row.get("city") and city is None:
        known = ", ".join(f"{c.name} {c.code}" for c in law.governance().cities)
        problems.append(f"未知城市 / unknown city {row['city']!r}; known: {known}")
    district_code = row.get("district_code", "")
    if district_code and city is not None:
        problem = district_code_problem(district_code, city.code)
        if problem:
            problems.append(problem)
    enterprise = {
        "credit_code": code,
        "name": row.get("enterprise_name", ""),
        "city": row.get("city", ""),
        "district": row.get("district", ""),
        "industry": row.get("industry", ""),
        "contact_name": row.get("contact_name", ""),
        "contact_phone": row.get("contact_phone", ""),
    }
    site = {
        "code": row.get("site_code", ""),
        "name": row.get("site_name", ""),
        "kind": kind,
        "address": row.get("address", ""),
        "lat": lat,
        "lon": lon,
        "radius_m": radius if radius is not None else 300.0,
        "active": True,
        "district_code": district_code,
    }
    return problems, enterprise, site


def import_sites(data: bytes) -> ImportReport:
    """Check every row, then import all of them or none; Invalid lists the bad lines."""
    reader = csv.DictReader(io.StringIO(decode_csv(data)))
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise Invalid(
            ErrorCode.REGISTRY_INVALID,
            f"表头缺少列 / header lacks columns: {', '.join(missing)}",
            {"header": [f"expected columns: {', '.join(COLUMNS)}"]},
        )
    report = ImportReport()
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    names: dict[str, tuple[str, int]] = {}
    site_lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        clean = {key: (value or "").strip() for key, value in row.items() if key}
        problems, enterprise, site = _check_row(clean)
        code = enterprise["credit_code"]
        if code in names and names[code][0] != enterprise["name"]:
            problems.append(
                f"同一信用代码企业名称不一致（见第{names[code][1]}行）/ "
                f"same credit code, different name than line {names[code][1]}"
            )
        names.setdefault(code, (enterprise["name"], line))
        if site["code"] in site_lines:
            problems.append(
                f"场所编码重复（见第{site_lines[site['code']]}行）/ "
                f"site_code repeats line {site_lines[site['code']]}"
            )
        site_lines.setdefault(site["code"], line)
        report.errors.extend((line, problem) for problem in problems)
        rows.append((enterprise, site))
    if not rows and not report.errors:
        report.errors.append((1, "文件没有数据行 / the file has no data rows"))
    if report.errors:
        return report
    enterprises = {}
    try:
        for enterprise_fields, site_fields in rows:
            code = enterprise_fields["credit_code"]
            if code not in enterprises:
                enterprises[code] = save_enterprise(enterprise_fields)
            save_site(enterprises[code], site_fields)
        audit.record_import(hashlib.sha256(data).hexdigest(), len(enterprises), len(rows))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    report.enterprises = len(enterprises)
    report.sites = len(rows)
    return report
