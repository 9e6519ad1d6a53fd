"""How long the walkthrough takes in the kernel, per step, for the three kinds of model it opens.

    .venv/bin/python benchmarks/walkthrough_render.py
    .venv/bin/python benchmarks/walkthrough_render.py --repeats 3 --models toy

For each model (the course's trained model, a learner's model trained as lesson 08's playground does,
and the toy sorter of course_lib.toy_sort, trained here in seconds), it walks one prompt and draws
every step the way the widget does the first time a step is shown: the highlight of that step in the
drawing of the whole model (the drawing itself is made once per walk: "layout"), and the step's detail
(course_lib.lessons.walkthrough). A step seen before is a cache lookup in the widget, so these are the
worst case of a kernel round trip. It also times the walk
itself (one forward pass with capture), "append and repeat" (the next walk and its first view), and
the storyboard. Everything runs on one torch thread, as the lessons do.

The page adds the comm round trip and the browser's drawing to these times (150 ms is the aim for
the whole): benchmarks/widget_latency.py measures that for lesson 00's walkthrough (its Step slider),
and tests/test_browser_walkthrough.py prints every step's time as it checks the step's values. Times
depend on what else the machine does, so the load is printed, and the median step's CPU time (what
the drawing costs when nothing else competes for the core) with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def models(which: list[str]):
    """(name, model, tokenizer, prompt) for each model asked for, trained or loaded now."""
    if "course" in which:
        from course_lib.checkpoints import load_course_model

        model, tokenizer = load_course_model()
        yield "course model (4 x 128)", model, tokenizer, "What will be"
    if "learner" in which:
        from course_lib.data import load_text
        from course_lib.lessons.lesson08 import run_training
        from course_lib.tokenizers import CharTokenizer
        from course_lib.training import encode_corpus

        train_text, val_text = load_text("train"), load_text("val")
        tokenizer = CharTokenizer.from_text(train_text + val_text)
        start = time.perf_counter()
        _, _, model = run_training(
            encode_corpus(tokenizer, train_text),
            encode_corpus(tokenizer, val_text),
            tokenizer,
            n_layer=2,
            n_embd=64,
            learning_rate=1e-2,
            steps=150,
        )
        print(f"learner's model: lesson 08's playground run trained in {time.perf_counter() - start:.1f} s")
        yield "learner's model (2 x 64)", model.eval(), tokenizer, "What will be"
    if "toy" in which:
        from course_lib.toy_sort import SortTask, sort_accuracy, train_sorter

        task = SortTask()
        result = train_sorter(task)
        accuracy = sort_accuracy(result.model, task, result.held_out)
        print(
            f"toy sorter: {len(result.losses)} steps in {result.seconds:.1f} s, held-out accuracy {accuracy:.3f} "
            f"({len(result.held_out)} inputs), load {load_average()}"
        )
        yield "toy sorter (3 x 48)", result.model, task.tokenizer, task.prompt("cabbca")


def measure(name: str, model, tokenizer, prompt: str, repeats: int) -> dict:
    from course_lib.lessons.walkthrough import MachineDrawing, step_detail_html, storyboard_html
    from course_lib.walkthrough import walk

    walk(model, tokenizer, prompt)  # warm up (first calls allocate)
    start = time.perf_counter()
    walked = walk(model, tokenizer, prompt)
    walk_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    drawing = MachineDrawing(walked)  # laid out and sent once per walk
    drawing.html()
    layout_ms = (time.perf_counter() - start) * 1000
    per_step: list[float] = []
    cpu_per_step: list[float] = []
    slowest = (0.0, "")
    for _ in range(repeats):
        for step in walked.steps:
            start, cpu = time.perf_counter(), time.process_time()
            drawing.highlight_css(step.index)  # what the widget sends per step: the highlight and the detail
            step_detail_html(walked, step.index)
            ms = (time.perf_counter() - start) * 1000
            cpu_per_step.append((time.process_time() - cpu) * 1000)
            per_step.append(ms)
            slowest = max(slowest, (ms, step.key))
    start = time.perf_counter()
    after = walked.next()
    next_drawing = MachineDrawing(after)
    next_drawing.html()
    next_drawing.highlight_css(0)
    step_detail_html(after, 0)
    again_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    storyboard_html(walked)
    story_ms = (time.perf_counter() - start) * 1000
    return {
        "model": name,
        "steps": len(walked.steps),
        "walk": walk_ms,
        "layout": layout_ms,
        "median": statistics.median(per_step),
        "cpu": statistics.median(cpu_per_step),
        "worst": slowest[0],
        "worst_step": slowest[1],
        "again": again_ms,
        "story": story_ms,
        "load": load_average(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="times each step is drawn (default 3)")
    parser.add_argument(
        "--models", nargs="*", default=["course", "learner", "toy"], choices=["course", "learner", "toy"]
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    torch.set_num_threads(1)
    print(f"load average (1, 5, 15 min) at the start: {load_average()} on {os.cpu_count()} cores")
    rows = [measure(*setup, args.repeats) for setup in models(args.models)]
    header = (
        f"{'model':<26}{'steps':>6}{'walk ms':>9}{'layout ms':>10}{'step median':>12}{'(cpu)':>7}{'step worst':>11}  "
        f"{'(at)':<22}{'append ms':>10}{'story ms':>9}  load"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        print(
            f"{r['model']:<26}{r['steps']:>6}{r['walk']:>9.1f}{r['layout']:>10.1f}{r['median']:>12.1f}{r['cpu']:>7.1f}"
            f"{r['worst']:>11.1f}  {r['worst_step']:<22}{r['again']:>10.1f}{r['story']:>9.0f}  {r['load']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
