"""Training and tagging speed of the reference tagger and its variants on CoNLL-2003, against a bare
torch RNN of the same size on the same batches, plus CLI start-up and peak memory.

Tagging is measured with every engine: ``tag-api`` (torch ``Tagger``), ``tag-numpy``
(``NumpyTagger``, CPU only) and ``tag-onnx`` (``OnnxTagger`` on the model exported by ``tagger
export``, float32 and ``--quantize int8``; CPU only, when onnxruntime is installed). Each row's
ratio is its tokens/s over the bare float32 torch RNN forward of the same size on the same
batches: for ``onnx-int8`` that is the issue's comparison (goal: at least 1.5). The CLI rows run
``tagger tag`` with its default engine (``auto``: numpy on a CPU) and record which engine that
was; ``tag-cli-torch`` forces ``--engine torch``.

    python bench/throughput.py                       # reference, bigru, softmax on CPU
    python bench/throughput.py --variants reference --batch-sizes 32,256 --threads 1   # ONNX int8 against bare nn.LSTM
    python bench/throughput.py --variants reference --batch-sizes 4 --limit 40 --embeddings none   # does it run (no timing value)
    python bench/throughput.py --variants reference --device cuda --batch-sizes 1,32,256,1024 --epochs 2
    python bench/throughput.py --variants reference --device cuda --batch-sizes 256,1024 --epochs 2 --mixed-precision

Every measurement runs in a fresh child process; its peak RSS is that child's own (wait4).
Prints one JSON line per measurement, then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = {"reference": {}, "bigru": {"cell": "gru"}, "softmax": {"crf": False}}


# ------------------------------------------------------------------------------- children


def _setup(args: dict):
    import torch

    if args.get("threads"):
        torch.set_num_threads(args["threads"])
    from tagger import corpora

    corpus = corpora.load_corpus("conll2003", data_dir=args["data_dir"])
    if args.get("limit"):  # a quick check that the script runs: the first sentences of each split
        for split in list(corpus):
            corpus[split] = corpus[split].select(range(min(args["limit"], len(corpus[split]))))
    return corpus


def _bare_rnn(config, input_size: int, device):
    """A plain torch.nn RNN of the tagger's size: same cell, input, hidden size, layers, directions."""
    import torch

    rnn_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[config.cell]
    bare = rnn_class(input_size, config.hidden_size, num_layers=config.layers, bidirectional=config.bidirectional, batch_first=True)
    return bare.to(device)


