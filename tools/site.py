"""Build the documentation site with Jupyter Book 1 from the notebooks as nbdev processes them.

`_quarto.yml` is the one description of the site (title, navigation order, repository link); where Quarto is installed,
`nbdev_docs` builds the site from it. `python tools/site.py` builds the same site without Quarto: it runs nbdev's `proc_nbs`
into `_proc/`, turns what it leaves for Quarto into what Jupyter Book understands, writes Jupyter Book's `_config.yml` and
`_toc.yml` from `_quarto.yml`, and builds HTML into `_proc/_build/html/` (open `index.html`). Notebooks are not re-executed:
the site shows the outputs committed with them. `python tools/site.py --check` then opens every page in headless Chromium
and fails unless each renders its title and all its notebook's figures with no error output; it saves a screenshot of the
landing page as `_proc/_build/index.png`.
"""
import json, re, shutil, subprocess, sys
from configparser import ConfigParser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROC = ROOT/"_proc"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def front_matter(text):
    "Title and description from a Quarto front-matter raw cell."
    fields = dict(re.findall(r"^(title|description):\s*(.*(?:\n  .*)*)", text, re.M))
    return {k: " ".join(v.split()).strip("'\"") for k, v in fields.items()}  # YAML quotes are not part of the text


def jupyter_book_cells(cells):
    "Cells for Jupyter Book: front matter as a title cell, Quarto's echo/asis directives as myst-nb tags, no leading `---` in show_doc."
    out = []
    for cell in cells:
        src = "".join(cell["source"])
        if cell["cell_type"] == "raw" and src.lstrip().startswith("---"):
            fm = front_matter(src)
            md = f"# {fm.get('title', '')}\n\n" + (f"> {fm['description']}\n" if fm.get("description") else "")
            out.append({"cell_type": "markdown", "metadata": {}, "source": md})
            continue
        if cell["cell_type"] == "code":
            lines = src.splitlines()
            if any(re.match(r"#\|\s*echo:\s*false", l) for l in lines):
                cell.setdefault("metadata", {}).setdefault("tags", []).append("remove-input")
            cell["source"] = "\n".join(l for l in lines if not re.match(r"#\|\s*(echo|output):", l))
            for o in cell.get("outputs", []):
                md = o.get("data", {}).get("text/markdown")
                if md is not None:  # docutils refuses a transition (---) as the first thing in a document part
                    text = "".join(md)
                    o["data"]["text/markdown"] = re.sub(r"\A\s*---\s*\n", "", text)
        out.append(cell)
    for i, cell in enumerate(out): cell.setdefault("id", f"cell-{i}")
    return out


def site_description(path=ROOT/"_quarto.yml"):
    "Title, repository URL and the pages in navigation order, from the Quarto website configuration."
    site = yaml.safe_load(Path(path).read_text())["website"]
    pages = [Path(p).stem for p in site["sidebar"]["contents"]]
    if pages[0] != "index": raise ValueError(f"{path}: the sidebar must start with index.ipynb, the landing page; it starts with {pages[0]}")
    return site["title"], site.get("repo-url"), pages


def write_book(nbs):
    "Jupyter Book's `_config.yml` and `_toc.yml` from `_quarto.yml`: its title, repository link and navigation order."
    cfg = ConfigParser(delimiters=["="]); cfg.read(ROOT/"settings.ini")
    title, repo, pages = site_description()
    if missing := sorted({p.stem for p in nbs} - set(pages)): raise ValueError(f"_quarto.yml: notebooks missing from the sidebar: {missing}")
    if extra := [p for p in pages if not (PROC/f"{p}.ipynb").exists()]: raise ValueError(f"_quarto.yml: sidebar pages with no notebook: {extra}")
    (PROC/"_config.yml").write_text(f"""title: {title}
author: {cfg["DEFAULT"]["author"]}
only_build_toc_files: true
repository:
  url: {repo}
  branch: main
html:
  use_repository_button: true
execute:
  execute_notebooks: "off"
parse:
  myst_enable_extensions: [attrs_inline, dollarmath, colon_fence]
sphinx:
  config:
    nb_render_markdown_format: myst
    html_show_copyright: false
""")
    chapters = "".join(f"  - file: {p}\n" for p in pages[1:])
    (PROC/"_toc.yml").write_text(f"format: jb-book\nroot: index\nchapters:\n{chapters}")


def build():
    "Process the notebooks and build the site; returns the HTML folder."
    from nbdev.serve import proc_nbs
    shutil.rmtree(PROC, ignore_errors=True)
    proc_nbs(force=True)
    nbs = sorted(PROC.glob("*.ipynb"))
    for p in nbs:
        nb = json.loads(p.read_text())
        nb["cells"] = jupyter_book_cells(nb["cells"])
        nb["metadata"]["kernelspec"] = KERNELSPEC
        p.write_text(json.dumps(nb))
    write_book(nbs)
    subprocess.run(["jupyter-book", "build", str(PROC), "--warningiserror" if "--strict" in sys.argv else "--keep-going"], check=True)
    return PROC/"_build"/"html"


CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(*args):
    "Run headless Chromium with a fresh profile; its stdout."
    import tempfile
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120).stdout


def check(html):
    "Problems found when rendering each notebook's page in Chromium (an empty list when all is well)."
    problems = []
    for nb in sorted(PROC.glob("*.ipynb")):
        page = html/f"{nb.stem}.html"
        if not page.exists(): problems.append(f"{page.name}: missing"); continue
        dom = chromium("--virtual-time-budget=5000", "--dump-dom", page.as_uri())
        figures = sum("image/png" in o.get("data", {}) for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", []))
        shown = len(re.findall(r'<img[^>]+src="[^"]*_images/[^"]+"', dom))
        errors = re.findall(r"Traceback \(most recent call last\)|class=\"[^\"]*\b(?:output error|traceback)\b", dom)
        if "<h1" not in dom: problems.append(f"{page.name}: no title rendered")
        if shown < figures: problems.append(f"{page.name}: {shown} of its {figures} figures rendered")
        if errors: problems.append(f"{page.name}: error output on the page")
        print(f"{page.name}: {shown} figures of {figures}, {len(dom):,} characters, {'errors' if errors else 'no errors'}")
    shot = html.parent/"index.png"
    shot.unlink(missing_ok=True)
    chromium("--window-size=1280,1800", f"--screenshot={shot}", (html/"index.html").as_uri())
    if not shot.exists() or shot.stat().st_size < 10_000: problems.append("index.html: no screenshot of the landing page")
    return problems


if __name__ == "__main__":
    html = build()
    print(f"site: {html/'index.html'}")
    if "--check" in sys.argv:
        if problems := check(html): sys.exit("site check failed:\n" + "\n".join(problems))
        print(f"site check passed; landing page screenshot: {html.parent/'index.png'}")
