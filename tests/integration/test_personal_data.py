"""Personal data at rest: sealed per child, never plaintext, and erased by forgetting the child."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from domain.errors import RuleViolation
from services.app import children, concerns, helpers
from services.app.reads import child_file, child_history
from tests.builders import child_details
from tests.integration.db_search import tables_containing


def test_id_numbers_and_phone_numbers_never_reach_the_database_in_plaintext(street, database_url):
    ctx = street.ctx()
    details = child_details(street.grid)
    child_id = children.register_child(details, ctx=ctx).id
    helper = helpers.enrol_helper("赵敏", "teacher", "13512345678", street.community, ctx=ctx)
    helpers.form_pair(child_id, helper.id, date(2026, 9, 1), ctx=ctx)
    children.change_guardian(child_id, details.guardian, ctx=ctx)

    secrets_ = [details.id_number, details.guardian.phone, details.parents[0].phone, "13512345678"]
    for value in secrets_:
        assert tables_containing(database_url, value) == [], value
    # ...while the log itself still reads them back for those allowed to see them.
    assert child_file(child_id, ctx=ctx)["id_number"] == details.id_number


def test_forgetting_a_child_erases_its_personal_fields_and_nothing_else(street, database_url):
    ctx = street.ctx()
    details = child_details(street.grid)
    child_id = children.register_child(details, ctx=ctx).id
    children.log_visit(child_id, "home_visit", date(2026, 10, 1), None, "奶奶说孩子夜里哭", ctx=ctx)
    concern = concerns.raise_concern(child_id, "psychological", "high", "孩子夜里哭", ctx=ctx)
    other_id = children.register_child(child_details(street.grid), ctx=ctx).id
    before = child_history(child_id, ctx=ctx)

    children.forget_child(child_id, "监护人依法申请删除", ctx=ctx)

    file = child_file(child_id, ctx=ctx)
    assert file["erased"] is True
    assert file["name"] is None and file["id_number"] is None and file["address"] is None
    assert file["guardian"]["name"] is None and file["guardian"]["phone"] is None
    assert file["guardian"]["relation"] == "paternal_grandparent"
    assert all(p["phone"] is None and p["name"] is None for p in file["parents"])
    assert file["gender"] == "F" and file["birth_date"] == details.birth_date and file["school"] == details.school
    assert file["visits"][0]["kind"] == "home_visit" and file["visits"][0]["notes"] is None

    after = child_history(child_id, ctx=ctx)
    assert [(e["position"], e["type"]) for e in after[:-1]] == [(e["position"], e["type"]) for e in before]
    assert after[-1]["type"] == "shouwang:child:forgotten" and after[-1]["data"]["why"] == "监护人依法申请删除"
    assert after[0]["data"]["name"] is None and after[0]["data"]["gender"] == "F"
    assert next(e for e in after if e["stream"] == concern.id)["data"]["description"] is None
    # Every earlier version reads as erased too: no past state keeps the plaintext.
    assert child_file(child_id, ctx=ctx, version=1)["name"] is None
    # The key is gone from the database, and other children are untouched.
    with psycopg.connect(database_url) as conn:
        keys = conn.execute(f"SELECT count(*) FROM t_{street.code}.subject_keys WHERE subject_id = %s",
                            [child_id]).fetchone()[0]
    assert keys == 0
    assert child_file(other_id, ctx=ctx)["name"] is not None
    for value in (details.name, details.id_number, details.guardian.phone, details.address):
        assert tables_containing(database_url, value) == [], value


def test_a_forgotten_child_takes_no_new_commands(street):
    ctx = street.ctx()
    child_id = children.register_child(child_details(street.grid), ctx=ctx).id
    children.forget_child(child_id, "依法删除", ctx=ctx)
    with pytest.raises(RuleViolation):
        children.log_visit(child_id, "talk", date(2026, 11, 1), None, None, ctx=ctx)
    with pytest.raises(RuleViolation):
        concerns.raise_concern(child_id, "health", "low", "咳嗽", ctx=ctx)
