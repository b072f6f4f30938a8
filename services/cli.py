"""The `shouwang` command line: demo, serve, worker, migrate, admin."""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import threading
import time
from pathlib import Path


def _migrate(_: argparse.Namespace) -> int:
    from infra.bootstrap import resolve_database_url
    from infra.migrations import migrate_all
    from infra.settings import load_settings

    url, server = resolve_database_url(load_settings())
    try:
        ran = migrate_all(url)
    finally:
        if server is not None:
            server.stop()
    changed = {scope: n for scope, n in ran.items() if n}
    print(f"migrated: {changed}" if changed else f"up to date ({len(ran) - 1} tenants)")
    return 0


def _admin_create(args: argparse.Namespace) -> int:
    from infra.bootstrap import connect

    password = os.environ.get("SHOUWANG_PASSWORD") or (
        getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n"))
    if len(password) < 8:
        print("password must be at least 8 characters", file=sys.stderr)
        return 2
    infra = connect()
    try:
        user = infra.directory.create_user(username=args.username, password=password, display_name=args.username,
                                           role=args.role, tenant=None, scope_unit=None)
    finally:
        infra.close()
    print(f"created {user.role} {user.username} ({user.id})")
    return 0


def _demo(args: argparse.Namespace) -> int:
    if args.data_dir:
        os.environ["SHOUWANG_DATA_DIR"] = str(Path(args.data_dir).resolve())
    from infra.bootstrap import connect
    from services.api.server import run
    from services.demo import PASSWORD, load_demo

    started = time.monotonic()
    infra = connect()
    try:
        logins = load_demo(infra)
        print(f"demo data ready in {time.monotonic() - started:.1f} s (database: {infra.database_url})")
        print(f"\n  open http://127.0.0.1:{args.port}/\n\n  logins (password for all: {PASSWORD}):")
        for login in logins:
            print(f"    {login.role:<17} {login.username:<22} scope {login.scope}")
        print()
        return run(infra, host="127.0.0.1", port=args.port, with_workers=True)
    finally:
        infra.close()


def _serve(args: argparse.Namespace) -> int:
    from infra.bootstrap import connect
    from services.api.server import run

    infra = connect()
    try:
        return run(infra, host=args.host, port=args.port, with_workers=args.with_workers)
    finally:
        infra.close()


def _worker(args: argparse.Namespace) -> int:
    import dataclasses

    from infra.bootstrap import connect
    from infra.projection_runner import RunnerSettings, run_forever

    try:  # an unknown projection is refused here, before anything starts
        settings = RunnerSettings.from_env()
        if args.projection:
            settings = dataclasses.replace(settings, projections=tuple(args.projection))
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    infra = connect()
    stop = threading.Event()
    celery, died = None, threading.Event()
    if not args.no_celery:
        from services.worker.run import start

        celery = start(infra, beat=not args.no_beat)
        died = celery.watch(stop)
    try:
        run_forever(infra, stop, settings)
    except KeyboardInterrupt:
        stop.set()
    finally:
        if celery is not None:
            celery.stop()
        infra.close()
    return 1 if died.is_set() else 0  # a supervisor restarts a worker whose Celery thread died


def _audit_verify(args: argparse.Namespace) -> int:
    from infra.bootstrap import connect

    infra = connect()
    try:
        if infra.directory.tenant(args.tenant) is None:
            print(f"no tenant {args.tenant}", file=sys.stderr)
            return 2
        report = infra.logs[args.tenant].verify()
    finally:
        infra.close()
    return _report(report, f"tenant {args.tenant}: {report['events_checked']} events, head {report['head_position']}")


def _audit_verify_bundle(args: argparse.Namespace) -> int:
    import json

    from infra.bundle import verify_bundle

    bundle = json.loads(Path(args.file).read_bytes())
    pinned = bytes.fromhex(args.public_key) if args.public_key else None
    report = verify_bundle(bundle, public_key=pinned)
    return _report(report, f"{report.get('events', 0)} events in {report.get('links', 0)} links,"
                           f" signed by key {report.get('public_key', '?')[:16]}...")


def _report(report: dict, summary: str) -> int:
    if report["ok"]:
        print(f"intact: {summary}")
        return 0
    print(f"NOT intact: first bad position {report['first_bad_position']} ({summary})")
    for problem in report.get("problems", []):
        print(f"  {problem}")
    return 1


def _audit_anchor(_: argparse.Namespace) -> int:
    from infra.audit import anchor_all, signing_key
    from infra.bootstrap import connect

    infra = connect()
    try:
        count = anchor_all(infra.datastore, [t.code for t in infra.directory.tenants()],
                           signing_key(infra.settings.master_key))
    finally:
        infra.close()
    print(f"anchored {count} tenant chain heads")
    return 0


def _projections_rebuild(args: argparse.Namespace) -> int:
    from infra.bootstrap import connect
    from infra.projection_batches import rebuild, relax_gc
    from infra.projection_specs import named

    try:
        specs = named(args.projection)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    relax_gc()
    infra = connect()
    try:
        tenants = [args.tenant] if args.tenant else [t.code for t in infra.directory.tenants()]
        if args.tenant and infra.directory.tenant(args.tenant) is None:
            print(f"no tenant {args.tenant}", file=sys.stderr)
            return 2
        for n, tenant in enumerate(tenants, start=1):
            label = f"[{n}/{len(tenants)}] {tenant} {','.join(s.name for s in specs)}"
            position = rebuild(infra, tenant, projections=specs,
                               progress=lambda done, head, label=label: _bar(label, done, head))
            _bar(label, position, position, end="\n")
    finally:
        infra.close()
    return 0


def _bar(label: str, done: int, total: int, end: str = "") -> None:
    """A one-line text progress bar, redrawn in place."""
    share = done / total if total else 1.0
    filled = int(share * 30)
    print(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,} events", end=end, flush=True)


def parser() -> argparse.ArgumentParser:
    """The command line's grammar."""
    top = argparse.ArgumentParser(prog="shouwang", description="守望: case platform for left-behind children")
    commands = top.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="embedded database, demo district, API, UI and workers")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", default=None)
    demo.set_defaults(run=_demo)
    serve = commands.add_parser("serve", help="the API and UI against DATABASE_URL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--with-workers", action="store_true")
    serve.set_defaults(run=_serve)
    worker = commands.add_parser("worker", help="projections, notifications, and a Celery worker with the beat")
    worker.add_argument("--no-beat", action="store_true", help="no scheduler here (run exactly one per deployment)")
    worker.add_argument("--no-celery", action="store_true", help="projections and notifications only")
    worker.add_argument("--projection", action="append",
                        help="keep only this projection (repeatable; default: all, or SHOUWANG_PROJECTIONS=a,b)")
    worker.set_defaults(run=_worker)
    commands.add_parser("migrate", help="create or upgrade every schema; safe to run twice").set_defaults(
        run=_migrate)
    admin = commands.add_parser("admin", help="platform administration")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser("create", help="create a platform user")
    create.add_argument("username")
    create.add_argument("--role", default="platform_admin", choices=["platform_admin"])
    create.set_defaults(run=_admin_create)
    audit = commands.add_parser("audit", help="verify hash chains and audit bundles")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="recompute a tenant's chain; exit 1 at the first bad position")
    verify.add_argument("--tenant", required=True)
    verify.set_defaults(run=_audit_verify)
    verify_bundle = audit_commands.add_parser("verify-bundle", help="check an exported bundle offline")
    verify_bundle.add_argument("file")
    verify_bundle.add_argument("--public-key", help="the platform's published key (hex) to pin")
    verify_bundle.set_defaults(run=_audit_verify_bundle)
    audit_commands.add_parser("anchor", help="sign every tenant's chain head now").set_defaults(run=_audit_anchor)
    projections = commands.add_parser("projections", help="read models kept from the tenant logs")
    projection_commands = projections.add_subparsers(dest="projections_command", required=True)
    rebuild = projection_commands.add_parser("rebuild", help="empty read models and replay the logs, with progress")
    rebuild.add_argument("--tenant", help="only this tenant (default: every tenant)")
    rebuild.add_argument("--projection", action="append", help="only this projection (repeatable; default: all)")
    rebuild.set_defaults(run=_projections_rebuild)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `shouwang` console script."""
    args = parser().parse_args(argv)
    # A terminated process still runs its `finally` blocks (stopping an embedded database cleanly).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return int(args.run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
