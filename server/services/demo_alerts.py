"""The demo's heavy-pollution alert: 朔州 under an orange alert for three days from loading,
and its cement plant's reduction list, so the alert-first site list and the
heavy-pollution-response checklist can be tried at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.extensions import db
from server.models import Alert, Enterprise, ReductionList, User, utcnow
from server.services import alerts, reduction_lists

CEMENT_LINES = [
    {
        "name": "1号熟料生产线",
        "normal_load_kw": 4200,
        "measures": {
            "yellow": {"action": "limit", "limit_percent": 70, "text": "熟料线限产30%"},
            "orange": {"action": "stop", "text": "熟料线停产，窑炉保温"},
            "red": {"action": "stop", "text": "熟料线停产，窑炉保温"},
        },
    },
    {
        "name": "水泥粉磨线",
        "normal_load_kw": 1800,
        "measures": {
            "yellow": {"action": "none"},
            "orange": {"action": "limit", "limit_percent": 50, "text": "粉磨线限产50%"},
            "red": {"action": "stop", "text": "粉磨线停产"},
        },
    },
]


def load(supervisor: User) -> int:
    """Declare the demo alert and set the plant's list, once; returns alerts made."""
    plant = db.session.scalar(select(Enterprise).where(Enterprise.name == "朔州市蓝天水泥有限公司"))
    if plant is not None and db.session.get(ReductionList, plant.id) is None:
        reduction_lists.save(
            supervisor, plant.id, {"performance_grade": "C", "lines": CEMENT_LINES}
        )
    if db.session.scalar(select(Alert).limit(1)) is not None:
        return 0
    now = utcnow()
    alerts.declare(
        supervisor,
        {
            "level": "orange",
            "cities": ["朔州"],
            "starts_at": now,
            "ends_at": now + timedelta(days=3),
            "reason": "演示：市重污染天气应急指挥部发布橙色预警 / demo orange alert",
        },
    )
    return 1
