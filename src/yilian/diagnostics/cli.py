"""`yilian diagnostics`: folders of DICOM files, ECG exports and the recognition catalogue."""

from __future__ import annotations

from pathlib import Path

import typer

from yilian.commandline import acting_as, console

diagnostics_app = typer.Typer(
    help="Shared diagnostic centres: DICOM import, ECG exports, recognition catalogue.", no_args_is_help=True
)


@diagnostics_app.command("import-dicom")
def import_dicom(
    folder: Path = typer.Argument(
        ..., exists=True, file_okay=False, help="a folder of DICOM files (searched recursively)"
    ),
    as_user: str = typer.Option(..., "--as", help="the account the import is done (and audited) as"),
    store: Path | None = typer.Option(None, help="DICOM store (default YILIAN_DICOM_DIR)"),
) -> None:
    """File every DICOM file under FOLDER against its order or resident; the rest is quarantined with why."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from yilian.config import get_settings
    from yilian.diagnostics.ingest import files_in, ingest

    files = files_in(folder)
    with (
        acting_as(as_user, "diagnostics import-dicom", status="") as (session, actor),
        Progress(
            TextColumn("DICOM 归档 / filing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("filing", total=len(files))
        result = ingest(
            session,
            actor=actor,
            files=files,
            store_root=store or Path(get_settings().dicom_dir),
            progress=lambda done: progress.advance(task, done),
        )
    console.print(
        f"[green]收到 received {result.received}，归档 filed {result.filed}，重复 duplicates {result.duplicates}，"
        f"检查 studies {result.studies}，送达检查单 orders acquired {result.orders_acquired}[/green]"
    )
    if result.quarantined:
        console.print(
            f"[yellow]隔离 quarantined {result.quarantined} 个文件，请在“检查结果”页或 /api/diagnostics/quarantine 处理[/yellow]"
        )


@diagnostics_app.command("ecg-import")
def ecg_import(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="检查号, 心率, PR间期, QRS时限, QT间期, QTc, 心律, 采集时间"
    ),
    as_user: str = typer.Option(..., "--as"),
) -> None:
    """The ECG carts' export: measurements onto their orders, every row or none."""
    from yilian.diagnostics.ecg import do_import_ecg

    with acting_as(as_user, "diagnostics ecg-import") as (session, actor):
        count = do_import_ecg(session, actor=actor, filename=file.name, data=file.read_bytes())
    console.print(f"[green]{count} 份心电图 / ECGs[/green]")


@diagnostics_app.command("catalogue-import")
def catalogue_import(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="项目编码, 项目名称, 类别, 检查类型, 有效期(天), 需质控合格, 价格(元), 生效日期, 失效日期",
    ),
    as_user: str = typer.Option(..., "--as", help="a consortium administrator"),
) -> None:
    """The consortium's mutual-recognition catalogue, added or updated; every row or none."""
    from yilian.diagnostics.recognition import do_import_catalogue

    with acting_as(as_user, "diagnostics catalogue-import") as (session, actor):
        count = do_import_catalogue(session, actor=actor, filename=file.name, data=file.read_bytes())
    console.print(f"[green]{count} 个互认项目 / items[/green]")
