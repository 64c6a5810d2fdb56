"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which is not installable here).

`python tools/readme.py` writes it; `python tools/readme.py --check` exits 1 when README.md differs from what
index.ipynb gives, so CI fails on drift.
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, then run `python tools/readme.py`. -->\n\n"
DIRECTIVE = re.compile(r"^\s*#\s*\|\s*(.*)$")


def directives(source):
    "The `#| ...` directives of a cell, as a set of their first words."
    return {m.group(1).split(":")[0].split()[0] for line in source.splitlines() if (m := DIRECTIVE.match(line)) and m.group(1).strip()}


def output_text(output):
    "The markdown for one code-cell output: markdown as is, text in a fence, images and html-only outputs left out."
    if output["output_type"] == "stream": return "```\n" + "".join(output["text"]).rstrip() + "\n```"
    data = output.get("data", {})
    if "text/markdown" in data: return "".join(data["text/markdown"]).rstrip()
    if "text/plain" in data and not any(k.startswith("image/") for k in data): return "```\n" + "".join(data["text/plain"]).rstrip() + "\n```"
    return None


def render(nb_path=ROOT/"nbs"/"index.ipynb"):
    "README markdown from the notebook's markdown cells, visible code cells and their text outputs."
    nb = json.loads(Path(nb_path).read_text())
    parts = []
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        flags = directives(src)
        if "hide" in flags: continue
        if cell["cell_type"] == "markdown": parts.append(src.strip())
        elif cell["cell_type"] == "code":
            code = "\n".join(l for l in src.splitlines() if not DIRECTIVE.match(l)).strip()
            if code and "echo" not in " ".join(flags): parts.append("```python\n" + code + "\n```")
            parts += [t for o in cell.get("outputs", []) if (t := output_text(o))]
    return HEADER + "\n\n".join(p for p in parts if p) + "\n"


if __name__ == "__main__":
    text, readme = render(), ROOT/"README.md"
    if "--check" in sys.argv:
        if readme.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `python tools/readme.py` and commit it.")
        print("README.md matches nbs/index.ipynb")
    else:
        readme.write_text(text)
        print(f"wrote {readme}")
