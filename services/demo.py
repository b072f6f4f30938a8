"""Demo data: one district, two streets, communities and grids, a few hundred children and their care.

Everything is recorded through the use cases, so the demo's log is a real log.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from domain.child import ChildDetails, Guardian, Parent
from domain.identity import make_id_number
from services.app import children, concerns, helpers, platform
from services.app.context import Context

PASSWORD = "shouwang-demo"
DISTRICT = ("150902", "集宁区")
STREETS = {
    "150902001": ("新体路街道", {"001": "井王社区", "002": "白沙关社区", "003": "民安社区"}),
    "150902002": ("桥东街道", {"001": "霸王河社区", "002": "福盈社区"}),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "子涵欣怡梓涵晨曦雨桐浩然宇轩梓轩俊杰思远佳怡诗琪一诺若汐明轩博文嘉怡子墨雨泽睿泽紫萱可馨天佑静怡"
SCHOOLS = ["集宁区第一小学", "集宁区第三小学", "白沙关小学", "民安小学", "集宁区第二中学", "桥东学校"]
WORK = ["广东省东莞市", "浙江省宁波市", "北京市朝阳区", "江苏省苏州市", "内蒙古呼和浩特市", "天津市滨海新区"]
HELPER_KINDS = ["caring_mother", "caring_mother", "substitute_parent", "teacher", "party_member", "retired_cadre"]
CONTACTS = ["home_visit", "talk", "teacher_contact", "guardian_contact", "letter", "parent_call"]


@dataclass(frozen=True)
class Login:
    role: str
    username: str
    scope: str


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return rng.choice(SURNAMES) + given


def _ctx(infra: object, tenant: str | None, role: str, scope: str | None, now: datetime) -> Context:
    return Context(tenant=tenant, actor=uuid4(), role=role, scope=scope, now=now, directory=infra.directory,
                   log=infra.logs[tenant] if tenant else None)


def load_demo(infra: object, *, children_per_grid: int = 25, seed: int = 2026) -> list[Login]:
    """Load the demo district once (a second call only lists the logins)."""
    logins = _logins()
    if infra.directory.tenant(next(iter(STREETS))) is not None:
        return logins
    rng = random.Random(seed)
    now = datetime.now(UTC)
    admin = _ctx(infra, None, "platform_admin", None, now)
    for code, (name, communities) in STREETS.items():
        platform.create_tenant(code, name, *DISTRICT, ctx=admin)
        for suffix, community in communities.items():
            platform.add_unit(code, code + suffix, community, "community", code, ctx=admin)
            for grid in ("01", "02"):
                platform.add_unit(code, code + suffix + grid, f"{community}{int(grid)}号网格", "grid",
                                  code + suffix, ctx=admin)
        _populate(infra, code, communities, children_per_grid, rng, now)
    _create_users(infra, admin)
    return logins


def _populate(infra: object, tenant: str, communities: dict[str, str], per_grid: int, rng: random.Random,
              now: datetime) -> None:
    boss = _ctx(infra, tenant, "tenant_admin", tenant, now)
    today = boss.today
    term_start = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    for suffix in communities:
        community = tenant + suffix
        helper_ids = [helpers.enrol_helper(_name(rng), rng.choice(HELPER_KINDS), f"13{rng.randrange(10**9):09d}",
                                           community, ctx=boss).id for _ in range(per_grid)]
        for grid in (community + "01", community + "02"):
            for _ in range(per_grid):
                child_id = _register(grid, rng, boss, today)
                _care_for(child_id, helper_ids, rng, boss, term_start, today)


def _register(grid: str, rng: random.Random, ctx: Context, today: date) -> UUID:
    gender = rng.choice("FM")
    birth = today - timedelta(days=rng.randrange(4 * 365, 15 * 365))
    surname = rng.choice(SURNAMES)
    details = ChildDetails(
        name=surname + "".join(rng.choice(GIVEN) for _ in range(2)), gender=gender, birth_date=birth, grid=grid,
        reason=rng.choice(["both_parents_away"] * 4 + ["one_parent_away_other_unable"]),
        id_number=make_id_number("150902", birth, rng.randrange(500), gender),
        school=rng.choice(SCHOOLS), class_name=f"{rng.randrange(1, 7)}年级{rng.randrange(1, 5)}班",
        address=f"{rng.choice(['白沙关村', '井王小区', '民安巷', '霸王河路'])}{rng.randrange(1, 300)}号",
        guardian=Guardian(name=surname + rng.choice(["奶奶", "爷爷", "外婆", "外公"]),
                          relation=rng.choice(["paternal_grandparent", "maternal_grandparent"]),
                          phone=f"13{rng.randrange(10**9):09d}", birth_year=rng.randrange(1950, 1968)),
        parents=(Parent(relation="father", name=surname + _name(rng)[1:], work_place=rng.choice(WORK),
                        phone=f"15{rng.randrange(10**9):09d}"),
                 Parent(relation="mother", name=_name(rng), work_place=rng.choice(WORK))),
    )
    return children.register_child(details, ctx=ctx).id


def _care_for(child_id: UUID, helper_ids: list[UUID], rng: random.Random, ctx: Context, term_start: date,
              today: date) -> None:
    helper_id = None
    if rng.random() < 0.8:
        for candidate in rng.sample(helper_ids, k=min(4, len(helper_ids))):
            try:
                helpers.form_pair(child_id, candidate, term_start, ctx=ctx)
                helper_id = candidate
                break
            except Exception:  # this helper is full; try another
                continue
    span = max((today - term_start).days, 1)
    for _ in range(rng.randrange(0, 7)):
        on = term_start + timedelta(days=rng.randrange(span))
        children.log_visit(child_id, rng.choice(CONTACTS), on, helper_id, "走访了解情况，孩子状态良好", ctx=ctx)
    if rng.random() < 0.08:
        severity = rng.choice(["low", "medium", "high", "urgent"])
        concern = concerns.raise_concern(child_id, rng.choice(["academic", "psychological", "health", "safety"]),
                                         severity, "近期情绪低落，成绩下滑，需要关注", ctx=ctx)
        if severity in ("high", "urgent") and rng.random() < 0.5:
            concerns.escalate_concern(concern.id, "社区难以独立处理，上报街道", ctx=ctx)
    if rng.random() < 0.1:
        children.grant_aid(child_id, "supplies", 20000, "区妇联春蕾计划", today, ctx=ctx)


def _logins() -> list[Login]:
    street = next(iter(STREETS))
    return [
        Login("platform_admin", "admin", "-"),
        Login("tenant_admin", "street_admin", street),
        Login("supervisor", "street_supervisor", street),
        Login("supervisor", "community_supervisor", street + "001"),
        Login("grid_worker", "grid_worker", street + "00101"),
        Login("helper", "helper", street + "001"),
        Login("district_officer", "district_officer", DISTRICT[0]),
        Login("auditor", "auditor", DISTRICT[0]),
        Login("tenant_admin", "qiaodong_admin", "150902002"),
    ]


def _create_users(infra: object, admin: Context) -> None:
    helper_id = _first_helper(infra, next(iter(STREETS)))
    for login in _logins():
        tenant = None if login.role in ("platform_admin", "district_officer", "auditor") else login.scope[:9]
        ctx = _ctx(infra, tenant, "platform_admin", tenant, admin.now) if tenant else admin
        platform.create_user(login.username, PASSWORD, login.username, login.role,
                             None if login.scope == "-" else login.scope, tenant=tenant,
                             helper_id=helper_id if login.role == "helper" else None, ctx=ctx)


def _first_helper(infra: object, tenant: str) -> UUID:
    for entry in infra.logs[tenant].recorder.select_notifications(start=1, limit=50):
        if entry.topic == "shouwang:helper:enrolled":
            return entry.originator_id
    raise LookupError("the demo street has no helper")
