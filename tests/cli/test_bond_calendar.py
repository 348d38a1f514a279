"""``gep bond schedule`` / ``price`` with business-day calendars: adjusted payment dates, bad input."""

import json
from pathlib import Path

from typer.testing import CliRunner

from gep.cli.bond import app

ROOT = Path(__file__).resolve().parents[2]
HONGZHENG = ROOT / "scenarios" / "bonds" / "exchange_hongzheng03.toml"
runner = CliRunner()


def _write(tmp_path, text: str) -> str:
    p = tmp_path / "b.toml"
    p.write_text(HONGZHENG.read_text(encoding="utf-8").replace('calendar_beyond_range = "weekends"', text),
                 encoding="utf-8")
    return str(p)


def test_schedule_json_has_accrual_ends_and_adjusted_payment_dates():
    r = runner.invoke(app, ["schedule", str(HONGZHENG), "--json"])
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows[1]["accrual_end"] == "2024-06-10" and rows[1]["payment_date"] == "2024-06-11"
    r = runner.invoke(app, ["schedule", str(HONGZHENG)])
    assert "calendar SSE, following" in r.stdout


def test_unknown_calendar_exits_2_with_one_line(tmp_path):
    path = _write(tmp_path, 'calendar_beyond_range = "weekends"')
    text = Path(path).read_text(encoding="utf-8").replace('calendar = "SSE"', 'calendar = "SHSE"')
    Path(path).write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["schedule", path])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'unknown calendar "SHSE"' in lines[0] and "key calendar" in lines[0]
    assert "Traceback" not in r.stderr


def test_date_outside_the_calendar_data_exits_2_with_one_line(tmp_path):
    path = _write(tmp_path, 'calendar_beyond_range = "error"')
    for cmd in (["schedule", path], ["price", path, "--settle", "2024-06-11", "--yield", "2.5%"]):
        r = runner.invoke(app, cmd)
        assert r.exit_code == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "2027-06-10 is outside the holiday data of calendar SSE" in lines[0]
        assert 'calendar_beyond_range = "weekends"' in lines[0]
