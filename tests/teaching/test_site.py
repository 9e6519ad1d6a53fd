"""The static HTML site: built from the saved lessons (nothing executed), offline, every internal link working."""

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from course_lib.teaching import site

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if site.LESSON_NAME.match(p.name))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The site built once from the real notebooks (their saved outputs)."""
    out = tmp_path_factory.mktemp("site")
    written = site.build_site(NOTEBOOKS, out)
    assert len(written) == len(LESSONS) + 1
    return out


@pytest.fixture
def broken_copy(built, tmp_path) -> Path:
    """A copy of the built site that a test may break."""
    return Path(shutil.copytree(built, tmp_path / "site"))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def saved(notebook: Path):
    return nbformat.read(notebook, as_version=4)


# --------------------------------------------------------------------------- pages and navigation


def test_every_lesson_has_a_page_and_the_index_links_to_all_in_order(built):
    index = read(built / "index.html")
    pages = re.findall(r'<li><a href="([^"]+)">', index)
    assert pages == [p.stem + ".html" for p in LESSONS]
    for notebook in LESSONS:
        page = read(built / (notebook.stem + ".html"))
        lesson = site.describe_lesson(notebook, saved(notebook))
        assert f"<title>{lesson.title}</title>" in page
        assert f">{lesson.title}</a>" in index


def test_previous_and_next_links_follow_the_course_order(built):
    names = [p.stem + ".html" for p in LESSONS]
    for i, name in enumerate(names):
        page = read(built / name)
        previous = re.findall(r'<a href="([^"]+)" rel="prev">', page)
        following = re.findall(r'<a href="([^"]+)" rel="next">', page)
        assert previous == ([names[i - 1]] * 2 if i > 0 else [])  # at the top and at the bottom
        assert following == ([names[i + 1]] * 2 if i + 1 < len(names) else [])
        assert page.count('<a href="index.html">All lessons</a>') == 2


def test_titles_and_summaries_come_from_the_first_markdown_cell():
    nb = nbformat.v4.new_notebook()
    first = "# 03 · Dot products\n\nOne idea. A second, shorter one! A third sentence " + "x" * 200 + ".\n\n- a list"
    nb.cells = [nbformat.v4.new_markdown_cell(first)]
    lesson = site.describe_lesson(Path("03_dot.ipynb"), nb)
    assert (lesson.title, lesson.summary, lesson.page) == (
        "03 · Dot products",
        "One idea. A second, shorter one!",
        "03_dot.html",
    )
    nb.cells = [nbformat.v4.new_markdown_cell("No heading here.")]
    with pytest.raises(ValueError, match="must start with a '# Title' heading"):
        site.describe_lesson(Path("03_dot.ipynb"), nb)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        site.find_lessons(Path("no/such/folder"))


# --------------------------------------------------------------------------- content: plots, math, widgets


def test_plots_are_embedded_with_alt_text(built):
    for notebook in LESSONS:
        outputs = [o for c in saved(notebook).cells for o in c.get("outputs", [])]
        pngs = sum("image/png" in o.get("data", {}) for o in outputs)
        page = read(built / (notebook.stem + ".html"))
        images = re.findall(r"<img\b[^>]*>", page)
        embedded = [i for i in images if 'src="data:image/png;base64,' in i]
        assert len(embedded) >= pngs > 0, notebook.name  # plot outputs, plus the widgets' images
        assert all(re.search(r'\balt="[^"]+"', i) for i in images), notebook.name


class ImageAlts(HTMLParser):
    """The alt text of every <img> of a page, as a browser reads it (entities decoded), and any stray attributes."""

    def __init__(self):
        super().__init__()
        self.alts: list[str | None] = []
        self.attributes: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))
            self.attributes.append([name for name, _ in attrs])


def image_alts(page: str) -> ImageAlts:
    parser = ImageAlts()
    parser.feed(page)
    return parser


TRICKY_ALT = 'Bar chart \'after "What will be" & <more>\': x = candidate, y = probability; 2 bars: "a" 0.6, <b> 0.4'


def test_an_alt_text_with_quotes_angle_brackets_and_ampersands_survives_intact(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    plot = nbformat.v4.new_code_cell("plot()")
    plot.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png}, metadata={"image/png": {"alt": TRICKY_ALT}}),
        nbformat.v4.new_output("display_data", data={"image/png": png}),  # no alt text saved
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# 00 · A lesson\n\nOne plot."), plot]
    nbformat.write(nb, notebooks / "00_a.ipynb")
    site.build_site(notebooks, tmp_path / "site")
    page = read(tmp_path / "site" / "00_a.html")
    images = image_alts(page)
    assert images.alts == [TRICKY_ALT, site.NO_ALT]
    assert all(names.count("src") == 1 and "more" not in names for names in images.attributes)
    assert "&quot;What will be&quot; &amp; &lt;more&gt;" in page


def test_the_lessons_alt_texts_reach_the_pages_unchanged(built):
    """Lessons 02 and 05 have alt texts with quotes: each must be one attribute, read back as saved."""
    for name in ("02_embeddings", "05_softmax_temperature"):
        outputs = [o for c in saved(NOTEBOOKS / f"{name}.ipynb").cells for o in c.get("outputs", [])]
        saved_alts = [
            o.metadata["image/png"]["alt"] for o in outputs if "alt" in o.get("metadata", {}).get("image/png", {})
        ]
        assert any('"' in alt for alt in saved_alts), name
        page_alts = image_alts(read(built / f"{name}.html")).alts
        missing = [alt for alt in saved_alts if alt not in page_alts]
        assert missing == [], name


def test_pages_load_nothing_from_the_internet(built):
    for page in sorted(built.glob("*.html")):
        text = read(page)
        assert not re.search(r"<script\b[^>]*\bsrc=", text), page.name  # require.js, MathJax, widget manager
        assert not re.search(r"""<link\b[^>]*\bhref=["']?(https?:)?//""", text), page.name
        assert not re.search(r"""(url\(|@import)\s*["']?(https?:)?//""", text), page.name
        assert "application/vnd.jupyter.widget" not in text, page.name  # widgets are drawn statically


