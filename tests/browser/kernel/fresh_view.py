# Sent to a notebook's kernel by LabSession.fresh_view: builds a new copy of a cell's widget and reports it.
#
# The harness sends this file's text, then `print(_course_fresh_view(source, settings))` and
# `del _course_fresh_view`. It runs in the notebook's own namespace, so it defines nothing but that one
# function (deleted again afterwards) and imports what it needs inside it. For the same reason this
# header is a comment, not a docstring: a docstring would set the notebook's `__doc__`.


def _course_fresh_view(source, settings):
    import ast
    import hashlib
    import json
    from html.parser import HTMLParser

    import ipywidgets as W
    from IPython import get_ipython

    shell = get_ipython()
    tree = ast.parse(shell.transform_cell(source))
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        raise ValueError("the widget's cell must end with the expression that builds the widget")
    namespace = dict(shell.user_ns)  # a copy: running the cell again changes none of the notebook's names
    exec(compile(ast.Module(tree.body[:-1], type_ignores=[]), "<widget cell>", "exec"), namespace)
    root = eval(compile(ast.Expression(tree.body[-1].value), "<widget cell>", "eval"), namespace)

    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    widgets = list(walk(root))
    kinds = {
        "slider": (W.IntSlider, W.FloatSlider),
        "checkbox": W.Checkbox,
        "dropdown": W.Dropdown,
        "text": (W.Text, W.Textarea),
    }
    used = set()
    try:
        for kind, description, value in settings:
            same = description.strip().rstrip(":").strip()
            found = [
                w
                for w in widgets
                if isinstance(w, kinds[kind])
                and id(w) not in used
                and w.description.strip().rstrip(":").strip() == same
            ]
            if not found:
                raise LookupError(f"the widget's fresh copy has no {kind} described {description!r}")
            control = found[0]
            used.add(id(control))
            if kind == "slider":
                control.value = int(float(value)) if isinstance(control, W.IntSlider) else float(value)
            elif kind == "dropdown":
                control.label = value
            else:
                control.value = value

        class Text(HTMLParser):
            def __init__(self):
                super().__init__(convert_charrefs=True)
                self.parts = []
                self.digests = []

            def handle_starttag(self, tag, attrs):
                if tag == "svg" and dict(attrs).get("data-digest"):
                    self.digests.append(dict(attrs)["data-digest"])

            def handle_data(self, data):
                self.parts.append(data)

        def read(markup):
            parser = Text()
            parser.feed(markup)
            parser.close()
            return " ".join("".join(parser.parts).split()), parser.digests

        images = []
        for w in widgets:
            if isinstance(w, W.Image):
                images.append(hashlib.sha256(w.value).hexdigest())
            elif isinstance(w, W.HTML):
                images += read(w.value)[1]
        return json.dumps(
            {
                "images": images,
                "texts": [read(w.value)[0] for w in widgets if isinstance(w, W.HTML)],
            }
        )
    finally:
        for w in widgets:
            w.close()
