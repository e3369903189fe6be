"""/review/rules: which plans govern a city on a day, and which items they serve there."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.web.pages import sign_in


def test_the_rules_page_shows_the_plans_and_items_of_a_city_on_a_day(  # type: ignore[no-untyped-def]
    client: FlaskClient, users, registry
) -> None:
    sign_in(client, "sup")
    page = client.get("/review/rules?city=朔州市&on=2025-06-01")
    assert page.status_code == 200
    text = page.text
    assert "朔政办发〔2020〕9号" in text and "朔政发〔2024〕14号" in text
    assert "并政发〔2018〕40号" not in text and "长政办发〔2020〕14号" not in text
    assert 'id="rule-CD-11"' in text and 'id="rule-CD-09"' not in text
    assert "倡导 / encouraged" in text  # CD-10's 5,000 m² video rule is advice in 朔州
    earlier = client.get("/review/rules?city=140600&on=2024-03-29").text
    assert 'id="rule-CD-11"' not in earlier
    taiyuan = client.get("/review/rules?city=太原&on=2025-06-01").text
    assert 'id="rule-CD-09"' in taiyuan and "朔政发〔2024〕14号" not in taiyuan


def test_a_city_without_a_plan_in_force_is_said_plainly(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    page = client.get("/review/rules?city=高平&on=2026-11-29")
    assert page.status_code == 200 and 'id="no-plans"' in page.text
    season = client.get("/review/rules?city=高平&on=2021-01-10").text
    assert "高政办发〔2020〕46号" in season and 'id="no-plans"' not in season


def test_bad_city_or_date_is_a_clear_422(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    assert client.get("/review/rules?city=大同").status_code == 422
    assert client.get("/review/rules?on=2025-02-30").status_code == 422


def test_a_notice_page_names_only_its_own_citys_plans(  # type: ignore[no-untyped-def]
    client: FlaskClient, headers, registry, clock
) -> None:
    from tests.helpers import approve, issue, submit_failing_inspection

    inspection_id, found = submit_failing_inspection(
        client, headers, registry["sites"]["SZ-boiler_house"]
    )
    approve(client, headers, inspection_id)
    notice = issue(
        client, headers, registry["shuozhou"].id, [f["id"] for f in found.values()]
    ).get_json()
    sign_in(client, "sup")
    page = client.get(f"/review/notices/{notice['id']}").text
    start = page.index('id="governing-plans"')
    governing = page[start : page.index("</dd>", start)]
    assert "朔政" in governing
    for other in ("并政发", "长政办发", "高政办发"):
        assert other not in page, other
