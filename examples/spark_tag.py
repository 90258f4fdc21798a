"""Tag a directory of files with Spark's mapInPandas: one model per Python worker, JSON lines out.

    pip install tagger[spark]       # and Java 17 or later
    python examples/spark_tag.py models/ner corpus/ tagged/ --input tokens --master local[2]

``--input tokens``: one sentence per line, tokens separated by whitespace (``tagger tag --input
tokens``); ``--input text``: each line is running text, split into sentences. Each Python worker
loads the model once (``tagger.load``, the engine rule of ``tagger tag``) and tags whole pandas
batches of lines. The rows are ``tagger tag --output jsonl``'s (tokens, offsets, tags, spans with
scores; no ``file``; offsets into the line, where ``tagger tag``'s are into the file), in input
order. On a cluster, the model directory must be readable at the same path on every executor (a
shared file system), and PYSPARK_PYTHON must name a Python with tagger[spark] installed.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import lru_cache, partial
from pathlib import Path
from typing import Iterator, List, Union

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import tagger
from tagger.results import InputSentence
from tagger.tagging import TaggerBase
from tagger.tokenize import TokenizedSentence

SCHEMA = (
    "tokens array<string>, offsets array<array<int>>, tags array<string>, "
    "spans array<struct<label:string, start:int, end:int, start_char:int, end_char:int, text:string, score:double>>"
)


@lru_cache(maxsize=None)
def load(model: str) -> TaggerBase:
    """The model, loaded once per Python worker (Spark reuses a worker for many tasks)."""
    return tagger.load(model)


def tag_frames(frames: Iterator[pd.DataFrame], model: str, input_format: str) -> Iterator[pd.DataFrame]:
    """The function mapInPandas runs: each batch of lines (column ``value``) to its sentences' rows, in order."""
    for frame in frames:
        lines = [str(line) for line in frame["value"]]
        inputs: List[Union[str, InputSentence]] = list(lines)  # text: split into sentences by tag()
        if input_format == "tokens":  # offsets into the line, as tagger tag --input tokens gives them
            inputs = [InputSentence.from_tokenized(words) for words in map(TokenizedSentence.from_line, lines) if words]
        tagged = [sentence.to_dict() for sentence in load(model).iter_tag(inputs, scores=True)]
        yield pd.DataFrame({key: [row[key] for row in tagged] for key in ("tokens", "offsets", "tags", "spans")})


def tag_directory(spark: SparkSession, model: str, inputs: str, out: str, *, input_format: str = "tokens") -> None:
    """Reads every file under ``inputs`` line by line, tags the lines, writes JSON lines to ``out`` in input order.

    The order: the lines are sorted on their file's path, the start of the file split they were
    read in and a ``monotonically_increasing_id`` (which increases within a split, as one task
    reads it from start to end). The sort comes before the tagging (sorting the tagged rows would
    tag everything twice: Spark samples a sort's input first), mapInPandas keeps the order of
    each partition, and so the part files, taken by name, hold the sentences in input order.
    """
    lines = spark.read.text(inputs)  # blank lines give no sentence (in tag_frames)
    lines = lines.orderBy("_metadata.file_path", "_metadata.file_block_start", F.monotonically_increasing_id())
    tagged = lines.mapInPandas(partial(tag_frames, model=model, input_format=input_format), SCHEMA)
    tagged.write.json(out, ignoreNullFields=False)  # nulls written, as tagger tag does


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("inputs", help="a file or a directory of files")
    parser.add_argument("out", help="a directory for the JSON lines files")
    parser.add_argument("--input", choices=("tokens", "text"), default="tokens")
    parser.add_argument("--master", default="local[2]", help="local[N], or a cluster's URL (spark://..., yarn)")
    parser.add_argument("--driver-memory", default="1g")
    parser.add_argument("--shuffle-partitions", type=int, default=8, help="partitions of the sort: at most this many part files")
    args = parser.parse_args()
    if args.master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this Python (on a cluster: set it)
    spark = (
        SparkSession.builder.master(args.master)
        .appName("tagger")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.shuffle.partitions", args.shuffle_partitions)
        .config("spark.ui.enabled", False)
        .config("spark.ui.showConsoleProgress", False)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    # Ship this file to the executors and call it as the module spark_tag (not __main__), so that
    # workers import it and keep load()'s cache from one task to the next.
    spark.sparkContext.addPyFile(__file__)
    sys.path.insert(0, str(Path(__file__).parent))
    import spark_tag

    try:
        spark_tag.tag_directory(spark, args.model, args.inputs, args.out, input_format=args.input)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
