"""onetoone.report.render_html: content, self-containment, and a headless Chromium load."""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from onetoone.datasets import synthetic_transactions
from onetoone.errors import MissingDependencyError, ValidationError
from onetoone.measurement import (
    Goals,
    Redemptions,
    assign_holdout,
    measure_campaign,
    track_kpis,
)
from onetoone.report import AllocationSummary, render_html

START, END = "2024-07-01", "2024-08-01"
CHROMIUM = "/usr/bin/chromium"


@functools.cache
def _inputs() -> tuple[Any, Any]:
    tx = synthetic_transactions(800, 60, random_state=5)
    h = assign_holdout(tx.customers.values, fraction=0.3, salt="report")
    rng = np.random.default_rng(0)
    who = rng.choice(h.treated, 120)
    when = np.datetime64(START) + rng.integers(0, 20 * 86400, 120).astype("timedelta64[s]")
    red = Redemptions.from_arrays(
        customer=who, timestamp=when, offer=rng.choice(["10% off <fruit>", "2 for 1 & more"], 120)
    )
    kw: dict[str, Any] = {
        "treated": h.treated,
        "control": h.control,
        "start": START,
        "end": END,
        "cost": 800.0,
        "margin_rate": 0.3,
        "redemptions": red,
        "pre_period": 90,
    }
    res = measure_campaign(tx, **kw)
    k = track_kpis(
        tx,
        goals=Goals(
            target_roi=0.0,
            target_redemption_rate=0.2,
            budget=900.0,
            target_incremental_revenue=2000.0,
        ),
        **kw,
    )
    return res, k


ALLOC = {
    "spend": 790.0,
    "budget": 800.0,
    "expected_return": 1500.0,
    "shadow_price": 0.42,
    "gap": 0.0012,
    "n_customers": 560,
    "n_offers": 1100,
    "status": "optimal <proven>",
}


def _page() -> str:
    res, k = _inputs()
    return render_html(result=res, kpis=k, allocation=ALLOC, title="Spring <test> & report")


def test_report_content_and_escaping() -> None:
    page = _page()
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Spring &lt;test&gt; &amp; report</title>" in page
    for heading in ("At a glance", "Campaign result", "Daily tracking", "Offer plan"):
        assert f"<h2>{heading}" in page
    assert "optimal &lt;proven&gt;" in page  # the solver's message, escaped, in the methods
    assert "value of one more $1 of budget</th><td>$0.420" in page
    assert "extra spend per treated customer ($)" in page
    assert "return on investment (%; 0 % = break-even)" in page
    assert page.count('<img class="chart"') == 4


def test_report_is_self_contained() -> None:
    page = _page()
    assert "<script" not in page.lower()
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    # only embedded images and links to the page's own footnotes
    assert re.findall(r'(?:src|href)="(?!data:image/svg\+xml;base64,|#fn\d)', page) == []
    # every chart is a valid SVG document with its labels inside
    svgs = [
        base64.b64decode(m).decode("utf-8")
        for m in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    ]
    assert len(svgs) == 4
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert "<script" not in svg and 'xlink:href="http' not in svg
    assert any("Redemption rate by offer" in s for s in svgs)
    assert any("Spend against budget" in s for s in svgs)


def test_report_without_kpis_or_allocation_and_to_path(tmp_path: Path) -> None:
    res, _ = _inputs()
    out = tmp_path / "r.html"
    page = render_html(result=res, path=out)
    assert out.read_text(encoding="utf-8") == page
    assert "<img" not in page and "Allocation" not in page


@pytest.mark.parametrize("end", ["2024-07-02", "2024-07-03"])
def test_report_for_short_campaign_without_cost_or_goals(end: str) -> None:
    tx = synthetic_transactions(200, 30, random_state=1)
    ids = tx.customers.values
    k = track_kpis(
        tx, treated=ids[::2], control=ids[1::2], start=START, end=end, cost=0.0, goals=Goals()
    )
    page = render_html(kpis=k)
    assert page.count('<img class="chart"') == 4 and "No goals set: nothing to judge" in page
    assert "On track" not in page


def test_allocation_summary_from_mapping() -> None:
    a = AllocationSummary.from_mapping(ALLOC)
    assert a.n_offers == 1100 and a.gap == 0.0012
    with pytest.raises(ValidationError, match=r"allocation has unknown key\(s\) \['dual'\]"):
        AllocationSummary.from_mapping({"spend": 1.0, "dual": 2.0})
    with pytest.raises(ValidationError, match="allocation needs a 'spend' value"):
        AllocationSummary.from_mapping({"budget": 1.0})
    with pytest.raises(ValidationError, match="allocation values must be numbers"):
        AllocationSummary.from_mapping({"spend": "lots"})


def test_render_html_bad_input() -> None:
    res, _ = _inputs()
    with pytest.raises(ValidationError, match="needs a CampaignResult"):
        render_html()
    with pytest.raises(ValidationError, match="kpis must be a KpiSeries"):
        render_html(kpis=res)
    with pytest.raises(ValidationError, match="allocation must be an AllocationSummary"):
        render_html(result=res, allocation=[1, 2])  # type: ignore[arg-type]


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _, k = _inputs()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"onetoone\[report\]"):
        render_html(kpis=k)


# --------------------------------------------------------------------------- browser
_PROBE = (
    '<script>window.addEventListener("load",function(){var im=document.images,ok=0;'
    "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0){ok++}"
    'else{console.error("IMAGE-FAILED "+i)}}'
    'document.body.setAttribute("data-images-ok",ok+"/"+im.length)});</script>'
)


def _chromium() -> str:
    path = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if path is None:
        msg = (
            "headless Chromium not found at /usr/bin/chromium; install the Debian package "
            "'chromium' (apt-get install -y chromium)"
        )
        if os.environ.get("ONETOONE_REQUIRE_BROWSER") == "1":
            pytest.fail(msg + " -- required because ONETOONE_REQUIRE_BROWSER=1")
        pytest.skip(msg)
    return path


def _load(chromium: str, page: Path, profile: Path) -> tuple[str, list[str]]:
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    problems = [
        line
        for line in proc.stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line
    ]
    return proc.stdout, problems


def test_report_loads_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    chromium = _chromium()
    page = _page()
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")
    dom, problems = _load(chromium, report, tmp_path / "profile1")
    assert problems == [], problems
    assert "<h1>Spring &lt;test&gt; &amp; report</h1>" in dom
    assert dom.count('<img class="chart"') == 4
    # a copy with a probe script proves every embedded chart decodes in the browser
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom, problems = _load(chromium, probe, tmp_path / "profile2")
    assert problems == [], problems
    assert 'data-images-ok="4/4"' in dom


def test_browser_check_catches_a_broken_chart(tmp_path: Path) -> None:
    chromium = _chromium()
    broken = _page().replace("data:image/svg+xml;base64,", "data:image/svg+xml;base64,AAAA", 1)
    probe = tmp_path / "probe.html"
    probe.write_text(broken.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom, problems = _load(chromium, probe, tmp_path / "profile")
    assert any("IMAGE-FAILED 0" in p for p in problems)
    assert 'data-images-ok="3/4"' in dom


@pytest.mark.parametrize(("require", "outcome"), [("1", "fail"), ("", "skip")])
def test_missing_browser_fails_when_required(
    monkeypatch: pytest.MonkeyPatch, require: str, outcome: str
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os.path, "exists", lambda path: False)
    monkeypatch.setenv("ONETOONE_REQUIRE_BROWSER", require)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="install the Debian package 'chromium'"):
        _chromium()
