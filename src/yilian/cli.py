"""The `yilian` command. Each domain adds its subcommands here."""

from __future__ import annotations

import getpass
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from yilian.commandline import acting_as as _acting_as
from yilian.commandline import console
from yilian.commandline import database_url as _url
from yilian.commandline import fail as _fail
from yilian.config import get_settings
from yilian.diagnostics.cli import diagnostics_app
from yilian.evaluation.cli import evaluation_app
from yilian.fhir.cli import fhir_app
from yilian.kit.money import fen_to_yuan

app = typer.Typer(
    help="医联 Yilian — integrated county medical community platform.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
user_app = typer.Typer(help="Accounts and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
residents_app = typer.Typer(help="Master patient index.", no_args_is_help=True)
claims_app = typer.Typer(help="Medical-insurance claims (fund payments).", no_args_is_help=True)
drg_app = typer.Typer(help="CHS-DRG grouping (the scheme is a directory you point at).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(residents_app, name="residents")
app.add_typer(drg_app, name="drg")
app.add_typer(claims_app, name="claims")
app.add_typer(evaluation_app, name="evaluation")
app.add_typer(diagnostics_app, name="diagnostics")
app.add_typer(fhir_app, name="fhir")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default head)."""
    from yilian.kit.migrate import upgrade

    upgrade(_url(), revision=revision)
    console.print(f"[green]数据库已迁移到 {revision} / database at {revision}[/green]")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="target revision, e.g. base")) -> None:
    """Revert migrations down to REVISION."""
    from yilian.kit.migrate import downgrade

    downgrade(_url(), revision=revision)


@app.command()
def synth(
    residents: int = typer.Option(30_000, help="residents per county"),
    counties: int = typer.Option(1, help="counties under one city/province"),
    seed: int = typer.Option(2026, help="random seed; the same seed builds the same county"),
    years: int = typer.Option(2, help="years of encounters up to today"),
    demo_password: str = typer.Option("", help="password of the demo accounts (random if empty)"),
) -> None:
    """Build a synthetic county (institutions, consortium, grids, staff, residents, encounters)."""
    from yilian.synth.build import build_synthetic_region

    report = build_synthetic_region(
        _url(),
        today=date.today(),
        residents_per_county=residents,
        counties=counties,
        seed=seed,
        years=years,
        demo_password=demo_password or None,
        console=console,
        settings=get_settings(),
    )
    console.print(report.summary())


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    workers: int = typer.Option(1, help="processes; use several on PostgreSQL"),
    access_log: bool = typer.Option(True, help="log each request (uvicorn's access log)"),
) -> None:
    """Run the web platform (each process has an audit writer; the chain stays one)."""
    import uvicorn

    from yilian.config import UnsafeSettings, check_can_start
    from yilian.web.server import can_balance, serve_balanced

    _url()
    try:  # said once here, not as a traceback from each worker's create_app
        check_can_start(get_settings())
    except UnsafeSettings as unsafe:
        console.print(f"[red]{unsafe}[/red]")
        raise typer.Exit(1) from None
    if workers > 1 and not reload and can_balance():
        serve_balanced(host, port, workers, access_log)
        return
    uvicorn.run(
        "yilian.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        access_log=access_log,
    )


@user_app.command("create")
def user_create(
    username: str,
    role: str = typer.Option(..., help="卫健局管理员|医共体管理员|机构管理员|医生|家庭医生|医保经办|居民"),
    region_code: str = "",
    consortium_id: int = 0,
    institution_id: int = 0,
    resident_id: int = 0,
    display_name: str = "",
) -> None:
    """Create an account; the password is asked for (no default passwords)."""
    from yilian.auth.service import do_create_user
    from yilian.kit.db import Database

    password = getpass.getpass("密码 / password: ")
    database = Database(_url())
    with database.session_factory.begin() as session:
        user = do_create_user(
            session,
            username=username,
            password=password,
            role=role,
            now=datetime.now(),
            display_name=display_name or None,
            region_code=region_code or None,
            consortium_id=consortium_id or None,
            institution_id=institution_id or None,
            resident_id=resident_id or None,
            settings=get_settings(),
        )
        console.print(f"created user {user.username} ({user.role})")


@user_app.command("token")
def user_token(username: str, name: str = "cli", days: int = 90) -> None:
    """Issue a bearer token for USERNAME (printed once; only its hash is stored)."""
    from yilian.auth import repository
    from yilian.auth.service import do_create_api_token
    from yilian.kit.db import Database

    database = Database(_url())
    with database.session_factory.begin() as session:
        user = repository.user_by_username(session, username)
        if user is None:
            raise typer.BadParameter(f"用户不存在 / no such user: {username}")
        console.print(do_create_api_token(session, user=user, name=name, now=datetime.now(), days=days))


@residents_app.command("import")
def residents_import(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help=".csv or .xlsx: 身份证号, 姓名, 电话, 住址, 网格编码"
    ),
    as_user: str = typer.Option(..., "--as", help="the account the import is done (and audited) as"),
) -> None:
    """Import residents from a spreadsheet: every row is written, or none."""
    from yilian.residents.spreadsheets import do_import_residents

    with _acting_as(as_user, "residents import") as (session, actor):
        result = do_import_residents(session, actor=actor, filename=file.name, data=file.read_bytes())
    console.print(
        f"[green]新建 created {result.created}，已存在 already registered {result.already_registered}[/green]"
    )


@drg_app.command("group")
def drg_group(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv or .xlsx of discharges"),
    output: Path = typer.Option(..., "-o", "--output", help="result file, .csv or .xlsx"),
    scheme: Path | None = typer.Option(None, help="scheme directory (default YILIAN_DRG_SCHEME_DIR)"),
    translate: bool = typer.Option(False, help="translate codes through zd_map/ss_map first"),
    trace: bool = typer.Option(False, help="add the rules applied to each case"),
    check_codes: bool = typer.Option(
        False,
        "--check-codes",
        help="refuse codes missing from the scheme's dictionaries (ZD_NOT_VALID/SS_NOT_VALID, naming them); "
        "the scheme itself does not check them (SPEC §3.3)",
    ),
) -> None:
    """Group a file of discharges; a bad case gets its own status and the batch continues."""
    from rich.progress import Progress

    from yilian.config import drg_scheme_dir
    from yilian.insurance.drg.files import group_file
    from yilian.insurance.drg.rules import Grouper
    from yilian.insurance.drg.scheme import load_scheme
    from yilian.kit.errors import AppError

    try:
        grouper = Grouper(
            load_scheme(scheme or drg_scheme_dir(get_settings())), translate=translate, check_codes=check_codes
        )
        with Progress(console=console) as progress:
            task = progress.add_task("DRG 分组 / grouping", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, advance=done, total=total)

            data, results = group_file(
                grouper, file.name, file.read_bytes(), output_name=output.name, trace=trace, progress=advance
            )
    except AppError as error:
        raise _fail(error) from None
    output.write_bytes(data)
    grouped = sum(r.grouped for r in results)
    console.print(
        f"[green]{len(results)} 例，入组 grouped {grouped}，未入组 not grouped {len(results) - grouped}[/green]"
    )
    for status, count in sorted(Counter(r.status for r in results).items()):
        console.print(f"  {status}: {count}")


def _consortium(session: Any, code: str | None) -> Any:
    from yilian.insurance import repository

    found = repository.consortium_by_code(session, code)
    if found is None:
        raise typer.BadParameter(f"医共体不存在 / no such consortium: {code}")
    return found


@drg_app.command("discharges")
def drg_discharges(
    consortium: str = typer.Option("", help="consortium code (default: the first county community)"),
    scheme: Path | None = typer.Option(None, help="scheme directory (default YILIAN_DRG_SCHEME_DIR)"),
) -> None:
    """Group every discharged inpatient of the community's members not yet grouped under the scheme."""
    from rich.progress import Progress

    from yilian.config import drg_scheme_dir
    from yilian.insurance import repository
    from yilian.insurance.drg.rules import Grouper
    from yilian.insurance.drg.scheme import load_scheme
    from yilian.insurance.service import group_discharges
    from yilian.kit.db import Database

    grouper = Grouper(load_scheme(scheme or drg_scheme_dir(get_settings())))
    database = Database(_url())
    with database.session_factory.begin() as session, Progress(console=console) as progress:
        found = _consortium(session, consortium or None)
        ids = [m.id for m in repository.members(session, found.id)]
        task = progress.add_task("出院病例分组 / grouping discharges", total=None)
        done = group_discharges(
            session,
            grouper=grouper,
            institution_ids=ids,
            now=datetime.now(),
            progress=lambda n: progress.update(task, advance=n),
        )
    console.print(f"[green]{found.name}: 分组 grouped {done}[/green]")


@drg_app.command("standards")
def drg_standards(
    year: int = typer.Option(..., help="base year of the weights"),
    consortium: str = typer.Option("", help="consortium code (default: the first county community)"),
    trim: str = typer.Option("5%", help="share trimmed by rank at each end of each DRG"),
    scheme: Path | None = typer.Option(None, help="scheme directory (its name labels the standards)"),
) -> None:
    """Compute DRG relative weights and outlier limits from a year's grouped discharges."""
    from fractions import Fraction

    from yilian.config import drg_scheme_dir
    from yilian.insurance import repository
    from yilian.insurance.service import compute_standards
    from yilian.kit.db import Database

    share = Fraction(trim.rstrip("%")) / (100 if trim.endswith("%") else 1)
    name = (scheme or drg_scheme_dir(get_settings())).name
    database = Database(_url())
    with database.session_factory.begin() as session:
        found = _consortium(session, consortium or None)
        ids = [m.id for m in repository.members(session, found.id)]
        count = compute_standards(session, scheme=name, year=year, institution_ids=ids, trim=share)
    console.print(f"[green]{year}年 {count} 个DRG的权重与高低倍率界值 / weights for {count} DRGs[/green]")


@app.command("settle")
def settle_year(
    year: int = typer.Option(..., help="settlement year"),
    config: Path = typer.Option(
        ..., exists=True, dir_okay=False, help="TOML terms (docs/settlement-example.toml)"
    ),
    consortium: str = typer.Option("", help="consortium code (default: the first county community)"),
    output: Path = typer.Option(
        Path("settlement.xlsx"), "-o", "--output", help="Excel workbook; JSON beside it"
    ),
) -> None:
    """Run a year's global-budget settlement (with DRG points and capitation if configured)."""
    import json

    from yilian.config import drg_scheme_dir
    from yilian.insurance.config import load_config
    from yilian.insurance.outputs import settlement_workbook
    from yilian.insurance.service import settlement_report
    from yilian.kit.db import Database
    from yilian.kit.errors import AppError

    database = Database(_url())
    try:
        terms = load_config(config.read_text(encoding="utf-8"))
        if terms.terms.year != year:
            raise typer.BadParameter(
                f"配置年度 {terms.terms.year} 与 --year {year} 不一致 / config year differs"
            )
        with database.session_factory.begin() as session:
            found = _consortium(session, consortium or None)
            report = settlement_report(
                session, consortium=found, config=terms, scheme=drg_scheme_dir(get_settings()).name
            )
    except AppError as error:
        raise _fail(error) from None
    data = report.to_json()
    output.write_bytes(settlement_workbook(report))
    output.with_suffix(".json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    for line in data["lines"]:
        console.print(f"{line['label']:<24} {fen_to_yuan(line['fen'], grouped=True):>18}  [dim]{line['formula']}[/dim]")
    console.print(f"[green]写入 wrote {output} 和 {output.with_suffix('.json')}[/green]")


@claims_app.command("import")
def claims_import(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help=".csv or .xlsx (columns: docs/claims.md)"
    ),
    as_user: str = typer.Option(..., "--as", help="an insurance officer's account"),
) -> None:
    """Import the bureau's claims: every row is written, or none."""
    from yilian.insurance.claims import do_import_claims

    with _acting_as(as_user, "claims import") as (session, actor):
        result = do_import_claims(session, actor=actor, filename=file.name, data=file.read_bytes())
    console.print(f"[green]导入 imported {result.imported} 条，统筹 {fen_to_yuan(result.fund_fen, grouped=True)} 元[/green]")


@app.command("openapi")
def openapi(output: Path = typer.Option(..., "-o", "--output", help="where to write the JSON document")) -> None:
    """Write the JSON API's OpenAPI document (the front end's types are generated from it)."""
    import json
    import tempfile

    from yilian.app import create_app
    from yilian.config import Settings

    with tempfile.TemporaryDirectory() as scratch:  # the document needs an app, not a database
        # Only the document is wanted, never served: demo settings (no secret or chain key needed).
        app_ = create_app(Settings(database_url=f"sqlite:///{scratch}/openapi.db", demo=True))
        document = app_.openapi()
        app_.state.db.engine.dispose()
    output.write_text(json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")


@app.command("release-slots")
def release_slots() -> None:
    """Give reserved slots not taken by their release time back to the public pool (run hourly)."""
    from yilian.kit.db import Database
    from yilian.scheduling.service import do_release_reserved

    database = Database(_url())
    with database.session_factory.begin() as session:
        released = do_release_reserved(session, now=datetime.now())
    console.print(f"释放预留号源 / released {released} reserved slots")


@app.command()
def backup(
    path: Path = typer.Argument(..., help="the backup file to write (its manifest goes beside it)"),
) -> None:
    """Back up the database online (SQLite backup API / pg_dump), with a manifest of its row counts."""
    from yilian.kit.audit import load_chain_key
    from yilian.kit.backup import BackupError, manifest_path
    from yilian.kit.backup import backup as do_backup

    try:
        manifest = do_backup(_url(), path, load_chain_key(get_settings()))
    except BackupError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    rows = sum(manifest.counts.values())
    console.print(
        f"[green]已备份 / backed up {len(manifest.counts)} tables, {rows} rows, audit chain {manifest.audit_rows} "
        f"rows → {path} (manifest {manifest_path(path).name})[/green]"
    )
    if not manifest.audit_chain_ok:
        console.print(
            f"[red]审计链在第 {manifest.audit_first_bad_id} 行断开 / audit chain broken at row "
            f"{manifest.audit_first_bad_id} (backed up as it is)[/red]"
        )
        raise typer.Exit(1)


@app.command()
def restore(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="a file written by `yilian backup`"),
    replace: bool = typer.Option(False, help="overwrite a database that has tables (stop the server first)"),
) -> None:
    """Restore a backup into the configured database, then compare row counts and the audit chain."""
    from yilian.kit.audit import load_chain_key
    from yilian.kit.audit_anchor import anchor_path
    from yilian.kit.backup import BackupError
    from yilian.kit.backup import restore as do_restore

    settings = get_settings()
    try:
        report = do_restore(
            path, _url(), load_chain_key(settings), anchors=anchor_path(settings), replace=replace
        )
    except BackupError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    if not report.ok:
        for mismatch in report.mismatches:
            console.print(f"[red]{mismatch}[/red]")
        raise typer.Exit(1)
    console.print(
        f"[green]已恢复并核对 / restored and checked: {len(report.counts)} tables match the manifest, audit chain "
        f"{report.audit_rows} rows intact, head {report.audit_head[:16]}…[/green]"
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the keyed chain and check it against the anchors; exit 1 naming what is wrong."""
    from yilian.kit.audit import load_chain_key
    from yilian.kit.audit_anchor import anchor_path, verify_log
    from yilian.kit.db import READ_ONLY, make_engine

    settings = get_settings()
    key = load_chain_key(settings)
    engine = make_engine(_url())
    path = anchor_path(settings)
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        report = verify_log(connection, path, key)
    engine.dispose()
    for note in report.notes:
        console.print(note)
    if report.ok:
        console.print(f"[green]审计链完整 / chain intact: {report.rows} rows, anchors {path}[/green]")
        return
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]")
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Append the chain's head (count + hash) to the anchor file now, after checking the chain."""
    from yilian.kit.audit import load_chain_key
    from yilian.kit.audit_anchor import anchor_path, verify_log, write_anchor
    from yilian.kit.db import READ_ONLY, make_engine

    settings = get_settings()
    key = load_chain_key(settings)
    path = anchor_path(settings)
    if path is None:
        raise typer.BadParameter("内存数据库无锚点 / an in-memory database has no anchors")
    engine = make_engine(_url())
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        report = verify_log(connection, path, key)
    # A log with no anchor yet is what this command is for; anything else wrong is not vouched for.
    if report.problems and not (report.unanchored and len(report.problems) == 1):
        for problem in report.problems:
            console.print(f"[red]{problem}[/red]")
        raise typer.Exit(1)
    anchor = write_anchor(engine, path, key, checked=True)
    engine.dispose()
    if anchor is None:
        console.print(f"锚点已是最新 / the last anchor already says the current head ({path})")
    else:
        console.print(
            f"[green]已锚定 / anchored {anchor.count} rows, head {anchor.hash[:16]}… in {path}[/green]"
        )


@audit_app.command("keygen")
def audit_keygen(
    path: Path = typer.Argument(..., help="where to write the key (kept outside the database)"),
) -> None:
    """Write a new random chain key (32 bytes, hex) to PATH, readable by its owner only."""
    import os
    import secrets

    if path.exists():
        raise typer.BadParameter(f"文件已存在 / {path} exists: a chain key is never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
    console.print(f"[green]已生成 / key written to {path}; set YILIAN_AUDIT_KEY_FILE={path}[/green]")


if __name__ == "__main__":
    app()
