"""The demo: checklists, a registry in the four cities of the plans, demo accounts, and two
inspections that show the review loop.

Safe to run again: enterprises, sites and users are matched by credit code, site code and
username, and nothing already there is duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from server.extensions import db
from server.models import Enterprise, User
from server.services import accounts, demo_alerts, demo_inspections, demo_tasks
from server.services.checklists import load_rule_files
from server.services.credit_code import make_credit_code
from server.services.registry import save_enterprise, save_site

# city, district, administrative division code, centre (lat, lon)
CITIES = (
    ("朔州", "朔城区", "140602", 39.3316, 112.4329),
    ("长治", "潞州区", "140403", 36.1953, 113.1163),
    ("太原", "小店区", "140105", 37.7366, 112.5650),
    ("高平", "米山镇", "140581", 35.7979, 112.9236),
)

# enterprise suffix, industry, site kind, site name suffix
TEMPLATES = (
    ("建设工程有限公司", "建筑业", "construction", "住宅项目工地"),
    ("煤业集团洗煤有限公司", "煤炭洗选", "coal_yard", "储煤场"),
    ("水泥有限公司", "水泥制造", "industrial", "熟料生产线"),
    ("热力有限公司", "热力供应", "boiler_house", "集中供热锅炉房"),
    ("铸造厂", "铸造", "closed_enterprise", "原厂区（已关停）"),
    ("煤炭经销部", "煤炭零售", "coal_retailer", "散煤销售点"),
)

# Kinds the later checklists (kilns, VOCs, mobile sources, mines, catering) apply to. They are
# made after every city's sites above, so those keep their codes, credit codes and row ids.
ADDED_TEMPLATES = (
    ("陶瓷有限公司", "陶瓷制品制造", "kiln", "隧道窑车间"),
    ("加油站有限公司", "机动车燃油零售", "filling_station", "加油站"),
    ("汽车维修有限公司", "汽车修理与维护", "auto_repair", "汽修喷漆车间"),
    ("餐饮管理有限公司", "正餐服务", "catering", "餐厅"),
    ("矿业有限公司", "煤炭开采和洗选", "mine", "露天煤矿"),
)

DEMO_PASSWORDS = {
    "admin": "lantian-admin-2026",
    "inspector1": "lantian-field-2026",
    "inspector2": "lantian-field-2026",
    "supervisor": "lantian-review-2026",
    "enterprise1": "lantian-enterprise-2026",
    "enterprise2": "lantian-enterprise-2026",
}


@dataclass
class DemoResult:
    enterprises: int = 0
    sites: int = 0
    accounts: list[tuple[str, str, str, str]] = field(default_factory=list)
    inspections: int = 0


def _registry() -> list[Enterprise]:
    """Every city's sites of TEMPLATES, then every city's of ADDED_TEMPLATES."""
    enterprises = []
    numbered = list(enumerate(TEMPLATES + ADDED_TEMPLATES))
    for batch in (numbered[: len(TEMPLATES)], numbered[len(TEMPLATES) :]):
        for city_index, (city, district, division, lat, lon) in enumerate(CITIES):
            for index, (suffix, industry, kind, site_suffix) in batch:
                body = f"91{division}MA0{city_index:02d}{index:03d}D"[:17]
                enterprise = save_enterprise(
                    {
                        "credit_code": make_credit_code(body),
                        "name": f"{city}市蓝天{suffix}",
                        "city": city,
                        "district": district,
                        "industry": industry,
                        "contact_name": "张工",
                        "contact_phone": f"1390355{city_index:02d}{index:02d}",
                    }
                )
                save_site(
                    enterprise,
                    {
                        "code": f"DEMO-{division}-{index + 1:02d}",
                        "name": f"{city}{site_suffix}",
                        "kind": kind,
                        "address": f"山西省{city}市{district}蓝天路{index + 1}号",
                        "lat": round(lat + 0.01 * index, 6),
                        "lon": round(lon + 0.008 * index, 6),
                        "radius_m": 300.0,
                        "active": True,
                        "district_code": division,
                    },
                )
                enterprises.append(enterprise)
    return enterprises


def load_demo(with_inspections: bool = True) -> DemoResult:
    """Load everything the demo needs and return what to print.

    Benchmarks and the load test count every row they make, so they ask for the registry
    and accounts without the demo inspections."""
    load_rule_files()
    enterprises = _registry()
    first, second = enterprises[0], enterprises[1]
    badges = {"inspector1": "14060026001", "inspector2": "14060026002", "supervisor": "14060026100"}
    plan = (
        ("admin", "admin", None, "管理员 / administrator"),
        ("inspector1", "inspector", None, "检查员 / inspector"),
        ("inspector2", "inspector", None, "检查员 / inspector"),
        ("supervisor", "supervisor", None, "监管人员 / supervisor"),
        ("enterprise1", "enterprise", first, f"企业 / enterprise: {first.name}"),
        ("enterprise2", "enterprise", second, f"企业 / enterprise: {second.name}"),
    )
    result = DemoResult(enterprises=len(enterprises), sites=len(enterprises))
    for username, role, enterprise, note in plan:
        if db.session.scalar(select(User).where(User.username == username)) is None:
            accounts.add_user(
                username,
                role,
                DEMO_PASSWORDS[username],
                enterprise_id=enterprise.id if enterprise else None,
                badge_no=badges.get(username),
            )
        result.accounts.append((username, role, DEMO_PASSWORDS[username], note))
    users = {u.username: u for u in db.session.scalars(select(User))}
    # Demo inspectors hold a 执法证号 (an older demo database gets one now), so their records
    # carry it and a 双随机 draw can pair them.
    for name, badge in badges.items():
        if users[name].badge_no is None:
            accounts.set_badge(name, badge)
    db.session.commit()
    if with_inspections:
        result.inspections = demo_inspections.load(first, users["inspector1"], users["supervisor"])
        demo_alerts.load(users["supervisor"])
        demo_tasks.load(first, users)
        db.session.commit()
    return result
