"""Run by torchrun in the distributed tests: ``tagger.train`` on the toy corpus, then each rank writes
what it holds (its weights, its dev score, the run's meta) to OUT/rank<N>.* for the test to compare.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/distributed/worker.py OUT [--die-at-step N]

``--die-at-step N`` makes rank 1 exit abruptly at its N-th training step (a crashed process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--die-at-step", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--conll2003", type=Path, help="train on the first --sentences of this data dir's CoNLL-2003")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    rank = int(os.environ.get("RANK", "0"))

    from safetensors.torch import save_file

    import tagger
    from tagger import training
    from tests.model.toy import SENTENCES, TINY, toy_dataset

    if args.die_at_step and rank == 1:
        step = training._Trainer.step

        def dying_step(self, batch, number):  # type: ignore[no-untyped-def]
            if number >= args.die_at_step:
                os._exit(3)
            return step(self, batch, number)

        training._Trainer.step = dying_step  # type: ignore[method-assign]

    if args.conll2003:
        from datasets import DatasetDict

        from tagger.corpora import load_corpus

        corpus = load_corpus("conll2003", data_dir=args.conll2003, cache_dir=args.out / "cache")
        dataset = DatasetDict(train=corpus["train"].select(range(args.sentences)), validation=corpus["validation"])
        options = {"batch_size": args.batch_size, "max_epochs": args.epochs, "num_threads": 1, "seed": 7, "progress": False}
    else:
        dataset = toy_dataset(SENTENCES * 4)
        options = {**TINY, "batch_size": args.batch_size, "max_epochs": args.epochs, "num_threads": 1, "seed": 7}
    model = tagger.train(dataset, "ner_tags", args.out / "model", force=True, **options)
    state = {k: v.contiguous() for k, v in model.model.state_dict().items()}
    save_file(state, str(args.out / f"rank{rank}.safetensors"))
    (args.out / f"rank{rank}.json").write_text(json.dumps(model.meta), encoding="utf-8")


if __name__ == "__main__":
    main()