def _bare_epoch(
    bare, batches_lengths, input_size, device, backward: bool, input_grad: bool = False, packed: bool = True, amp: bool = False
) -> float:
    """tokens/s of the bare RNN over the given batches (inputs made before the clock starts).

    ``input_grad``: the inputs require grad, so backward also computes the input gradient, as
    the tagger's RNN must (its inputs come from trainable embeddings and character features).
    ``packed``: pack each batch (exact); False runs the padded batch as it is (the fastest
    kernels, but the backward direction then reads padding first, so results are not exact).
    ``amp``: under autocast on a GPU, as the tagger with mixed precision. The first batch runs
    once untimed (cuDNN's plans, CUDA's lazy start).
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    from tagger.devices import mixed_precision

    inputs = [
        (torch.randn(len(lengths), max(lengths), input_size, device=device, requires_grad=input_grad), torch.tensor(lengths))
        for lengths in batches_lengths
    ]
    tokens = sum(sum(lengths) for lengths in batches_lengths)

    def step(x, lengths) -> None:
        if packed:
            descending = bool((lengths[:-1] >= lengths[1:]).all())  # as the tagger's batches are: no permutation
            x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=descending)
        with mixed_precision(device, amp):
            if backward:
                bare.zero_grad(set_to_none=True)
                out, _ = bare(x)
                (out.data if packed else out).float().sum().backward()
            else:
                with torch.inference_mode():
                    bare(x)

    step(*inputs[0])
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for x, lengths in inputs:
        step(x, lengths)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return tokens / (time.perf_counter() - start)


def child_train(args: dict) -> dict:
    """``epochs`` epochs of tagger.train on CoNLL-2003 train (no dev evaluation; the last epoch's
    speed counts), then the bare RNN on the first epoch's batches.
    """
    from datasets import DatasetDict

    import tagger
    from tagger.batching import bucketed_batches

    dd = _setup(args)
    options = {**VARIANTS[args["variant"]], **args.get("options", {})}
    out = Path(args["out"])
    model = tagger.train(
        DatasetDict({"train": dd["train"]}),
        "ner_tags",
        out,
        force=True,
        max_epochs=args["epochs"],
        embeddings=args["embeddings"],
        device=args["device"],
        progress=False,
        log=lambda _: None,
        **options,
    )
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    # The same batches as that epoch: fit's first use of random.Random(seed).
    lengths = [len(t) for t in dd["train"]["tokens"] if t]
    batches = [
        [lengths[i] for i in ids]
        for ids in bucketed_batches(lengths, model.train_config.batch_size, random.Random(model.train_config.seed))
    ]
    bare = _bare_rnn(model.config, model.model.input_size, model.device)
    amp = bool(options.get("mixed_precision"))
    size, device = model.model.input_size, model.device
    bare_tps = _bare_epoch(bare, batches, size, device, backward=True, amp=amp)
    same_work_tps = _bare_epoch(bare, batches, size, device, backward=True, input_grad=True, amp=amp)
    padded_tps = _bare_epoch(bare, batches, size, device, backward=True, input_grad=True, packed=False, amp=amp)
    return {
        "train_tokens_per_s": record["train_tokens_per_s"],
        "bare_fwd_bwd_tokens_per_s": bare_tps,
        "ratio": record["train_tokens_per_s"] / bare_tps,
        "bare_fwd_bwd_input_grad_tokens_per_s": same_work_tps,
        "ratio_input_grad": record["train_tokens_per_s"] / same_work_tps,
        "bare_padded_fwd_bwd_input_grad_tokens_per_s": padded_tps,
        "ratio_padded": record["train_tokens_per_s"] / padded_tps,
    }


def _dev_batches(sentences: list, batch_size: int) -> list:
    """Lengths of the batches the taggers make of ``sentences``: sorted by length, cut every ``batch_size``."""
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    return [[len(sentences[i]) for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]


def _time_predict(model, sentences: list, batch_size: int) -> float:
    """Seconds ``model.predict`` takes over ``sentences`` (after a warm-up batch)."""
    model.predict(sentences[:batch_size], batch_size=batch_size)  # warm-up
    start = time.perf_counter()
    model.predict(sentences, batch_size=batch_size)
    return time.perf_counter() - start


def _tag_row(tokens: int, seconds: float, bare_tps: float, padded_tps: float) -> dict:
    return {
        "tag_tokens_per_s": tokens / seconds,
        "bare_fwd_tokens_per_s": bare_tps,
        "ratio": tokens / seconds / bare_tps,
        "bare_padded_fwd_tokens_per_s": padded_tps,
        "ratio_padded": tokens / seconds / padded_tps,
        "tokens": tokens,
    }


def child_tag(args: dict) -> dict:
    """Tagger.predict on CoNLL-2003 dev at one batch size, then the bare RNN forward on the same batches."""
    import tagger

    dd = _setup(args)
    sentences = [t for t in dd["validation"]["tokens"] if t]
    amp = bool(args["options"].get("mixed_precision"))
    model = tagger.Tagger.load(args["model"], device=args["device"], mixed_precision=amp)
    batch_size = args["batch_size"]
    seconds = _time_predict(model, sentences, batch_size)
    batches = _dev_batches(sentences, batch_size)
    bare = _bare_rnn(model.config, model.model.input_size, model.device).eval()
    bare_tps = _bare_epoch(bare, batches, model.model.input_size, model.device, backward=False, amp=amp)
    padded_tps = _bare_epoch(bare, batches, model.model.input_size, model.device, backward=False, packed=False, amp=amp)
    return _tag_row(sum(len(s) for s in sentences), seconds, bare_tps, padded_tps)


def child_tag_numpy(args: dict) -> dict:
    """NumpyTagger.predict on CoNLL-2003 dev at one batch size, then the bare torch RNN forward (CPU) on the same batches."""
    from tagger.numpy_tagger import NumpyTagger

    dd = _setup(args)
    sentences = [t for t in dd["validation"]["tokens"] if t]
    model = NumpyTagger.load(args["model"])
    batch_size = args["batch_size"]
    seconds = _time_predict(model, sentences, batch_size)
    return _bare_cpu_row(model.config, model.layers[0][0].w_ih_t.shape[0], sentences, batch_size, seconds)


def child_tag_onnx(args: dict) -> dict:
    """OnnxTagger.predict (an export, float32 or int8) on CoNLL-2003 dev at one batch size, then the bare
    float32 torch RNN forward (CPU) of the same size on the same batches.

    onnxruntime gets ``--threads`` intra-op threads when given (torch gets as many), else its default.
    """
    from tagger.onnx_engine import OnnxTagger

    dd = _setup(args)
    sentences = [t for t in dd["validation"]["tokens"] if t]
    model = OnnxTagger.load(args["onnx"], threads=args.get("threads"))
    batch_size = args["batch_size"]
    seconds = _time_predict(model, sentences, batch_size)
    config = model.config
    input_size = config.word_dim + (config.char_hidden if config.char_encoder != "none" else 0) + config.case_dim
    return _bare_cpu_row(config, input_size, sentences, batch_size, seconds)


def _bare_cpu_row(config, input_size: int, sentences: list, batch_size: int, seconds: float) -> dict:
    """A CPU tagging row: the bare float32 torch RNN forward of ``config``'s size on the batches the taggers make."""
    import torch

    batches = _dev_batches(sentences, batch_size)
    cpu = torch.device("cpu")
    bare = _bare_rnn(config, input_size, cpu).eval()
    bare_tps = _bare_epoch(bare, batches, input_size, cpu, backward=False)
    padded_tps = _bare_epoch(bare, batches, input_size, cpu, backward=False, packed=False)
    return _tag_row(sum(len(s) for s in sentences), seconds, bare_tps, padded_tps)


