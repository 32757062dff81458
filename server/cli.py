"""The `phonghop` command: demo, serve, migrate, import-agenda, user."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from pathlib import Path
from typing import Any

import uvicorn

from server.config import Settings
from server.db.engine import migrate_sync
from server.errors import ApiError

log = logging.getLogger("phonghop")

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_MEETING = REPO_ROOT / "agendas" / "ky-hop-thu-muoi-hai"
DEMO_PASSWORD = "phonghop"
DEMO_ADMIN = ("quantri", "Quản trị hệ thống")
ROLE_NAMES = {
    "chair": "chủ tọa / chair", "secretary": "thư ký / secretary",
    "delegate": "đại biểu / delegate", "site": "điểm cầu / site", "guest": "khách mời / guest",
    "admin": "quản trị / administrator",
}


def uvicorn_options(host: str, port: int) -> dict[str, Any]:
    # websockets-sansio costs the least CPU per message of uvicorn's implementations;
    # messages stay small and uncompressed (permessage-deflate costs 2.4-3x the CPU and
    # ~34 KiB per connection for small JSON).
    return {
        "host": host, "port": port, "ws": "websockets-sansio", "ws_max_size": 64 * 1024,
        "ws_per_message_deflate": False, "proxy_headers": True, "log_level": "info",
        "timeout_graceful_shutdown": 5,
    }


def demo_banner(address: str, data_dir: Path, logins: list[tuple[str, str, str]]) -> str:
    lines = [
        "", "=" * 72, "  Phòng họp — bản trình diễn / demo", "",
        f"  Mở trình duyệt / open:  {address}/", "",
        f"  Đăng nhập / logins (mật khẩu / password: {DEMO_PASSWORD})",
    ]
    lines += [f"    {name:<12} {ROLE_NAMES[role]:<28} {full}" for name, role, full in logins]
    lines += ["", f"  Dữ liệu / data: {data_dir}", "=" * 72, ""]
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from server.api.deps import Services
    from server.app import create_app
    from server.db.models import Participant, User
    from server.services.agenda_import import import_folder
    from server.services.users import ensure_user

    # The demo runs on embedded defaults whatever the environment says.
    settings = Settings(data_dir=Path(args.data_dir).resolve())
    folder = Path(args.agenda).resolve()

    async def prepare(svc: Services) -> None:
        result = await import_folder(svc, folder)
        async with svc.db.write() as session:
            for username in result.usernames:
                await ensure_user(session, username, "", password=DEMO_PASSWORD)
            await ensure_user(session, *DEMO_ADMIN, password=DEMO_PASSWORD, is_admin=True)
        async with svc.db.read() as session:
            rows = (await session.execute(
                select(User.username, Participant.role, User.full_name)
                .join(Participant, Participant.user_id == User.id)
                .where(Participant.meeting_id == result.meeting_id)
                .order_by(Participant.id))).all()
        logins = [(u, r.value, f) for u, r, f in rows]
        logins.append((DEMO_ADMIN[0], "admin", DEMO_ADMIN[1]))
        print(demo_banner(f"http://{args.host}:{args.port}", settings.data_dir, logins),
              flush=True)

    app = create_app(settings, on_startup=[prepare])
    uvicorn.Server(uvicorn.Config(app, **uvicorn_options(args.host, args.port))).run()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    options = uvicorn_options(args.host, args.port)
    if args.workers > 1:
        uvicorn.run("server.app:from_env", factory=True, workers=args.workers, **options)
    else:
        from server.app import from_env
        uvicorn.Server(uvicorn.Config(from_env(), **options)).run()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate_sync(settings.database_url)
    print(f"database is up to date: {settings.database_url.split('@')[-1]}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from server.runtime import open_services
    from server.services.agenda_import import AgendaImportError, import_folder

    async def run() -> int:
        async with open_services(Settings.from_env()) as svc:
            try:
                result = await import_folder(svc, Path(args.path), render=not args.no_render)
            except AgendaImportError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            verb = "created" if result.created else "updated"
            print(f"meeting {result.meeting_id} {verb}: {len(result.documents)} documents")
            if not args.no_render:
                for name, sha in result.documents.items():
                    await svc.documents.wait_rendered(sha)
                    print(f"  rendered {name}")
        return 0

    return asyncio.run(run())


def cmd_user(args: argparse.Namespace) -> int:
    from server.db.models import CredentialKind
    from server.runtime import open_services
    from server.services.users import by_username, ensure_user

    async def run() -> int:
        async with open_services(Settings.from_env()) as svc:
            if args.action == "token":
                async with svc.db.read() as session:
                    user = await by_username(session, args.username)
                if user is None:
                    print(f"error: no user '{args.username}'", file=sys.stderr)
                    return 2
                secret, _ = await svc.credentials.issue(user.id, CredentialKind.BEARER,
                                                        label=args.label)
                print(secret)
                return 0
            password = None
            if args.action == "set-password" or args.password_stdin:
                password = read_password(args.password_stdin)
            async with svc.db.write() as session:
                existing = await by_username(session, args.username)
                if args.action == "set-password" and existing is None:
                    print(f"error: no user '{args.username}'", file=sys.stderr)
                    return 2
                full_name = args.full_name if args.action == "create" else existing.full_name  # type: ignore[union-attr]
                await ensure_user(session, args.username, full_name, password=password,
                                  is_admin=getattr(args, "admin", False))
            print(f"user '{args.username}' saved")
        return 0

    try:
        return asyncio.run(run())
    except ApiError as error:  # a name or password the rules refuse
        print(f"error: {error.message}", file=sys.stderr)
        return 2


def read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mật khẩu mới / new password: ")
    if getpass.getpass("Nhập lại / again: ") != first:
        raise SystemExit("error: the two passwords differ")
    return first


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="phonghop", description="Phòng họp: paperless meetings.")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run everything on embedded defaults with a sample meeting")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", default="data/demo")
    demo.add_argument("--agenda", default=str(SAMPLE_MEETING), help=argparse.SUPPRESS)
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="run the server, configured from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1,
                       help="server processes (needs REDIS_URL and PostgreSQL when > 1)")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    imp = sub.add_parser("import-agenda", help="import or update a meeting folder")
    imp.add_argument("path")
    imp.add_argument("--no-render", action="store_true",
                     help="do not wait for page rendering (the server finishes it)")
    imp.set_defaults(func=cmd_import)

    site = sub.add_parser("site", help="run a commune site's video agent (camera and "
                          "microphone to the meeting)")
    site.add_argument("--server", required=True, help="the server's address, e.g. "
                      "https://phonghop.huyen.gov.vn")
    token_source = site.add_mutually_exclusive_group(required=True)
    token_source.add_argument("--token", help="a bearer token of the site's account "
                              "(phonghop user token <account>)")
    token_source.add_argument("--token-file", help="read the token from this file (keeps "
                              "it out of the process list)")
    site.add_argument("--meeting", type=int, help="the meeting's number (default: the one "
                      "in session, else the next)")
    site.add_argument("--test-pattern", action="store_true",
                      help="send a test pattern and a tone instead of camera and microphone")
    site.add_argument("--camera", help="camera device, e.g. /dev/video0")
    site.add_argument("--camera-format", default="v4l2")
    site.add_argument("--microphone", help="microphone device, e.g. default")
    site.add_argument("--microphone-format", default="alsa", help="alsa or pulse")
    site.add_argument("--audio-only", action="store_true",
                      help="start with audio only (a poor link)")
    site.set_defaults(func=cmd_site)

    user = sub.add_parser("user", help="manage accounts")
    actions = user.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create or update an account")
    create.add_argument("username")
    create.add_argument("--full-name", required=True)
    create.add_argument("--admin", action="store_true")
    create.add_argument("--password-stdin", action="store_true",
                        help="read a password from standard input")
    setpw = actions.add_parser("set-password", help="set a password (prompted)")
    setpw.add_argument("username")
    setpw.add_argument("--password-stdin", action="store_true")
    token = actions.add_parser("token", help="print a new bearer token for scripts and sites")
    token.add_argument("username")
    token.add_argument("--label", default="command line")
    user.set_defaults(func=cmd_user)
    return p


def cmd_site(args: argparse.Namespace) -> int:
    import signal

    from media.agent import AgentError, AgentOptions, SiteAgent, parse_server

    def status(line: str) -> None:
        print(f"[điểm cầu / site] {line}", flush=True)

    token = args.token
    if args.token_file:
        try:
            token = Path(args.token_file).read_text().strip()
        except OSError as error:
            print(f"phonghop site: cannot read the token file: {error}", file=sys.stderr)
            return 2

    async def run() -> None:
        options = AgentOptions(
            server=parse_server(args.server), token=token, meeting_id=args.meeting,
            test_pattern=args.test_pattern, camera=args.camera,
            camera_format=args.camera_format, microphone=args.microphone,
            microphone_format=args.microphone_format, audio_only=args.audio_only)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await SiteAgent(options, status).run(stop)

    try:
        asyncio.run(run())
    except AgentError as error:
        print(f"phonghop site: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
