"""How fast course_lib.smollm runs SmolLM2-135M on this CPU: load time, peak memory, tokens per second
with and without the KV cache.

    .venv/bin/python benchmarks/smollm_speed.py              # one thread (what lesson 09 uses)
    .venv/bin/python benchmarks/smollm_speed.py --threads 2 --new-tokens 64

Numbers depend on what else the machine is doing, so the load average is printed with them.
Generating one token reads all 135M float32 weights (540 MB) from memory, so the speed is bounded by
memory bandwidth more than by arithmetic; the cache saves the work of re-reading the whole prompt.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

PROMPT = (
    "<|im_start|>user\nExplain in two sentences why the sky is blue, for a ten-year-old.<|im_end|>\n"
    "<|im_start|>assistant\n"
)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def tokens_per_second(model, prompt: list[int], new_tokens: int, use_cache: bool) -> tuple[float, list[int]]:
    from course_lib.sampling import generate

    start = time.perf_counter()
    ids = generate(model, prompt, new_tokens, greedy=True, use_cache=use_cache).tolist()
    return new_tokens / (time.perf_counter() - start), ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--new-tokens", type=int, default=32, help="tokens to generate per run (default 32)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"peak RSS before loading: {peak_rss_mb():.0f} MB (Python, torch and numpy imported)")

    start = time.perf_counter()
    from course_lib.smollm import load

    model, tokenizer = load()
    print(f"load (verify sha256, read GGUF, dequantise to float32): {time.perf_counter() - start:.1f} s")
    print(f"peak RSS after loading: {peak_rss_mb():.0f} MB")

    prompt = tokenizer.encode(PROMPT, allowed_special="all")  # our own chat markup: its markers are control tokens
    tokens_per_second(model, prompt, 2, use_cache=True)  # warm-up
    cached, ids_cached = tokens_per_second(model, prompt, args.new_tokens, use_cache=True)
    uncached, ids_uncached = tokens_per_second(model, prompt, args.new_tokens, use_cache=False)
    print(f"prompt {len(prompt)} tokens, {args.new_tokens} new tokens, greedy")
    print(f"  with KV cache:    {cached:6.1f} tokens/s")
    print(f"  without KV cache: {uncached:6.1f} tokens/s  (same tokens: {ids_cached == ids_uncached})")
    print(f"peak RSS at the end: {peak_rss_mb():.0f} MB")
    print(f"reply: {tokenizer.decode(ids_cached[len(prompt) :])!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