def child_main(spec: str) -> None:
    import torch

    args = json.loads(spec)
    result = {"train": child_train, "tag": child_tag, "tag-numpy": child_tag_numpy, "tag-onnx": child_tag_onnx}[args["kind"]](args)
    if torch.cuda.is_available() and args["device"] != "cpu":
        result["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(result), flush=True)


# ------------------------------------------------------------------------------- parent


def run_child(command: list, env: dict | None = None) -> tuple[str, float, float, float]:
    """Runs ``command``; returns (stdout, seconds, seconds to first output byte, peak RSS MB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    first = process.stdout.read(1)
    first_at = time.perf_counter() - start
    rest = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(map(str, command))} failed with status {process.returncode}")
    return (first + rest).decode(), seconds, first_at, usage.ru_maxrss / 1024


def machine(device: str) -> dict:
    """What the figures were measured on."""
    import platform

    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    if device != "cpu" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def tagger_command() -> list:
    venv_tagger = Path(sys.executable).with_name("tagger")
    return [str(venv_tagger)] if venv_tagger.exists() else [sys.executable, "-m", "tagger.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="reference,bigru,softmax")
    parser.add_argument("--batch-sizes", default="1,32,256")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--data-dir", default=os.environ.get("TAGGER_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument(
        "--embeddings", default=None, help="default: GloVe 6B 50d via shared/data/embeddings/glove-6b-50d; none: random vectors"
    )
    parser.add_argument("--epochs", type=int, default=1, help="training epochs; the last one is measured (2 on a GPU: the first warms up)")
    parser.add_argument("--mixed-precision", action="store_true", help="train and tag under autocast on a GPU (bare RNNs too)")
    parser.add_argument("--options", default="{}", help="extra tagger.train options as JSON (e.g. batch_size)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N sentences of each split (to check the script runs)")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX rows (tagger export and onnxruntime)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args.child)
    embeddings = (
        None
        if args.embeddings == "none"
        else args.embeddings
        or subprocess.run(
            [sys.executable, str(Path(args.data_dir) / "embeddings" / "glove-6b-50d")], check=True, capture_output=True, text=True
        ).stdout.split()[-1]
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    base = {
        "data_dir": args.data_dir,
        "embeddings": embeddings,
        "device": args.device,
        "threads": args.threads,
        "options": {**json.loads(args.options), **({"mixed_precision": True} if args.mixed_precision else {})},
        "epochs": args.epochs,
        "limit": args.limit,
    }
    rows = []
    work = Path(tempfile.mkdtemp(prefix="tagger-bench-"))

    def emit(row: dict) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)

    emit({"measure": "machine", **machine(args.device), "mixed_precision": args.mixed_precision, "epochs": args.epochs})
    onnx = args.device == "cpu" and not args.no_onnx and _onnxruntime_available()

    for name, command in (
        ("tagger --help", tagger_command() + ["--help"]),
        ("python -c 'import tagger'", [sys.executable, "-c", "import tagger"]),
        ("import tagger + torch model code", [sys.executable, "-c", "import tagger; tagger.Tagger"]),
    ):
        times = [run_child(command, env)[1] for _ in range(1 if args.limit else 5)]
        emit({"measure": "startup", "what": name, "seconds": statistics.median(times)})

    from tagger import corpora  # light: the readers only

    dev = list(corpora.read_sentences(Path(args.data_dir) / "conll2003" / "dev.txt"))[: args.limit]
    lines = "".join(" ".join(s.tokens) + "\n" for s in dev)
    dev_tokens, dev_tokens_x10 = work / "dev.tokens", work / "dev-x10.tokens"
    dev_tokens.write_text(lines, encoding="utf-8")
    dev_tokens_x10.write_text(lines * 10, encoding="utf-8")

    for variant in args.variants.split(","):
        model_dir = work / variant
        spec = {**base, "kind": "train", "variant": variant, "out": str(model_dir)}
        out, seconds, _, rss = run_child([sys.executable, __file__, "--child", json.dumps(spec)], env)
        emit({"measure": "train", "variant": variant, "device": args.device, **json.loads(out.splitlines()[-1]), "peak_rss_mb": rss})
        exports = {}
        if onnx:
            from tagger.onnx_export import export_onnx

            for engine, quantize in (("onnx", None), ("onnx-int8", "int8")):
                exports[engine] = export_onnx(model_dir, work / f"{variant}-{engine}.onnx", quantize=quantize)
        for batch_size in map(int, args.batch_sizes.split(",")):
            spec = {**base, "kind": "tag", "model": str(model_dir), "batch_size": batch_size}
            out, _, _, rss = run_child([sys.executable, __file__, "--child", json.dumps(spec)], env)
            emit(
                {
                    "measure": "tag-api",
                    "variant": variant,
                    "device": args.device,
                    "batch_size": batch_size,
                    **json.loads(out.splitlines()[-1]),
                    "peak_rss_mb": rss,
                }
            )
            if args.device == "cpu":
                spec = {**base, "kind": "tag-numpy", "model": str(model_dir), "batch_size": batch_size}
                out, _, _, rss = run_child([sys.executable, __file__, "--child", json.dumps(spec)], env)
                emit(
                    {
                        "measure": "tag-numpy",
                        "variant": variant,
                        "device": "cpu",
                        "engine": "numpy",
                        "batch_size": batch_size,
                        **json.loads(out.splitlines()[-1]),
                        "peak_rss_mb": rss,
                    }
                )
            for engine, path in exports.items():
                spec = {**base, "kind": "tag-onnx", "onnx": str(path), "batch_size": batch_size}
                out, _, _, rss = run_child([sys.executable, __file__, "--child", json.dumps(spec)], env)
                emit(
                    {
                        "measure": "tag-onnx",
                        "variant": variant,
                        "device": "cpu",
                        "engine": engine,
                        "batch_size": batch_size,
                        "file_bytes": path.stat().st_size,
                        **json.loads(out.splitlines()[-1]),
                        "peak_rss_mb": rss,
                    }
                )
        # The CLI on the 51k-token dev file (start-up included) with its default engine, on ten
        # copies of it, and on the file with the torch engine.
        from tagger.engines import choose_engine

        default_engine = choose_engine("auto", args.device, args.mixed_precision)
        for name, path, engine in (
            ("tag-cli", dev_tokens, "auto"),
            ("tag-cli-x10", dev_tokens_x10, "auto"),
            ("tag-cli-torch", dev_tokens, "torch"),
        ):
            command = tagger_command() + ["tag", str(path), "--input", "tokens", "--model", str(model_dir), "--device", args.device]
            command += ["--mixed-precision"] if args.mixed_precision else []
            command += [] if engine == "auto" else ["--engine", engine]
            out, seconds, first, rss = run_child(command + ["--output", "conll"], env)
            tokens = sum(1 for line in out.splitlines() if line.strip())
            emit(
                {
                    "measure": name,
                    "variant": variant,
                    "device": args.device,
                    "engine": default_engine if engine == "auto" else engine,
                    "batch_size": 256,
                    "tag_tokens_per_s": tokens / seconds,
                    "seconds": seconds,
                    "first_output_s": first,
                    "peak_rss_mb": rss,
                    "tokens": tokens,
                }
            )

    # The CLI ratio is against the bare forward of the API run at batch 256.
    bare = {r["variant"]: r["bare_fwd_tokens_per_s"] for r in rows if r["measure"] == "tag-api" and r["batch_size"] == 256}
    for row in rows:
        if row["measure"].startswith("tag-cli") and row["variant"] in bare:
            row["ratio"] = row["tag_tokens_per_s"] / bare[row["variant"]]
    print(
        f"\n{'measure':<13} {'variant':<10} {'engine':<9} {'batch':>5} {'tokens/s':>10} {'bare tok/s':>10} {'ratio':>6} "
        f"{'first out s':>11} {'peak RSS MB':>11}"
    )
    for r in rows:
        if r["measure"] == "machine":
            print(f"machine   {r}")
            continue
        if r["measure"] == "startup":
            print(f"startup   {r['what']:<40} {r['seconds']:.3f} s")
            continue
        tps = r.get("train_tokens_per_s") or r.get("tag_tokens_per_s")
        bare_tps = r.get("bare_fwd_bwd_tokens_per_s") or r.get("bare_fwd_tokens_per_s")
        print(
            f"{r['measure']:<13} {r['variant']:<10} {r.get('engine', 'torch'):<9} {r.get('batch_size', '-')!s:>5} "
            f"{tps:>10,.0f} {bare_tps or 0:>10,.0f} "
            f"{r.get('ratio', 0):>6.2f} {r.get('first_output_s', 0):>11.2f} {r['peak_rss_mb']:>11.0f}"
        )
        if "peak_gpu_memory_mb" in r:
            print(f"{'':<20} {'peak GPU memory MB':<27} {r['peak_gpu_memory_mb']:>10,.0f}")
        if "ratio_input_grad" in r:
            same = r["bare_fwd_bwd_input_grad_tokens_per_s"]
            print(f"{'':<20} {'bare, packed, with input gradients':<27} {same:>10,.0f} {r['ratio_input_grad']:>6.2f}")
        if "ratio_padded" in r:
            key = "bare_padded_fwd_bwd_input_grad_tokens_per_s" if r["measure"] == "train" else "bare_padded_fwd_tokens_per_s"
            print(f"{'':<20} {'bare, padded (not exact)':<27} {r[key]:>10,.0f} {r['ratio_padded']:>6.2f}")

    for r in rows:
        if r.get("engine") == "onnx-int8":
            verdict = "meets" if r["ratio"] >= 1.5 else "misses"
            print(f"int8 {r['variant']} batch {r['batch_size']}: {r['ratio']:.2f}x the bare float32 forward ({verdict} the 1.5x goal)")


def _onnxruntime_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


if __name__ == "__main__":
    main()
