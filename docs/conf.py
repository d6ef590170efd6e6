"""Sphinx configuration of the ptdenial documentation site.

Build with ``make docs`` (output in ``docs/_build/html``). The reference pages
(claim contract, rule catalogue, reference tables, command line, API) and the
notebook pages are generated from the code at every build by
``docs/_ext/ptdenial_docs.py``; only the guides are written by hand.

Environment
-----------
PTDENIAL_DOCS_EXECUTE
    How the notebooks run: ``force`` (default: executed at every build, so
    their figures show what the code does now), ``cache`` (re-executed only
    when a notebook changes; stored under ``docs/_build/.jupyter_cache``) or
    ``off`` (rendered without outputs: the fast mode of ``tests/test_docs.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))  # the checkout's ptdenial wins over an installed one
# ... in the notebook kernels too, which inherit this environment
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
)

import ptdenial  # noqa: E402

project = "ptdenial"
author = "ptdenial contributors"
copyright = "ptdenial contributors, MIT license"
release = ptdenial.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "ptdenial_docs",
]

# .md pages (MyST) and the notebooks' jupytext py:percent files
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".py": "myst-nb"}
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
# Only the notebook copies are .py sources; conf.py and _ext/ are not pages.
exclude_patterns = [
    "_build",
    "_ext",
    "_static",
    "_templates",
    "conf.py",
    "**.ipynb_checkpoints",
    "Thumbs.db",
    ".DS_Store",
]
root_doc = "index"

# --- notebooks (myst-nb) -------------------------------------------------------
nb_execution_mode = os.environ.get("PTDENIAL_DOCS_EXECUTE", "force")
nb_execution_timeout = 600
nb_execution_raise_on_error = True  # a failing notebook fails the build
nb_execution_show_tb = True
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "attrs_inline"]
myst_heading_anchors = 3

# --- API (autodoc + numpydoc) ----------------------------------------------------
autodoc_typehints = "none"  # the numpydoc sections carry the types
autodoc_member_order = "bysource"
autodoc_default_options = {"exclude-members": "__init__, __new__"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False

# --- warnings -------------------------------------------------------------------
# Every internal reference must resolve (the test builds with -n -W). Targets
# outside ptdenial (no network here for intersphinx) and private modules
# (``ptdenial.x._y``, deliberately not documented) are plain text.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(pandas|pd|numpy|np|pyarrow|pa|pyspark|sklearn|lightgbm|skops"
        r"|matplotlib|scipy|pyx12|tqdm|nbclient|jupytext)(\..*)?",
    ),
    (
        r"py:.*",
        r"(datetime|pathlib|os|io|collections|typing|enum|dataclasses"
        r"|argparse|logging|json|hashlib|tomllib|zoneinfo|re)(\..*)?",
    ),
    (
        r"py:.*",
        r"(str|int|float|bool|bytes|dict|list|tuple|set|frozenset|object"
        r"|None|callable|Path|Exception|ValueError|TypeError|KeyError"
        r"|OSError|Warning|UserWarning|RuntimeError)",
    ),
    (r"py:.*", r"ptdenial(\.\w+)*\._\w+.*"),  # private modules and names
]
suppress_warnings = ["mystnb.unknown_mime_type"]

# --- HTML -------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"ptdenial {release}"
html_static_path = ["_static"]
html_css_files = ["ptdenial.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # pages of wide tables and notebook outputs get the width of the right column
    # (pages not listed here, notebooks and the contract and tables pages, have
    # no right column: their wide tables and outputs get its width)
    "secondary_sidebar_items": {
        "*": ["page-toc"],  # top-level pages (security, rules ... when they exist)
        "guides/*": ["page-toc"],
        "api/*": ["page-toc"],
        "reference/cli": ["page-toc"],
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "collapse_navigation": True,
    "header_links_before_dropdown": 6,
}
html_sidebars = {"index": []}
pygments_style = "sphinx"
# "--out" stays two hyphens and 'quotes' stay straight: this site quotes
# command lines and help text verbatim.
smartquotes = False
