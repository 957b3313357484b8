"""Regenerate docs/notebook.png, the README's picture of a Network in a notebook: a notebook of
three cells is executed by a real Jupyter kernel, exported to HTML by nbconvert (JupyterLab's
template), and that page photographed by headless Chromium.

    python docs/make_notebook.py              # rewrite docs/notebook.png
    python docs/make_notebook.py --keep DIR   # also keep the .ipynb and .html in DIR

Needs nbconvert, nbclient and ipykernel (pip install nbconvert ipykernel), graphviz's `dot`
and Debian's chromium (apt-get install -y graphviz chromium).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1000, 3000  # the window; the picture is cropped to what the page draws

CELLS = [
    'import archdsl\nnet = archdsl.load("zoo:lenet5")\nnet',
    'resnet18 = archdsl.load("zoo:resnet18")\nprint(repr(resnet18))\nresnet18.render(depth=0)',
    'resnet18.summary(batch=16)["sizes"]',
]


def notebook_html() -> str:
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    return nb, body


def screenshot(html_path: Path, png: Path) -> None:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={profile}",
                        f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={png}",
                        html_path.as_uri()], check=True, capture_output=True, timeout=120)
    _crop(png)


def _crop(png: Path, margin: int = 16) -> None:
    """Cut the page's empty bottom (the window is taller than the notebook)."""
    from PIL import Image, ImageChops
    img = Image.open(png).convert("RGB")
    background = Image.new("RGB", img.size, img.getpixel((img.width - 1, img.height - 1)))
    box = ImageChops.difference(img, background).getbbox()
    if box:
        img.crop((0, 0, img.width, min(img.height, box[3] + margin))).save(png)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", metavar="DIR", help="keep the notebook and its HTML in DIR")
    a = p.parse_args(argv)
    if shutil.which("dot") is None:
        raise SystemExit("graphviz's dot not found: apt-get install -y graphviz")
    import nbformat
    nb, body = notebook_html()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(a.keep) if a.keep else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / "notebook.ipynb")
        page = out / "notebook.html"
        page.write_text(body, encoding="utf-8")
        screenshot(page, DOCS / "notebook.png")
    print(f"wrote {DOCS / 'notebook.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
