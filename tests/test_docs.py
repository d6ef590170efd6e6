"""The documentation site builds cleanly, links only to what exists, and is
generated from the code.

One session-scoped build (marker ``docs``) in the fast mode: Sphinx with
``-n -W --keep-going`` (every warning, including an unresolved
cross-reference, fails) and the notebooks rendered without executing them
(``tests/test_notebooks.py`` executes them; ``make docs`` does both). The
built HTML is then crawled: every relative ``href``/``src`` must reach a file
and every ``#fragment`` an element id of the page it points to.
"""

from __future__ import annotations

import argparse
import html.parser
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD_TIMEOUT_S = 600


# --- the internal link check -------------------------------------------------------
class _Page(html.parser.HTMLParser):
    """Ids defined on a page and the relative links it makes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            value = attrs.get(key)
            if value and not re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", value, re.I):
                self.links.append(value)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def broken_internal_links(site: Path) -> list[str]:
    """``page: link`` for every relative link of ``site`` that leads nowhere."""
    pages = {
        p: _parse(p)
        for p in site.rglob("*.html")
        if "_static" not in p.relative_to(site).parts  # theme templates
    }
    broken = []
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            target = (
                path
                if not parts.path
                else (path.parent / unquote(parts.path)).resolve()
            )
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {link}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(site)}: {link}")
    return sorted(set(broken))


def test_link_check_finds_a_broken_link(tmp_path):
    (tmp_path / "a.html").write_text(
        '<p id="top"><a href="b.html#there">ok</a> <a href="b.html#gone">x</a>'
        ' <a href="missing.html">y</a> <a href="#top">self</a>'
        ' <img src="img/fig.png"> <a href="https://example.org/x.html">ext</a></p>'
    )
    (tmp_path / "b.html").write_text('<h2 id="there">B</h2>')
    assert broken_internal_links(tmp_path) == [
        "a.html: b.html#gone",
        "a.html: img/fig.png",
        "a.html: missing.html",
    ]


# --- the build ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The site built once, notebooks not executed; fails on any warning."""
    out = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, PTDENIAL_DOCS_EXECUTE="off")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    cmd = [
        sys.executable, "-m", "sphinx", "-b", "html", "-E", "-n", "-W",
        "--keep-going", "-q", "-d", str(out / "doctrees"), str(DOCS),
        str(out / "html"),
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    warnings = [ln for ln in proc.stderr.splitlines() if "WARNING" in ln]
    assert proc.returncode == 0 and not warnings, (
        "sphinx-build failed or warned:\n" + proc.stderr[-6000:]
    )
    return out / "html"


@pytest.mark.docs
def test_no_broken_internal_links(site):
    broken = broken_internal_links(site)
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:40])


@pytest.mark.docs
def test_every_guide_and_notebook_has_a_page(site):
    import ptdenial_docs

    for guide in ptdenial_docs.GUIDES:
        assert (site / "guides" / f"{guide}.html").exists(), guide
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.py")):
        page = site / "notebooks" / f"{nb.stem}.html"
        assert page.exists(), f"{nb.name} has no page"
    for page in ("contract", "tables", "cli", "index"):
        assert (site / "reference" / f"{page}.html").exists(), page


@pytest.mark.docs
def test_contract_page_lists_every_column_and_check(site):
    from ptdenial import schema as S

    text = (site / "reference" / "contract.html").read_text(encoding="utf-8")
    columns = [*S.COLUMNS, *S.LABEL_COLUMNS, *S.SCORED_COLUMNS, *S.QUARANTINE_COLUMNS]
    missing = [c for c in columns if f">{c}<" not in text]
    assert not missing, f"columns missing from the contract page: {missing}"
    for check in S.Check:
        assert f">{check.value}<" in text, check


