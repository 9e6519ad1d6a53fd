"""How fast SmolLM2-135M generates on this CPU: the course's readable and fast paths, and (with --compare)
Hugging Face transformers and llama.cpp, on the same prompt, greedy, one thread.

    .venv/bin/python benchmarks/smollm_speed.py               # the course's paths
    .venv/bin/python benchmarks/smollm_speed.py --compare     # ... and transformers, and llama.cpp if importable
    .venv/bin/python benchmarks/smollm_speed.py --uncached    # also the readable path without its KV cache

Every path runs in a fresh Python process (so its peak memory is its own) on the same token ids. The
paths are measured in ``--repeats`` rounds, each round running every path once, and the median over the
rounds is reported: when the load changes during the run (other programs start or stop), every path
sees both the busy and the quiet moments, instead of the first ones the quiet and the last the busy.

* decode tok/s: (new tokens - 1) / (time for all new tokens - time to the first one): the steady speed of
  one token after another, prompt processing excluded;
* best: the fastest round's decode tok/s, the round in which the path had a core most to itself (on a shared
  machine the median measures the other programs too);
* time to first token: prompt processing plus the first new token;
* peak RSS: the process's peak resident memory, loading included;
* same tokens: whether the greedy reply is token for token the course's float32 one.

Decoding one token reads every weight once, so the speed is capped by memory bandwidth divided by the
bytes of weights per token; the script measures this machine's bandwidth (one thread summing a 256 MB
tensor) and prints that cap next to each precision. The load average is printed with every figure:
other programs sharing the cores slow everything down, sometimes by several times, so compare rows
of one run, and re-run when the load is high. llama.cpp is not a course dependency; `pip install
llama-cpp-python` (built from source, ~15 min on two cores) makes the script include it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROMPT = (
    "<|im_start|>user\nExplain in two sentences why the sky is blue, for a ten-year-old.<|im_end|>\n"
    "<|im_start|>assistant\n"
)
COURSE_PRECISIONS = ("float32", "float16", "int8")
REPO = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    On Linux, VmHWM of /proc/self/status: getrusage's ru_maxrss would also count the parent's memory, which a
    child started with fork + exec inherits in that figure. Elsewhere ru_maxrss (macOS reports bytes).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- one path, in a worker process


def _course_runner(path: str):
    """(generate(ids, n) -> all ids, bytes read per token) for a course path.

    The path: "readable", "readable-uncached" or a precision of the fast path.
    """
    from course_lib import smollm

    model, _ = smollm.load()
    if path.startswith("readable"):
        use_cache = path == "readable"
        return lambda ids, n: smollm.generate(model, ids, n, greedy=True, use_cache=use_cache).tolist(), None
    fast = smollm.FastSmolLM.from_model(model, precision=path)
    # The course's one generation loop runs the fast model too.
    return lambda ids, n: smollm.generate(fast, ids, n, greedy=True).tolist(), fast.bytes_per_token()


def _transformers_runner():
    import torch
    import transformers

    from course_lib.data import asset_path

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers.logging.set_verbosity_error()
    gguf = asset_path("smollm2_gguf")
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    ).eval()

    def generate(ids, n):
        with torch.inference_mode():
            # min_new_tokens: never stop early, like the other paths (the reply does not reach <|im_end|> anyway).
            out = model.generate(
                torch.tensor([ids]), max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=0
            )
        return out[0].tolist()

    return generate, None


def _llama_cpp_runner(threads: int, repack: bool = True):
    import llama_cpp
    import llama_cpp.llama_cpp as bindings

    from course_lib.data import asset_path

    if not repack:  # llama.cpp's repacked (and, on CPUs with AMX, AMX) kernels off: the plain Q4_1 dot products
        default_params = bindings.llama_model_default_params

        def params():
            chosen = default_params()
            chosen.use_extra_bufts = False
            return chosen

        bindings.llama_model_default_params = params  # what Llama() calls for its model parameters
    llm = llama_cpp.Llama(
        model_path=str(asset_path("smollm2_gguf")), n_ctx=512, n_threads=threads, n_batch=512, verbose=False
    )

    def generate(ids, n):
        out = list(ids)
        # top_k=1: greedy. reset=True: nothing reused from the previous run's prompt.
        for token in llm.generate(ids, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
            out.append(int(token))
            if len(out) - len(ids) == n:
                break
        return out

    return generate, None


def run_worker(path: str, ids: list[int], new_tokens: int, repeats: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    load_before = load_average()
    start = time.perf_counter()
    if path == "transformers":
        generate, bytes_per_token = _transformers_runner()
    elif path.startswith("llama.cpp"):
        generate, bytes_per_token = _llama_cpp_runner(threads, repack=path == "llama.cpp")
    else:
        generate, bytes_per_token = _course_runner(path)
    load_seconds = time.perf_counter() - start
    generate(ids, 2)  # warm-up: first calls allocate and pick kernels

    def timed(n):
        begin = time.perf_counter()
        out = generate(ids, n)
        return time.perf_counter() - begin, out

    firsts, totals = [], []
    reply = None
    for _ in range(repeats):
        firsts.append(timed(1)[0])
        seconds, reply = timed(new_tokens)
        totals.append(seconds)
    first, total = statistics.median(firsts), statistics.median(totals)
    return {
        "path": path,
        "decode_tok_s": (new_tokens - 1) / max(total - first, 1e-9),
        "first_token_s": first,
        "load_s": load_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "bytes_per_token": bytes_per_token,
        "reply_ids": reply[len(ids) :],
        "load_average": f"{load_before} -> {load_average()}",
    }


# --------------------------------------------------------------------------- the parent: one worker per path


def measure(path: str, ids: list[int], args) -> dict | None:
    """One timed run of ``path`` (after a warm-up) in a fresh process, or None (with its error shown) if it failed."""
    command = [sys.executable, __file__, "--worker", path, "--ids", ",".join(map(str, ids))]
    command += ["--new-tokens", str(args.new_tokens), "--repeats", "1", "--threads", str(args.threads)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"  {path}: failed\n{done.stderr.strip()[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(runs: list[dict]) -> dict:
    """Median and best speed, median time to first token, largest peak memory, range of 1-minute loads, over rounds."""
    loads = [float(x.split("/")[0]) for run in runs for x in run["load_average"].split(" -> ")]
    return {
        "decode_tok_s": statistics.median(run["decode_tok_s"] for run in runs),
        "best_tok_s": max(run["decode_tok_s"] for run in runs),  # the round in which it had a core most to itself
        "first_token_s": statistics.median(run["first_token_s"] for run in runs),
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
        "reply_ids": runs[0]["reply_ids"],
        "bytes_per_token": runs[0]["bytes_per_token"],
        "load_average": f"{min(loads):.2f}-{max(loads):.2f}",
    }


def llama_cpp_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also transformers, and llama.cpp if importable")
    parser.add_argument("--uncached", action="store_true", help="also the readable path without the KV cache")
    parser.add_argument("--precisions", default=",".join(COURSE_PRECISIONS), help="fast-path precisions to run")
    parser.add_argument("--threads", type=int, default=1, help="torch (and llama.cpp) threads (default 1)")
    parser.add_argument("--new-tokens", type=int, default=64, help="tokens to generate per run (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over all paths; medians reported (default 3)")
    parser.add_argument("--no-errors", action="store_true", help="skip the precisions' errors against float32")
    parser.add_argument("--error-tokens", type=int, default=32, help="tokens per prompt for the errors (default 32)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.new_tokens < 2 or args.repeats < 1 or args.threads < 1 or args.error_tokens < 1:
        parser.error("--new-tokens must be >= 2; --repeats, --threads and --error-tokens >= 1")

    if args.worker:
        ids = [int(i) for i in args.ids.split(",")]
        print(json.dumps(run_worker(args.worker, ids, args.new_tokens, args.repeats, args.threads)))
        return 0

    import torch

    from course_lib.smollm import PRECISIONS, load
    from course_lib.smollm.fast import memory_bandwidth_gb_s

    precisions = [p for p in args.precisions.split(",") if p]
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown:
        parser.error(f"unknown precision {unknown[0]!r}; choose from {', '.join(PRECISIONS)}")
    torch.set_num_threads(args.threads)
    print(
        f"{os.cpu_count()} cores, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), "
        f"{args.threads} thread(s); load average (1/5/15 min) {load_average()}"
    )
    bandwidth = memory_bandwidth_gb_s()  # the one lesson 09 measures
    print(f"memory bandwidth, one thread summing 256 MB: {bandwidth:.1f} GB/s (load {load_average()})")

    model, tokenizer = load()
    ids = tokenizer.encode(PROMPT, allowed_special="all")  # our own chat markup: its markers are control tokens
    print(f"prompt: {len(ids)} tokens; {args.new_tokens} new tokens, greedy; median of {args.repeats} rounds\n")

    paths = ["readable"] + (["readable-uncached"] if args.uncached else []) + precisions
    if args.compare:
        paths.append("transformers")
        if llama_cpp_available():
            paths.append("llama.cpp")
        else:
            print("llama.cpp: llama_cpp is not importable, skipped (it is not a course dependency)\n")
    names = {
        "readable": "course readable (smollm.generate)",
        "readable-uncached": "course readable, no KV cache",
        "transformers": "transformers, float32",
        "llama.cpp": "llama.cpp, the file's Q4_1 blocks",
        "llama.cpp-plain": "llama.cpp, Q4_1, no repacking",
    }
    names.update({p: f"course fast, {p}" for p in precisions})
    results: dict[str, list[dict]] = {}
    for round_number in range(1, args.repeats + 1):
        print(f"round {round_number} of {args.repeats}, load average {load_average()}", flush=True)
        for path in list(paths):
            result = measure(path, ids, args)
            if result is None and path == "llama.cpp":
                # A native build can crash in its AMX or repacked kernels (seen on a VM); the plain ones still work.
                print("  retrying llama.cpp with its weight repacking (and AMX) off")
                paths[paths.index(path)] = path = "llama.cpp-plain"
                result = measure(path, ids, args)
            if result is not None:
                results.setdefault(path, []).append(result)
    results = {path: summary(runs) for path, runs in results.items()}
    reference = (results.get("float32") or results.get("readable") or {}).get("reply_ids")
    header = f"{'path':36} {'decode tok/s':>12} {'best':>6} {'1st token':>10} {'peak RSS':>9}"
    header += f" {'MB/token':>9} {'cap tok/s':>9}"
    print("\n" + header + "  same tokens  load average while it ran (1 min)")
    for path, result in results.items():
        mb_token = cap = ""
        if result["bytes_per_token"]:
            per_token = result["bytes_per_token"]
            mb_token, cap = f"{per_token / 1e6:.0f}", f"{bandwidth * 1e9 / per_token:.0f}"
        same = "yes" if result["reply_ids"] == reference else "no"
        print(
            f"{names[path]:36} {result['decode_tok_s']:12.1f} {result['best_tok_s']:6.1f} "
            f"{result['first_token_s'] * 1e3:8.0f}ms "
            f"{result['peak_rss_mb']:7.0f}MB {mb_token:>9} {cap:>9}  {same:^11}  {result['load_average']}"
        )
    fastest = max((p for p in results if p in PRECISIONS), key=lambda p: results[p]["decode_tok_s"], default=None)
    if fastest is not None:
        print(f"\nreply ({fastest}): {tokenizer.decode(results[fastest]['reply_ids'])!r}")
    if not args.no_errors and len(precisions) > 1 and "float32" in precisions:
        print_errors(model, tokenizer, precisions, args.error_tokens)
    print(f"\nload average at the end: {load_average()}")
    if fastest is not None:
        course = results[fastest]["decode_tok_s"]
        for other in ("llama.cpp", "llama.cpp-plain"):
            if other in results:
                print(
                    f"{names[other]}: {results[other]['decode_tok_s']:.1f} tok/s, "
                    f"course/llama.cpp = {course / results[other]['decode_tok_s']:.2f}"
                )
        if "transformers" in results:
            hf = results["transformers"]["decode_tok_s"]
            best, hf_best = results[fastest]["best_tok_s"], results["transformers"]["best_tok_s"]
            print(f"best rounds: course {best:.1f}, transformers {hf_best:.1f}, ratio {best / hf_best:.2f}")
            print(f"course = the fast path in {fastest}; medians over the rounds")
            ratio = course / hf
            print(f"decode tok/s: course {course:.1f}, transformers {hf:.1f}, ratio course/transformers = {ratio:.2f}")
    return 0


#: The fixed prompt set for the precision errors: the reference (float32) continues each greedily, and every
#: precision scores the same tokens (see course_lib.smollm.fast.compare).
ERROR_PROMPTS = (
    "Explain in two sentences why the sky is blue, for a ten-year-old.",
    "Write a haiku about the sea.",
    "What is the capital of France?",
    "List three prime numbers and explain what makes them prime.",
    "Give me a tip for learning to play the guitar.",
)
ERROR_TEXT = "The history of the printing press begins"


def print_errors(model, tokenizer, precisions: list[str], new_tokens: int) -> None:
    from course_lib.smollm.fast import FastSmolLM, compare

    prompts = [
        tokenizer.encode_chat([{"role": "user", "content": text}], add_generation_prompt=True) for text in ERROR_PROMPTS
    ] + [tokenizer.encode(ERROR_TEXT)]
    reference = FastSmolLM.from_model(model, "float32")
    print(f"\nerror against float32 ({len(prompts)} prompts, up to {new_tokens} greedy tokens each, teacher-forced)")
    for precision in precisions:
        if precision != "float32":
            error = compare(
                reference, FastSmolLM.from_model(model, precision), prompts, new_tokens, (tokenizer.eos_id,)
            )
            print(f"  {precision:8} {error}")


if __name__ == "__main__":
    sys.exit(main())
