"""``gep init DIR``: write a starter project (thin: the files come from :mod:`gep.jobs.starter`)."""

from __future__ import annotations

from pathlib import Path

import typer

from gep.cli.shell import App, emit, say

app = App()


@app.command("init")
def init_cmd(
    folder: Path = typer.Argument(..., help="New (or empty) folder for the project."),
    data: bool = typer.Option(True, "--data/--no-data", help="Copy the demo county's data into FOLDER/data (default), or write only the scenario and README."),
    as_json: bool = typer.Option(False, "--json", help="Print the files written as JSON."),
) -> None:
    """Write a starter project: FOLDER/scenario.toml (every key, the unused ones commented out) and the demo data.

    `gep run FOLDER/scenario.toml` runs it as it is; replace the data by your own.
    """
    from gep.jobs import starter

    files = starter.write(folder, data=data)
    if as_json:
        emit({"folder": folder.as_posix(), "files": files})
        return
    say(f"wrote {folder.as_posix()}/ ({len(files)} files): scenario.toml, README.md" + (", data/" if data else ""))
    say(f"next: gep run {(folder / 'scenario.toml').as_posix()}")