def _commands(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _commands(sub, (*path, name))


@pytest.mark.docs
def test_cli_page_has_every_command_and_option(site):
    from ptdenial.cli import build_parser

    text = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    commands = list(_commands(build_parser()))
    assert commands
    for path, sub in commands:
        assert f'id="cli-{"-".join(path)}"' in text, f"no section for {path}"
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f">{option}<" in text, f"{' '.join(path)} {option}"


@pytest.mark.docs
def test_api_pages_document_every_public_name(site):
    import ptdenial_docs

    ids = set()
    for page in (site / "api").glob("*.html"):
        ids |= _parse(page).ids
    modules = {m: importlib.import_module(m) for m in ptdenial_docs.API_MODULES}
    missing = []
    for module_name, module in modules.items():
        for name in getattr(module, "__all__", []):
            if name.startswith("__"):
                continue
            home = ptdenial_docs._home_of(name, getattr(module, name), modules)
            if f"{home}.{name}" not in ids:
                missing.append(f"{module_name}.{name} (home {home})")
    assert not missing, missing


@pytest.mark.docs
def test_params_page_lists_every_assumption(site):
    import dataclasses

    from ptdenial.datasets import SyntheticParams

    page = site / "reference" / "synthetic-params.html"
    text = page.read_text(encoding="utf-8")
    missing = [
        f.name for f in dataclasses.fields(SyntheticParams) if f">{f.name}<" not in text
    ]
    assert not missing, missing


@pytest.mark.docs
def test_rules_page_lists_every_rule(site):
    from ptdenial.rules import rule_catalogue

    rules = site / "rules.html"
    page = rules if rules.exists() else site / "reference" / "rules.html"
    text = page.read_text(encoding="utf-8")
    missing = [r for r in rule_catalogue()["rule_id"] if r not in text]
    assert not missing, missing


# --- pieces that do not need a build ----------------------------------------------
def test_every_column_has_a_description():
    from ptdenial import schema as S

    columns = {
        *S.COLUMNS,
        *S.LABEL_COLUMNS,
        *S.SCORED_COLUMNS,
        *S.QUARANTINE_COLUMNS,
    }
    described = S.COLUMN_DESCRIPTIONS
    assert set(described) == columns, (
        f"undescribed: {sorted(columns - set(described))}; "
        f"stale: {sorted(set(described) - columns)}"
    )
    assert all(text.strip() for text in described.values())


def test_contract_page_states_the_dated_documentation_rule():
    import ptdenial_docs

    from ptdenial import schema as S

    page = ptdenial_docs.contract_page()
    section = page.split("(dated-documentation)=", 1)[1].split("(quarantine)=")[0]
    assert "absent for the line's features" in section
    for field, date in S.DATED_FIELDS.items():
        assert f"| `{field}` | `{date}` |" in section, field


def test_extra_pages_join_the_navigation(tmp_path, monkeypatch):
    """A page another change drops into docs/ gets a place in the toctree."""
    import ptdenial_docs

    (tmp_path / "guides").mkdir()
    for name in ("index.md", "security.md", "rules.md"):
        (tmp_path / name).write_text("# x\n")
    for name in ("index.md", "nightly-job.md", "fix-and-recover.md"):
        (tmp_path / "guides" / name).write_text("# x\n")
    monkeypatch.setattr(ptdenial_docs, "DOCS", tmp_path)
    assert ptdenial_docs._extra_pages() == {
        "guides": ["security", "guides/fix-and-recover"],
        "reference": ["rules"],
    }
    source = ["@GUIDES@"]
    ptdenial_docs._expand_guides(None, "guides/index", source)
    assert source[0].splitlines() == [
        *ptdenial_docs.GUIDES,
        "/security",
        "fix-and-recover",
    ]
    assert "/rules" in ptdenial_docs.reference_index()
    page = ["---\ntitle: x\n---\n# Rules\n"]
    ptdenial_docs._label_rules_page(None, "rules", page)
    assert page[0] == "---\ntitle: x\n---\n(rule-catalogue)=\n# Rules\n"


@pytest.fixture(autouse=True, scope="module")
def _ext_on_path():
    sys.path.insert(0, str(DOCS / "_ext"))
    yield
    sys.path.remove(str(DOCS / "_ext"))
