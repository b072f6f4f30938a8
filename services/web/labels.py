"""Names of the domain's enumerations as users say them: (简体中文, English) per value."""

from __future__ import annotations

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "role": {
        "platform_admin": ("平台管理员", "Platform admin"), "tenant_admin": ("街道管理员", "Street admin"),
        "supervisor": ("督导员", "Supervisor"), "grid_worker": ("网格员", "Grid worker"),
        "helper": ("帮扶人", "Helper"), "district_officer": ("区级工作人员", "District officer"),
        "auditor": ("审计员", "Auditor"),
    },
    "gender": {"F": ("女", "Female"), "M": ("男", "Male")},
    "reason": {
        "both_parents_away": ("父母双方外出务工", "Both parents work away"),
        "one_parent_away_other_unable": ("一方外出、另一方无监护能力", "One away, the other unable to care"),
    },
    "status": {"open": ("在册", "Open"), "closed": ("已结案", "Closed")},
    "concern_status": {"open": ("处理中", "Open"), "resolved": ("已解决", "Resolved")},
    "relation": {
        "paternal_grandparent": ("祖父母", "Paternal grandparent"),
        "maternal_grandparent": ("外祖父母", "Maternal grandparent"),
        "parent": ("父母", "Parent"), "relative": ("其他亲属", "Relative"), "other": ("其他", "Other"),
        "father": ("父亲", "Father"), "mother": ("母亲", "Mother"),
    },
    "contact": {
        "home_visit": ("入户走访", "Home visit"), "talk": ("谈心谈话", "Heart-to-heart talk"),
        "teacher_contact": ("联系班主任", "Teacher contact"), "guardian_contact": ("联系监护人", "Guardian contact"),
        "letter": ("给孩子写信", "Letter to the child"), "parent_call": ("亲情电话", "Family phone call"),
        "parent_letter": ("两地书", "Letter with the parents"),
    },
    "category": {
        "academic": ("学业下滑", "Academic decline"), "psychological": ("心理困扰", "Psychological distress"),
        "behaviour": ("行为偏差", "Behaviour"), "suspected_offence": ("涉嫌违法", "Suspected offence"),
        "health": ("疾病", "Health"), "safety": ("安全风险", "Safety risk"), "abuse": ("疑似受虐", "Suspected abuse"),
        "guardianship": ("监护缺失", "Guardianship failure"), "poverty": ("生活困难", "Poverty"),
    },
    "severity": {"low": ("低", "Low"), "medium": ("中", "Medium"), "high": ("高", "High"), "urgent": ("紧急", "Urgent")},
    "level": {
        "district": ("区县", "District"), "street": ("街道", "Street"), "community": ("社区", "Community"),
        "grid": ("网格", "Grid"),
    },
    "aid": {
        "tuition": ("学费资助", "Tuition"), "supplies": ("学习用品", "School supplies"),
        "material": ("物资帮扶", "Material aid"), "cash": ("现金救助", "Cash"),
        "minimum_allowance": ("纳入低保", "Minimum allowance"), "spring_bud": ("春蕾计划", "Spring Bud"),
    },
    "helper_kind": {
        "caring_mother": ("爱心妈妈", "Caring mother"), "substitute_parent": ("代理家长", "Substitute parent"),
        "teacher": ("教师", "Teacher"), "student": ("优秀学生", "Student buddy"),
        "party_member": ("党员", "Party member"), "retired_cadre": ("退休干部", "Retired cadre"),
        "social_worker": ("社工", "Social worker"),
    },
    "close_reason": {
        "parent_returned": ("父母返乡", "A parent returned"), "turned_16": ("年满16周岁", "Turned 16"),
        "moved_away": ("迁出", "Moved away"), "other": ("其他", "Other"),
    },
    "event": {
        "shouwang:child:registered": ("建档登记", "Registered"),
        "shouwang:child:profile-corrected": ("更正档案", "Profile corrected"),
        "shouwang:child:guardian-changed": ("变更监护人", "Guardian changed"),
        "shouwang:child:moved": ("迁移网格", "Moved to another grid"),
        "shouwang:child:file-closed": ("结案", "File closed"),
        "shouwang:child:reopened": ("重新开启", "File reopened"),
        "shouwang:child:paired": ("结对记入档案", "Pair noted on the file"),
        "shouwang:child:visit-logged": ("记录走访", "Contact logged"),
        "shouwang:child:visit-corrected": ("更正走访", "Contact corrected"),
        "shouwang:child:aid-granted": ("发放帮扶", "Aid granted"),
        "shouwang:child:forgotten": ("删除个人信息", "Personal data erased"),
        "shouwang:pair:formed": ("结对", "Pair formed"),
        "shouwang:pair:ended": ("结束结对", "Pair ended"),
        "shouwang:concern:raised": ("提出关注事项", "Concern raised"),
        "shouwang:concern:acknowledged": ("确认关注事项", "Concern acknowledged"),
        "shouwang:concern:escalated": ("上报关注事项", "Concern escalated"),
        "shouwang:concern:action-recorded": ("记录处置", "Action recorded"),
        "shouwang:concern:resolved": ("解决关注事项", "Concern resolved"),
        "shouwang:concern:reopened": ("重新开启关注事项", "Concern reopened"),
    },
}


def label(kind: str, value: object, lang: str) -> str:
    """The user's word for an enumeration value; the raw value when there is none."""
    names = LABELS.get(kind, {}).get(str(value))
    if names is None:
        return "" if value is None else str(value)
    return names[1] if lang == "en" else names[0]


def options(kind: str, lang: str) -> list[tuple[str, str]]:
    """(value, label) pairs for a select of this enumeration."""
    return [(value, names[1] if lang == "en" else names[0]) for value, names in LABELS[kind].items()]
