"""A tenant's settings: quotas and limits are data, with the common defaults."""

import msgspec
import pytest

from domain.settings import ContactQuota, TenantSettings


def test_the_default_quota_is_the_five_ones():
    quota = ContactQuota()

    assert (quota.home_visit, quota.talk, quota.teacher_contact, quota.guardian_contact, quota.letter) == (1,) * 5
    assert (quota.parent_call, quota.parent_letter) == (0, 0)


def test_a_tenant_may_require_a_monthly_call_with_the_parents():
    settings = msgspec.convert({"contact_quota": {"parent_call": 5}}, TenantSettings)

    assert settings.contact_quota.parent_call == 5
    assert settings.contact_quota.home_visit == 1


def test_a_misspelt_setting_is_refused_rather_than_ignored():
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"helper_capacty": 1}, TenantSettings)


def test_by_default_a_helper_takes_two_children_and_urgent_concerns_are_acknowledged_within_4_hours():
    settings = TenantSettings()

    assert (settings.helper_capacity, settings.urgent_ack_hours, settings.max_days_without_contact) == (2, 4, 60)
