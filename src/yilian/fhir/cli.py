"""`yilian fhir import DIR`: a folder of FHIR R4 transaction Bundles (Synthea's, another system's)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from yilian.commandline import acting_as, console

fhir_app = typer.Typer(help="FHIR R4: import a folder of transaction Bundles.", no_args_is_help=True)


@fhir_app.command("import")
def import_bundles(
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="a folder of .json Bundles"),
    as_user: str = typer.Option(..., "--as", help="the account the import is done (and audited) as"),
    region: str = typer.Option(
        "", help="county (GB/T 2260) new residents and institutions belong to; default the account's"
    ),
) -> None:
    """Load every Bundle in FOLDER in one transaction: all of them, or nothing if one fails."""
    from collections import Counter

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from yilian.fhir.api import _context
    from yilian.fhir.ingest import transaction
    from yilian.fhir.rules import FhirError

    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    created: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    try:
        with (
            acting_as(as_user, "fhir import", status="") as (session, actor),
            Progress(
                TextColumn("FHIR 导入 / importing"), BarColumn(), MofNCompleteColumn(), console=console
            ) as progress,
        ):
            task = progress.add_task("import", total=len(files))
            context = _context(session, actor, region or None)
            for path in files:
                try:
                    bundle = json.loads(path.read_text(encoding="utf-8"))
                except ValueError:
                    raise FhirError(400, "structure", f"{path.name} is not valid JSON") from None
                context.references.clear()
                try:
                    results = transaction(session, context, bundle)
                except FhirError as error:
                    for item in error.issues:
                        item["diagnostics"] = f"{path.name}: {item['diagnostics']}"
                    raise
                for _, result in results:
                    (created if result.created else matched)[result.resource_type] += 1
                progress.advance(task)
    except FhirError as error:
        for item in error.issues[:20]:
            console.print(f"[red]{item['diagnostics']}[/red]")
        console.print("[red]导入失败，未写入任何数据 / import failed; nothing was written[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]{len(files)} 个Bundle，新建 created {sum(created.values())} 个资源[/green]")
    for resource_type in sorted(created | matched):
        console.print(
            f"  {resource_type}: {created[resource_type]} 新建"
            + (f"，{matched[resource_type]} 已存在" if matched[resource_type] else "")
        )
