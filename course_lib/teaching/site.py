"""A static HTML version of the course, built from the saved (executed) notebooks, and a link check.

    python -m course_lib.teaching.site build [--out build/site] [--notebooks notebooks]
    python -m course_lib.teaching.site check build/site

``build`` writes one page per lesson (its saved outputs, plots embedded; nothing is executed), an
``index.html`` listing the lessons in order, and previous/next links on every page. The pages load
nothing from the internet: nbconvert's CDN scripts (require.js, MathJax, the widget manager) are left
out, LaTeX is drawn as SVG images by Matplotlib's mathtext, and each widget appears as it was first
drawn (its controls shown, disabled). A walkthrough of the model (``course_lib.lessons.walkthrough``)
cannot step without its kernel: its first render says so and links to the storyboard the lesson saved
next to it, every step of the pass as a still frame (SVG and HTML), which a reader follows frame by
frame with links alone. Links between notebooks (``04_attention.ipynb#...``) point to
the pages instead. ``check`` follows every internal link, anchor and image of a built site and lists
external links without fetching them; it exits with status 1 if anything internal is broken.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import html
import io
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser

LESSON_NAME = re.compile(r"^\d\d_[\w-]+\.ipynb$")
# A link to a lesson notebook in the same folder, with an optional anchor: 04_attention.ipynb#Queries
NOTEBOOK_LINK = re.compile(r"""(href=["'])(?:\./)?(\d\d_[\w-]+)\.ipynb(#[^"']*)?(["'])""")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NO_ALT = "A figure (no text description was saved with it)"
# The walkthrough's drawing of the model, and the title of a storyboard with its id (lessons/walkthrough.py).
WALKTHROUGH_MARK = 'class="course-walk-machine"'
STORYBOARD_ANCHOR = re.compile(r'class="course-walk-story-title" id="([A-Za-z][\w-]*-steps)"')


@dataclass(frozen=True)
class Lesson:
    """One notebook of the course and what the site says about it."""

    notebook: Path
    title: str
    summary: str  # one line of Markdown

    @property
    def page(self) -> str:
        """The lesson's page, next to the index: ``04_attention.html``."""
        return self.notebook.stem + ".html"


# --------------------------------------------------------------------------- reading the lessons


def find_lessons(folder: Path) -> list[Path]:
    """The lesson notebooks in ``folder`` (``NN_name.ipynb``), in course order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"notebook folder {str(folder)!r} does not exist")
    lessons = sorted(p for p in folder.iterdir() if LESSON_NAME.match(p.name))
    if not lessons:
        raise FileNotFoundError(f"no lesson notebooks (NN_name.ipynb) in {str(folder)!r}")
    return lessons


def describe_lesson(notebook: Path, nb) -> Lesson:
    """Title and one-line summary from the notebook's first Markdown cell.

    The title is its first heading; the summary is the opening of the paragraph after it: whole
    sentences, as many as fit in about 200 characters (always at least one).
    """
    first = next((cell for cell in nb.cells if cell.cell_type == "markdown"), None)
    if first is None:
        raise ValueError(f"{notebook.name} has no Markdown cell to take a title from")
    blocks = [block.strip() for block in re.split(r"\n\s*\n", first.source) if block.strip()]
    if not blocks or not blocks[0].startswith("#"):
        raise ValueError(f"{notebook.name}: the first Markdown cell must start with a '# Title' heading")
    title = blocks[0].splitlines()[0].lstrip("#").strip()
    paragraph = next((" ".join(b.split()) for b in blocks[1:] if not b.startswith(("#", "-", "*", "1."))), "")
    return Lesson(notebook, title, first_sentences(paragraph))


def first_sentences(text: str, limit: int = 200) -> str:
    """The first sentence of ``text``, plus following ones while the total stays within ``limit`` characters."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(*`])", text)
    summary = sentences[0]
    for sentence in sentences[1:]:
        if len(summary) + 1 + len(sentence) > limit:
            break
        summary += " " + sentence
    return summary


# --------------------------------------------------------------------------- widgets as their first render


