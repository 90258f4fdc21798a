"""Tag a directory of files on a Ray cluster with Ray Data: one model per actor, JSON lines out.

    pip install tagger[ray]
    python examples/ray_tag.py models/ner corpus/ tagged/ --input tokens --actors 3

``--input tokens``: one sentence per line, tokens separated by whitespace (``tagger tag --input
tokens``); ``--input text``: each line is running text, split into sentences (offsets are into the
line). Each actor loads the model once (``tagger.load``, the engine rule of ``tagger tag``) and
tags whole batches of lines; the output keeps the input's order. ``--address auto`` joins a
running cluster; without it a local Ray starts on this machine's cores.
"""

from __future__ import annotations

import argparse
from typing import Any, Dict, List, Optional

import ray

import tagger
from tagger.results import InputSentence


class TaggerActor:
    """Tags a batch of lines (Ray Data's ``{"text": [...]}``) into rows shaped like ``tagger tag --output jsonl``."""

    def __init__(self, model: str, input_format: str, batch_size: int = 256):
        self.tagger = tagger.load(model)  # once per actor, not per batch
        self.input_format, self.batch_size = input_format, batch_size

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, List[Any]]:
        lines = [str(line) for line in batch["text"]]
        inputs = [InputSentence.from_tokens(line.split()) for line in lines] if self.input_format == "tokens" else lines
        tagged = [sentence.to_dict() for sentence in self.tagger.iter_tag(inputs, self.batch_size, scores=True)]
        return {key: [row[key] for row in tagged] for key in ("tokens", "tags", "spans")}


def tag_directory(model: str, inputs: str, out: str, *, input_format: str = "tokens", actors: Optional[int] = None) -> None:
    """Reads every file under ``inputs`` line by line, tags them on ``actors`` actors, writes JSON lines to ``out``.

    Each actor takes a CPU; the default, the cluster's CPUs less one, leaves one to the read and
    write tasks (with every CPU held by an actor, they would wait for ever).
    """
    actors = actors or max(1, int(ray.cluster_resources().get("CPU", 2)) - 1)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # the output in the order of the input lines
    lines = ray.data.read_text(inputs).filter(lambda row: bool(row["text"].strip()))
    tagged = lines.map_batches(
        TaggerActor,
        fn_constructor_args=(model, input_format),
        batch_size=512,
        concurrency=actors,
        num_cpus=1,
    )
    tagged.write_json(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("inputs", help="a file or a directory of files")
    parser.add_argument("out", help="a directory for the JSON lines files")
    parser.add_argument("--input", choices=("tokens", "text"), default="tokens")
    parser.add_argument("--actors", type=int, default=None, help="default: the cluster's CPUs less one")
    parser.add_argument("--address", default=None, help="a running cluster (auto: the one this machine belongs to)")
    parser.add_argument("--num-cpus", type=int, default=None, help="for a local Ray: the CPUs it may use")
    args = parser.parse_args()
    ray.init(address=args.address, num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        tag_directory(args.model, args.inputs, args.out, input_format=args.input, actors=args.actors)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
