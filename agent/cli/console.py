"""The console commands (issue #22): ``console`` serves the pharmacy web console; ``users`` manages
its accounts (add, passwd, disable, enable, list)."""

from __future__ import annotations

import sys

import typer

from agent.cli.common import runtime_of
from agent.cli.table import echo_table

ROLE_HELP = "viewer (只读) | pharmacist (药师：确认、屏蔽、对码、报表) | admin"


def _password(confirm: bool = True) -> str:
    """The password from a prompt on a terminal, else the first line of standard input (scripts)."""
    if sys.stdin.isatty():
        return str(typer.prompt("密码 password", hide_input=True, confirmation_prompt=confirm))
    return sys.stdin.readline().rstrip("\r\n")


def serve_beside(rt) -> None:  # type: ignore[no-untyped-def]
    """The console on a thread of this process (``[console] with_daemon`` under ``vbp-agent run``)."""
    from agent.bootstrap import build_monitoring_inputs
    from agent.console.serve import serve_in_thread
    from agent.console.views import Console

    served = serve_in_thread(Console(rt, build_monitoring_inputs(rt)))
    typer.echo(f"控制台 console: {served.url}", err=True)


def register(app: typer.Typer) -> None:
    @app.command("console")
    def console(
        ctx: typer.Context,
        host: str = typer.Option(None, "--host", help="bind address (default [console] host, 127.0.0.1)"),
        port: int = typer.Option(None, "--port", help="port (default [console] port, 8470)"),
    ) -> None:
        """Serve the pharmacy web console (药学部控制台) until Ctrl-C."""
        from agent.bootstrap import build_monitoring_inputs
        from agent.console.serve import serve_forever
        from agent.console.views import Console

        rt = runtime_of(ctx)
        serve_forever(Console(rt, build_monitoring_inputs(rt)), on_ready=lambda url: typer.echo(f"控制台 console: {url}"),
                      host=host, port=port)

    users = typer.Typer(help="console accounts (控制台账号)", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def users_add(ctx: typer.Context, username: str, role: str = typer.Option(..., "--role", help=ROLE_HELP),
                  name: str = typer.Option("", "--name", help="the name shown and recorded (姓名)")) -> None:
        """Add an account; the password is asked for (or read from standard input)."""
        from agent.console.auth import add_user

        rt = runtime_of(ctx)
        add_user(rt.store, username, role, _password(), rt.clock.now(), name)
        typer.echo(f"已添加用户 {username}（{role}）")

    @users.command("passwd")
    def users_passwd(ctx: typer.Context, username: str) -> None:
        """Set an account's password; its sessions end."""
        from agent.console.auth import set_password

        rt = runtime_of(ctx)
        set_password(rt.store, username, _password(), rt.clock.now())
        typer.echo(f"已修改 {username} 的密码，其登录已失效")

    @users.command("disable")
    def users_disable(ctx: typer.Context, username: str) -> None:
        """Disable an account; its sessions end at once."""
        from agent.console.auth import set_disabled

        rt = runtime_of(ctx)
        set_disabled(rt.store, username, True, rt.clock.now())
        typer.echo(f"已停用用户 {username}")

    @users.command("enable")
    def users_enable(ctx: typer.Context, username: str) -> None:
        """Enable a disabled account again."""
        from agent.console.auth import set_disabled

        rt = runtime_of(ctx)
        set_disabled(rt.store, username, False, rt.clock.now())
        typer.echo(f"已启用用户 {username}")

    @users.command("list")
    def users_list(ctx: typer.Context) -> None:
        """List the accounts (never their passwords)."""
        from agent.console.auth import ROLE_CN
        from agent.store import console as repo

        rt = runtime_of(ctx)
        with rt.store.read() as conn:
            found = repo.users(conn, rt.store.hospital_code)
        if found:
            echo_table(("用户名", "姓名", "角色", "状态"),
                       [(u.username, u.display_name, ROLE_CN.get(u.role, u.role), "已停用" if u.disabled else "正常") for u in found])
        if not found:
            typer.echo("还没有账号：vbp-agent users add NAME --role pharmacist")
