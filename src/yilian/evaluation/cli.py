"""`yilian evaluation`: scoring schemes, units, scores and the yearly run with yellow cards."""

from __future__ import annotations

from pathlib import Path

import typer

from yilian.commandline import acting_as, console, database_url

evaluation_app = typer.Typer(
    help="Scoring schemes, yearly evaluation, yellow cards (e.g. 002 annex 1).", no_args_is_help=True
)


@evaluation_app.command("scheme-import")
def evaluation_scheme_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a sheet laid out like 002 annex 1"),
    code: str = typer.Option(..., help="programme code, e.g. XJ-JCSYQ"),
    name: str = typer.Option(...),
    version: str = typer.Option(..., help="a new version label; imported versions never change"),
    as_user: str = typer.Option(..., "--as", help="a health-commission account"),
) -> None:
    """Import a scoring scheme version: sections, items, weights and bonus rules (all or nothing)."""
    from yilian.evaluation.intake import do_import_scheme

    with acting_as(as_user, "evaluation scheme-import") as (session, actor):
        row = do_import_scheme(
            session,
            actor=actor,
            filename=file.name,
            data=file.read_bytes(),
            code=code,
            name=name,
            version=version,
        )
        total, cap = row.total_points, row.bonus_cap
    console.print(f"[green]方案 {code} {version}：满分 {total}，加分上限 {cap}[/green]")


@evaluation_app.command("units")
def evaluation_units(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="单位编码, 单位名称, 类别(试点/候补)"),
    code: str = typer.Option(..., help="programme code"),
    year: int = typer.Option(..., help="the year the list takes effect"),
    as_user: str = typer.Option(..., "--as"),
) -> None:
    """Register the programme's pilot and candidate units."""
    from yilian.evaluation.intake import do_register_units

    with acting_as(as_user, "evaluation units") as (session, actor):
        count = do_register_units(
            session, actor=actor, programme=code, filename=file.name, data=file.read_bytes(), year=year
        )
    console.print(f"[green]{count} 个评价单位 / units[/green]")


@evaluation_app.command("scores")
def evaluation_scores(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="单位编码, 序号, 得分, 指标值, 事件(类型=次数;…), 数量, 佐证"
    ),
    code: str = typer.Option(...),
    year: int = typer.Option(...),
    version: str = typer.Option("", help="default: the newest version"),
    as_user: str = typer.Option(..., "--as"),
) -> None:
    """Enter a year's scores with evidence (replaces that year's entries of the units in the file)."""
    from yilian.evaluation.intake import do_import_scores

    with acting_as(as_user, "evaluation scores") as (session, actor):
        count = do_import_scores(
            session,
            actor=actor,
            code=code,
            version=version or None,
            year=year,
            filename=file.name,
            data=file.read_bytes(),
        )
    console.print(f"[green]{count} 条评分 / entries[/green]")


@evaluation_app.command("run")
def evaluation_run(
    code: str = typer.Option(...),
    year: int = typer.Option(...),
    deadline: str = typer.Option(..., help="rectification deadline for this year's yellow cards, YYYY-MM-DD"),
    version: str = typer.Option(""),
    as_user: str = typer.Option(..., "--as"),
) -> None:
    """Evaluate a year: rank, yellow cards, disqualification and replacement; prints the ranking."""
    from datetime import date

    from rich.table import Table

    from yilian.evaluation.service import do_evaluate_year

    with acting_as(as_user, "evaluation run", status="评价中 / evaluating…") as (session, actor):
        result = do_evaluate_year(
            session,
            actor=actor,
            code=code,
            version=version or None,
            year=year,
            deadline=date.fromisoformat(deadline),
            database_url=database_url(),
        )
        table = Table(title=f"{result.scheme.name} {year}")
        for column in ("名次", "单位", "总分", "基础分", "加分"):
            table.add_column(column)
        for position, (unit, score) in enumerate(result.pilots, start=1):
            card = "【黄牌】" if unit.code in result.adjustment.yellow_cards else ""
            table.add_row(
                str(position), unit.name + card, str(score.total), str(score.base), str(score.bonus)
            )
    console.print(table)
    for unit_code in result.adjustment.disqualified:
        replacement = result.adjustment.replacements.get(unit_code, "—")
        console.print(
            f"[red]连续两年亮黄牌，取消资格 / disqualified: {unit_code} → 候补替补 {replacement}[/red]"
        )
