"""``gep init DIR``: a starter project that ``gep run DIR/scenario.toml`` runs as it is.

The project is the embedded demo (``gep/data/demo/``): its scenario, where every key
gep knows is listed and the unused ones are commented out, as ``DIR/scenario.toml``,
and its data in ``DIR/data/`` (or, without the data, the scenario and a list of the
files to bring). The folder is written whole or not at all
(:func:`gep.jobs.job.output_folder`); an existing folder must be empty.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gep.io.files import package_data
from gep.jobs.job import output_folder

#: What the starter project writes besides the scenario (shown by ``gep init``).
README = """# {name}: a gep project

    gep run scenario.toml            # the GEP account, in runs/<run-id>/ (report.html, maps, tables)

`scenario.toml` lists every key gep knows; the ones in use are set, the others commented out.
{data}
To account your own region, replace the files in `data/` by your own (same names, or change
the paths in scenario.toml):

* `landcover.tif`: land-cover codes. Codes of your own classification map onto the
  coefficient set's legend with a remap table (`[coefficients] landcover_remap`:
  `lucode,code,name`), e.g. an InVEST land-cover map with 5 classes.
* `zones.tif` + `zones.csv`, or a vector file of zones (GeoPackage, shapefile, GeoJSON) with an
  id and a name field (`zone_id_field`, `zone_name_field`).
* the gridded inputs of the services you account (`gep services list`), each a GeoTIFF with a
  `units` tag or a unit given in the scenario; InVEST's carbon and biophysical tables are
  accepted as they are (`carbon_pools`, `biophysical_table`).

Every key, unit and default: docs/scenarios.md of gep; plausible and impossible values of each
input: the same page. `gep run` checks everything at once and names each problem with its line.
"""

WITH_DATA = "\n`data/` holds the SYNTHETIC demo county (a made-up landscape modelled on Liyang; not real data).\n"
WITHOUT_DATA = "\n`data/` is empty: put your files there (the names scenario.toml expects are listed in it).\n"


def write(folder: str | Path, data: bool = True) -> list[str]:
    """Write the starter project into ``folder``; return the files written (relative, sorted).

    Parameters
    ----------
    folder : path
        New or empty folder.
    data : bool
        Copy the demo data into ``folder/data`` (else only the scenario and the README).
    """
    from gep.errors import InputError

    folder = Path(folder)
    if folder.is_dir() and any(folder.iterdir()):
        raise InputError(f"{folder} is not empty; gep init writes a new project and never replaces files",
                         hint="give a new or empty folder, e.g. gep init my-county", key="folder")
    demo = package_data("demo")
    with output_folder(folder, "gep init") as tmp:
        shutil.copyfile(demo / "demo.toml", tmp / "scenario.toml")
        (tmp / "data").mkdir()
        if data:
            for f in sorted((demo / "data").iterdir()):
                if f.is_file():
                    shutil.copyfile(f, tmp / "data" / f.name)
        (tmp / "README.md").write_text(README.format(name=folder.name, data=WITH_DATA if data else WITHOUT_DATA), encoding="utf-8")
        written = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    return written


def demo_scenario() -> Path:
    """The embedded demo scenario (``gep run --demo``)."""
    return package_data("demo", "demo.toml")