def static_widgets(nb) -> None:
    """Replace every widget output of ``nb`` by HTML of the widget as it was first drawn (in place).

    The saved widget state (the notebook's metadata) holds each widget's values; the page shows the
    views (HTML, images) and the controls, disabled, with their values. The state is then removed, so
    that nbconvert does not add the widget manager script (from a CDN) to the page.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    storyboards = storyboard_anchors(nb)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            model_id = view.get("model_id", "")
            if model_id in state:
                body = _widget_html(model_id, state)
                walkthrough = WALKTHROUGH_MARK in body and storyboards
                output["data"] = {"text/html": _widget_note(body, storyboards[0] if walkthrough else None)}
            else:
                output["data"] = {
                    "text/plain": output["data"].get("text/plain", "(an interactive widget: run the notebook)")
                }
    nb.metadata.pop("widgets", None)


def storyboard_anchors(nb) -> list[str]:
    """The ids of the storyboards saved in ``nb``'s outputs (``walk-steps``...), in order."""
    anchors = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html", "")
            markup = "".join(markup) if isinstance(markup, list) else markup
            anchors += STORYBOARD_ANCHOR.findall(markup)
    return anchors


def _widget_note(body: str, storyboard: str | None = None) -> str:
    text = "Interactive in the notebook; shown here as first drawn."
    if storyboard:
        text += f' Every step of this pass, as still frames: <a href="#{storyboard}">the storyboard below</a>.'
    note = f'<p class="course-widget-note">{text}</p>'
    return f'<div class="course-widget">{note}{body}</div>'


def _widget_html(model_id: str, state: Mapping) -> str:
    """Static HTML for the widget ``model_id`` and its children."""
    model = state.get(model_id.removeprefix("IPY_MODEL_"))
    if model is None:
        return ""
    name, values = model["model_name"], model["state"]
    label = html.escape(values.get("description") or "")
    if name in ("VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel"):
        direction = "row" if name == "HBoxModel" else "column"
        children = "".join(_widget_html(child, state) for child in values.get("children", []))
        return f'<div class="course-widget-box" style="flex-direction:{direction}">{children}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{label and label + ' '}{values.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<div>{html.escape(values.get('value', ''))}</div>"
    if name == "ImageModel":
        return _image_widget_html(model, values)
    return _control_html(name, values, label)


def _image_widget_html(model: Mapping, values: Mapping) -> str:
    data = next((b["data"] for b in model.get("buffers", []) if b.get("path") == ["value"]), "")
    alt = html.escape(values.get("tooltip") or NO_ALT)
    return f'<img src="data:image/{values.get("format", "png")};base64,{data}" alt="{alt}">'


def _control_html(name: str, values: Mapping, label: str) -> str:
    """A disabled HTML control showing a slider's, text box's, menu's... value."""
    value = values.get("value")
    if name.endswith("SliderModel") and not isinstance(value, list):
        shown = format(value, values.get("readout_format") or "")
        control = (
            f'<input type="range" disabled min="{values.get("min")}" max="{values.get("max")}" '
            f'step="{values.get("step")}" value="{value}"> <output>{html.escape(shown)}</output>'
        )
    elif name in ("TextModel", "IntTextModel", "FloatTextModel", "BoundedIntTextModel", "BoundedFloatTextModel"):
        control = f'<input type="text" disabled value="{html.escape(str(value))}">'
    elif name == "TextareaModel":
        control = f"<textarea disabled rows=4>{html.escape(str(value))}</textarea>"
    elif name in ("DropdownModel", "SelectModel", "RadioButtonsModel", "ToggleButtonsModel"):
        labels, index = values.get("_options_labels", []), values.get("index")
        options = "".join(
            f"<option{' selected' if i == index else ''}>{html.escape(str(o))}</option>" for i, o in enumerate(labels)
        )
        control = f"<select disabled>{options}</select>"
    elif name == "CheckboxModel":
        control = f"<input type=checkbox disabled{' checked' if value else ''}>"
    elif name == "ButtonModel":
        return f"<div><button disabled>{label}</button></div>"
    else:
        kind = name.removesuffix("Model")
        return f'<div class="course-widget-missing">[{kind} widget: run the notebook to use it]</div>'
    return f'<div class="course-widget-control"><label>{label} {control}</label></div>'


# --------------------------------------------------------------------------- LaTeX as images