def test_math_is_drawn_offline_as_images_with_the_tex_as_alt(built):
    formulas = [i for i in re.findall(r"<img\b[^>]*>", read(built / "03_dot_products.html")) if "course-math" in i]
    assert formulas and all('src="data:image/svg+xml;base64,' in i for i in formulas)
    assert any(r'alt="a \cdot b = |a|\,|b|\,\cos\theta,"' in i for i in formulas)
    for page in sorted(built.glob("*.html")):  # every formula of the course is one mathtext can draw
        assert '<code class="course-math">' not in read(page), page.name
    assert site.math_html(r"\begin{pmatrix}") == r'<code class="course-math">\begin{pmatrix}</code>'


def test_widgets_show_their_first_render(built):
    notebook = NOTEBOOKS / "03_dot_products.ipynb"
    views = sum(site.WIDGET_VIEW in o.get("data", {}) for c in saved(notebook).cells for o in c.get("outputs", []))
    page = read(built / "03_dot_products.html")
    assert page.count('<div class="course-widget">') == views > 0
    assert re.search(r'<label>Length of a <input disabled="" max="3.0" min="0.0" step="0.1" type="range"', page)


def test_links_between_notebooks_point_to_the_pages(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    links = "See [the next lesson](01_b.ipynb#Part-two) or [it](./01_b.ipynb)."  # in the summary too
    for name, text in [("00_a", links), ("01_b", "")]:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}\n\nA lesson. {text}\n\n## Part two\n\nMore.")]
        nbformat.write(nb, notebooks / f"{name}.ipynb")
    out = tmp_path / "site"
    assert site.main(["build", "--out", str(out), "--notebooks", str(notebooks)]) == 0
    for page in (read(out / "00_a.html"), read(out / "index.html")):
        assert 'href="01_b.html#Part-two"' in page and 'href="01_b.html"' in page and ".ipynb" not in page
    assert site.check_site(out).ok


# --------------------------------------------------------------------------- the link check


def test_the_built_site_passes_the_link_check(built, capsys):
    report = site.check_site(built)
    assert report.ok, report.text()
    assert report.pages == len(LESSONS) + 1 and report.checked > 10 * len(LESSONS)
    assert site.main(["check", str(built)]) == 0
    assert "no broken internal links" in capsys.readouterr().out


def test_the_link_check_reports_broken_links_anchors_and_images(broken_copy, capsys):
    page = broken_copy / "01_tokens.html"
    injected = (
        '<a href="no_such_page.html">x</a> <a href="02_embeddings.html#No-such-heading">y</a> '
        '<img src="missing.png" alt="z"> <a href="#nowhere">w</a> <a href="https://example.org/a">external</a>'
    )
    page.write_text(read(page).replace("</main>", injected + "</main>"), encoding="utf-8")
    report = site.check_site(broken_copy)
    assert not report.ok and len(report.broken) == 4
    assert report.broken == [
        "01_tokens.html: 'no_such_page.html': no file 'no_such_page.html' in the site",
        "01_tokens.html: '02_embeddings.html#No-such-heading': no element with id 'No-such-heading' in "
        "02_embeddings.html",
        "01_tokens.html: '#nowhere': no element with id 'nowhere' in 01_tokens.html",
        "01_tokens.html: 'missing.png': no file 'missing.png' in the site",
    ]
    # Besides the injected link, only each lesson's "open it in Colab / on Binder" links (plain links, no images).
    launch = ("https://colab.research.google.com/github/", "https://mybinder.org/v2/gh/")
    assert [e for e in report.external if not e.startswith(launch)] == ["https://example.org/a  (in 01_tokens.html)"]
    assert site.main(["check", str(broken_copy)]) == 1
    out = capsys.readouterr().out
    assert "4 BROKEN:" in out and f"{len(report.external)} external links (listed, not fetched):" in out


