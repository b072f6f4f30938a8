"""The notifier's wake-ups: sent after the commit, and the last ones still sent when the process closes its pool."""

from __future__ import annotations

import logging

import psycopg

from infra.bootstrap import connect
from infra.migrations import schema_for
from infra.recorder import channel_name
from services.app.children import register_child
from tests.conftest import make_street, settings_for
from tests.builders import child_details


def test_closing_right_after_a_write_still_wakes_the_listeners_and_logs_no_failure(database_url, tmp_path, caplog):
    infra = connect(settings_for(database_url, tmp_path))
    street = make_street(infra)
    channel = channel_name(schema_for(street.code))
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {channel}")
        with caplog.at_level(logging.WARNING, logger="infra.recorder"):
            register_child(child_details(street.grid), ctx=street.ctx())
            infra.close()  # at once: the notifier's wake-up is still pending
        heard = [n.channel for n in listener.notifies(timeout=5, stop_after=1)]
    assert heard == [channel]
    assert not [r for r in caplog.records if "could not notify" in r.getMessage()]
