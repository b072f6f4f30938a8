"""The pages' words: every key a template asks for has Chinese and English, and form errors read in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

from services.web.forms import FormErrors, convert, field_message, nest
from services.web.labels import LABELS
from services.web.messages import TEXT
from services.api.schemas import ChildCreate

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "web" / "templates"


def test_every_key_a_template_uses_is_in_the_catalogue_in_both_languages():
    used = {key for path in TEMPLATES.glob("*.html")
            for key in re.findall(r"\bt\('([a-z_]+\.[a-z_]+)'", path.read_text(encoding="utf-8"))}
    assert used, "the templates use the catalogue"
    assert sorted(used - TEXT.keys()) == []
    assert all(zh and en for zh, en in TEXT.values())
    assert all(zh and en for names in LABELS.values() for zh, en in names.values())


def test_form_inputs_named_by_path_become_the_api_body():
    form = {"name": " 王小雨 ", "guardian.name": "王奶奶", "parents[1].relation": "mother", "parents[0].relation":
            "father", "parents[0].phone": "", "_version": "3"}
    assert nest(form) == {"name": "王小雨", "guardian": {"name": "王奶奶"},
                          "parents": [{"relation": "father"}, {"relation": "mother"}]}


def test_a_malformed_form_names_each_bad_field_in_chinese():
    errors = FormErrors()
    body = {"name": "王小雨", "gender": "X", "birth_date": "2017-02-30", "grid": "15090200100101",
            "reason": "both_parents_away", "guardian": {"name": "王奶奶", "relation": "paternal_grandparent",
                                                        "birth_year": "一九五八"}}
    assert convert(body, ChildCreate, errors, "zh") is None
    assert errors == {"gender": "请从列表中选择", "birth_date": "请填写有效日期（年-月-日）",
                      "guardian.birth_year": "请填写整数"}
    assert field_message("required", "en") == "This field is required"