def test_the_link_check_rejects_anything_loaded_from_the_internet(broken_copy):
    page = broken_copy / "index.html"
    cdn = '<script src="https://cdn.example/require.js"></script><link rel="stylesheet" href="//cdn.example/a.css">'
    page.write_text(read(page).replace("</head>", cdn + "</head>"), encoding="utf-8")
    report = site.check_site(broken_copy)
    assert [line.split(": ", 1)[1] for line in report.broken] == [
        "'https://cdn.example/require.js' would be fetched from the internet when the page is viewed",
        "'//cdn.example/a.css' would be fetched from the internet when the page is viewed",
    ]
    (broken_copy / "index.html").write_text('<a href="../outside.html">up</a>', encoding="utf-8")
    assert "points outside the site folder" in site.check_site(broken_copy).broken[-1]


def test_the_link_check_needs_a_built_site(tmp_path):
    with pytest.raises(FileNotFoundError, match="no HTML pages"):
        site.check_site(tmp_path)


# --------------------------------------------------------------------------- the walkthrough's storyboard


def test_lesson_00s_walkthrough_is_a_storyboard_of_every_step_for_the_saved_prompt(built):
    from course_lib.checkpoints import load_course_model
    from course_lib.walkthrough import walk

    model, tokenizer = load_course_model()
    steps = walk(model, tokenizer, "What will be").steps  # the lesson's saved prompt
    page = read(built / "00_start_here.html")
    frames = _storyboard_frames(page)  # nbconvert writes the attributes in its own order
    assert [frame["data-key"] for frame in frames] == [step.key for step in steps]
    assert [frame["id"] for frame in frames] == [f"walk-step-{n}" for n in range(1, len(steps) + 1)]
    for step in steps[:: len(steps) // 6]:  # each frame shows its step's title, equation and output shape
        assert html.escape(f"{step.index + 1}. {step.title}") in page and html.escape(step.equation) in page
    assert "What will be" in page and page.count('class="course-walk-next"') == len(steps) - 1
    # The widget's first render says it cannot step here, and links to the storyboard.
    assert '<a href="#walk-steps">the storyboard below</a>' in page and 'id="walk-steps"' in page
    story = page[page.index('class="course-walk-story"') :]
    assert "<script" not in story[: story.index("</main>") if "</main>" in story else None]


def test_a_walkthrough_widget_links_to_its_storyboard_only_when_one_is_saved():
    import torch

    from course_lib.lessons.walkthrough import storyboard_html
    from course_lib.model import GPT
    from course_lib.toy_sort import SortTask
    from course_lib.walkthrough import walk

    task = SortTask()
    torch.manual_seed(0)
    walked = walk(GPT(task.model_config(n_layer=1)).eval(), task.tokenizer, task.prompt("cabbca"))
    widget_html = '<div class="course-walk-machine" data-walk="walk-1"><svg></svg></div>'
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_drawing"]}},
        "drawing": {"model_name": "HTMLModel", "state": {"value": widget_html}},
    }

    def notebook(with_storyboard: bool):
        cells = [nbformat.v4.new_code_cell("w", outputs=[_widget_output("box")])]
        if with_storyboard:
            board = nbformat.v4.new_output("display_data", data={"text/html": storyboard_html(walked, anchor="toy")})
            cells.append(nbformat.v4.new_code_cell("s", outputs=[board]))
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["widgets"] = {site.WIDGET_STATE: {"state": state}}
        return nb

    nb = notebook(True)
    assert site.storyboard_anchors(nb) == ["toy-steps"]
    site.static_widgets(nb)
    assert '<a href="#toy-steps">the storyboard below</a>' in nb.cells[0].outputs[0]["data"]["text/html"]
    nb = notebook(False)
    site.static_widgets(nb)
    shown = nb.cells[0].outputs[0]["data"]["text/html"]
    assert "course-walk-machine" in shown and "storyboard" not in shown


def _storyboard_frames(page: str) -> list[dict]:
    """The attributes of every storyboard frame (``div.course-walk-card``) of a page, in order."""

    class Frames(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found = []

        def handle_starttag(self, tag, attrs):
            attributes = dict(attrs)
            if tag == "div" and attributes.get("class") == "course-walk-card":
                self.found.append(attributes)

    parser = Frames()
    parser.feed(page)
    return parser.found


def _widget_output(model_id: str):
    view = {"model_id": model_id, "version_major": 2, "version_minor": 0}
    return nbformat.v4.new_output("display_data", data={site.WIDGET_VIEW: view, "text/plain": "VBox()"})