# Commands Matplotlib's mathtext lacks, rewritten to ones it has (the alt text keeps the original).
_MATHTEXT_REWRITES = [
    (re.compile(r"\\tfrac"), r"\\frac"),
    (re.compile(r"\\frac(\d)(\d)"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\[Bb]ig[lr]?(?![a-zA-Z])"), ""),
    (re.compile(r"\\sqrt\s+(\w)"), r"\\sqrt{\1}"),
]


@functools.cache
def math_html(tex: str, display: bool = False) -> str:
    """``tex`` drawn as an inline SVG image (alt text: the TeX), or as code when mathtext cannot draw it."""
    source = tex.strip()
    for pattern, replacement in _MATHTEXT_REWRITES:
        source = pattern.sub(replacement, source)
    if display:  # full-size fractions, as TeX sets them in displayed formulas
        source = re.sub(r"\\frac(?![a-zA-Z])", r"\\dfrac", source)
    prop = FontProperties(size=13 if display else 11.5, math_fontfamily="cm")  # Computer Modern, as in TeX
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "course"}):
        try:
            width, height, depth, _, _ = MathTextParser("path").parse(f"${source}$", dpi=72, prop=prop)
        except ValueError:
            return f'<code class="course-math">{html.escape(tex)}</code>'
        figure = Figure(figsize=(width / 72, height / 72))
        figure.text(0, depth / height, f"${source}$", fontproperties=prop)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", dpi=72, transparent=True, metadata={"Date": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    image = (
        f'<img class="course-math" src="data:image/svg+xml;base64,{data}" alt="{html.escape(tex.strip())}" '
        f'style="width:{width:.1f}pt; height:{height:.1f}pt; vertical-align:{-depth:.1f}pt">'
    )
    return f'<div class="course-math-display">{image}</div>' if display else image


def markdown_html(source: str, path: str = "", attachments: Mapping | None = None) -> str:
    """Markdown as HTML the way nbconvert renders a cell (images under ``path`` embedded), math as images."""
    # nbconvert, jinja2 and nbformat are the optional "lab" packages (pyproject.toml): imported where a page
    # is built, so that the link checker and the rest of the module work without them.
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class MathAsImages(IPythonRenderer):
        def block_math(self, body: str) -> str:
            return math_html(body, display=True)

        def inline_math(self, body: str) -> str:
            return math_html(body)

    renderer = MathAsImages(escape=False, attachments=attachments or {}, embed_images=True, path=path)
    return MarkdownWithMath(renderer=renderer).render(source)


def _exporter():
    """nbconvert's HTML exporter with the course template and math drawn by :func:`math_html`."""
    from jinja2 import DictLoader, pass_context
    from nbconvert import HTMLExporter

    class CourseExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            path = context.get("resources", {}).get("metadata", {}).get("path", "")
            return markdown_html(source, path, context.get("cell", {}).get("attachments"))

    return CourseExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"course_lesson.html.j2": TEMPLATE})],
        template_file="course_lesson.html.j2",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )


# Extends nbconvert's "lab" page: no scripts from a CDN, alt text on figures, course navigation.
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">{{ resources.course_css }}</style>{%- endblock extra_css -%}
{%- block body_header -%}{{ super() }}{{ resources.course_nav }}{%- endblock body_header -%}
{%- block body_footer -%}{{ resources.course_nav }}{{ super() }}{%- endblock body_footer -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ ((output | get_metadata('alt', 'image/png')) or resources.course_no_alt) | escape_html }}"
{%- set width = output | get_metadata('width', 'image/png') %}
{%- if width is not none %} width={{ width }}{% endif %}
{%- set height = output | get_metadata('height', 'image/png') %}
{%- if height is not none %} height={{ height }}{% endif %}>
</div>
{% endblock data_png %}
"""

CSS = """
.course-nav { display: flex; justify-content: space-between; gap: 1em; max-width: 1100px;
  margin: 0.5em auto; padding: 0.6em 1em; font: 15px/1.4 system-ui, sans-serif;
  border-bottom: 1px solid #ccc; }
.course-nav a { color: #0b5394; }
.course-widget { border-left: 3px solid #56B4E9; padding-left: 0.6em; }
.course-widget-note { font-style: italic; color: #555; margin: 0 0 0.4em 0; }
.course-widget-box { display: flex; gap: 0.4em; flex-wrap: wrap; align-items: flex-start; }
.course-widget img { max-width: 100%; height: auto; }
.course-widget-control label { display: inline-flex; gap: 0.5em; align-items: center; }
.course-math-display { text-align: center; margin: 0.6em 0; }
.course-walk-card, .course-walk-story-title { scroll-margin-top: 1em; }
.course-walk-card:target { outline: 4px solid #E69F00; }
"""


# --------------------------------------------------------------------------- building


def lesson_page(lesson: Lesson, nb, previous: Lesson | None, following: Lesson | None) -> str:
    """The HTML page of one lesson: its saved outputs, static widgets, links between lessons rewritten."""
    nb = copy.deepcopy(nb)
    static_widgets(nb)
    nb.metadata["title"] = lesson.title
    resources = {
        "course_nav": navigation_html(previous, following),
        "course_css": CSS,
        "course_no_alt": NO_ALT,
        "metadata": {"name": lesson.notebook.stem, "path": str(lesson.notebook.parent)},
    }
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return rewrite_notebook_links(body)


def navigation_html(previous: Lesson | None, following: Lesson | None) -> str:
    """The bar at the top and bottom of a lesson: previous lesson, the index, next lesson."""

    def link(lesson: Lesson | None, text: str, rel: str) -> str:
        if lesson is None:
            return "<span></span>"
        return f'<a href="{lesson.page}" rel="{rel}">{text}: {html.escape(lesson.title)}</a>'

    parts = [
        link(previous, "← Previous", "prev"),
        '<a href="index.html">All lessons</a>',
        link(following, "Next", "next"),
    ]
    if following is not None:
        parts[2] = parts[2].replace("</a>", " →</a>")
    return f'<nav class="course-nav" aria-label="Lessons">{"".join(parts)}</nav>'


def rewrite_notebook_links(page: str) -> str:
    """Point links to lesson notebooks (``href="04_attention.ipynb#x"``) at their pages (``04_attention.html#x``)."""
    return NOTEBOOK_LINK.sub(lambda m: f"{m[1]}{m[2]}.html{m[3] or ''}{m[4]}", page)


def index_page(lessons: Iterable[Lesson], title: str = "How large language models work") -> str:
    """The site's front page: every lesson in order, with its one-line summary."""
    items = []
    for lesson in lessons:
        summary = markdown_html(lesson.summary).strip().removeprefix("<p>").removesuffix("</p>")
        items.append(f'<li><a href="{lesson.page}">{html.escape(lesson.title)}</a><p>{summary}</p></li>')
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)}</title>
<style>
body {{ max-width: 50em; margin: 2em auto; padding: 0 1em; font: 17px/1.5 system-ui, sans-serif; color: #222; }}
ul {{ list-style: none; padding: 0; }} li {{ margin-bottom: 1em; }}
li a {{ font-weight: bold; color: #0b5394; }} li p {{ margin: 0.2em 0 0 0; }}
</style>
</head>
<body>
<main>
<h1>{html.escape(title)}</h1>
<p>The lessons as saved, with their outputs. To change the code and move the sliders, open the
notebooks in JupyterLab (<code>make lab</code>).</p>
<ul>
{chr(10).join(items)}
</ul>
</main>
</body>
</html>
"""


def build_site(notebooks: Path, out: Path) -> list[Path]:
    """Write the index and one page per lesson of ``notebooks`` into ``out``; return the pages written.

    Pages left by an earlier build (``index.html``, ``NN_name.html``) are removed first.
    """
    import nbformat  # deferred: see markdown_html

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("[0-9][0-9]_*.html"), out / "index.html"]:
        stale.unlink(missing_ok=True)
    paths = find_lessons(Path(notebooks))
    books = [nbformat.read(path, as_version=4) for path in paths]
    lessons = [describe_lesson(path, nb) for path, nb in zip(paths, books, strict=True)]
    written = [out / "index.html"]
    written[0].write_text(rewrite_notebook_links(index_page(lessons)), encoding="utf-8")
    for i, (lesson, nb) in enumerate(zip(lessons, books, strict=True)):
        previous = lessons[i - 1] if i > 0 else None
        following = lessons[i + 1] if i + 1 < len(lessons) else None
        page = out / lesson.page
        page.write_text(lesson_page(lesson, nb, previous, following), encoding="utf-8")
        written.append(page)
    return written


# --------------------------------------------------------------------------- checking links


@dataclass
class PageRefs:
    """What one HTML page defines (ids) and points to (links and loaded resources)."""

    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)  # followed by the reader: <a href>
    loads: list[str] = field(default_factory=list)  # fetched by the browser: <img src>, <script src>, ...


# What a style sheet loads: url(...) and @import "...".
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


class _RefParser(HTMLParser):
    LOADED = {"img": "src", "script": "src", "iframe": "src", "source": "src", "video": "src", "audio": "src"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs = PageRefs()
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.refs.loads += [a or b for a, b in CSS_URL.findall(data)]

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.in_style = self.in_style or tag == "style"
        if attributes.get("style"):
            self.refs.loads += [a or b for a, b in CSS_URL.findall(attributes["style"])]
        for name in ("id", "name") if tag == "a" else ("id",):  # <a name="x"> is an old-style anchor
            if attributes.get(name):
                self.refs.ids.add(attributes[name])
        if tag in ("a", "area") and attributes.get("href"):
            self.refs.links.append(attributes["href"])
        elif tag == "link" and attributes.get("href"):
            self.refs.loads.append(attributes["href"])
        elif tag in self.LOADED and attributes.get(self.LOADED[tag]):
            self.refs.loads.append(attributes[self.LOADED[tag]])


def page_refs(page: Path) -> PageRefs:
    """The ids, links and loaded resources of one HTML file."""
    parser = _RefParser()
    parser.feed(Path(page).read_text(encoding="utf-8"))
    parser.close()
    return parser.refs


@dataclass
class LinkReport:
    """The outcome of :func:`check_site`: broken internal references, and external links (not fetched)."""

    pages: int = 0
    checked: int = 0
    broken: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken

    def text(self) -> str:
        lines = [f"checked {self.checked} internal links and images in {self.pages} pages"]
        if self.external:
            lines.append(f"{len(self.external)} external links (listed, not fetched):")
            lines += [f"  {line}" for line in self.external]
        if self.broken:
            lines.append(f"{len(self.broken)} BROKEN:")
            lines += [f"  {line}" for line in self.broken]
        else:
            lines.append("no broken internal links")
        return "\n".join(lines)


def check_site(site: Path) -> LinkReport:
    """Check every page of ``site``: internal links, anchors and images must resolve; nothing may load
    from the internet; external links are listed, not fetched."""
    site = Path(site).resolve()
    if not site.is_dir():
        raise FileNotFoundError(f"site folder {str(site)!r} does not exist: build it first")
    pages = sorted(site.rglob("*.html"))
    if not pages:
        raise FileNotFoundError(f"no HTML pages in {str(site)!r}: build the site first")
    refs = {page: page_refs(page) for page in pages}
    report = LinkReport(pages=len(pages))
    for page, found in refs.items():
        where = page.relative_to(site).as_posix()
        for ref, loaded in [*((r, False) for r in found.links), *((r, True) for r in found.loads)]:
            problem = _check_ref(site, page, ref, loaded, refs, report)
            if problem:
                report.broken.append(f"{where}: {problem}")
    return report


def _check_ref(site: Path, page: Path, ref: str, loaded: bool, refs: Mapping[Path, PageRefs], report) -> str:
    """'' if ``ref`` (found in ``page``) is fine, else what is wrong with it."""
    parts = urlsplit(ref)
    if parts.scheme in ("data", "mailto", "javascript"):
        return ""
    shown = ref if len(ref) < 120 else ref[:117] + "..."
    if parts.scheme or ref.startswith("//"):
        if loaded:
            return f"{shown!r} would be fetched from the internet when the page is viewed"
        report.external.append(f"{ref}  (in {page.relative_to(site).as_posix()})")
        return ""
    report.checked += 1
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    if not target.is_relative_to(site):
        return f"{shown!r} points outside the site folder"
    if not target.is_file():
        return f"{shown!r}: no file {target.relative_to(site).as_posix()!r} in the site"
    anchor = parts.fragment
    if anchor and target.suffix == ".html":
        ids = refs[target].ids if target in refs else page_refs(target).ids
        if anchor not in ids and unquote(anchor) not in ids:  # browsers try the fragment as is, then decoded
            return f"{shown!r}: no element with id {unquote(anchor)!r} in {target.relative_to(site).as_posix()}"
    return ""


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.teaching.site", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the static site from the saved notebooks")
    build.add_argument("--out", type=Path, default=Path("build/site"), help="output folder (default build/site)")
    build.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="lesson folder (default notebooks)")
    check = commands.add_parser("check", help="check a built site's internal links, anchors and images (offline)")
    check.add_argument("site", type=Path, help="the built site's folder, e.g. build/site")
    args = parser.parse_args(argv)
    if args.command == "build":
        written = build_site(args.notebooks, args.out)
        print(f"wrote {len(written)} pages to {args.out} (open {args.out / 'index.html'})")
        return 0
    report = check_site(args.site)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
