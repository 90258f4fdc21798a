"""Tagger: a loaded model that tags pre-tokenised sentences in batches on CPU or GPU.

It imports nothing from training: loading a model needs neither gensim nor the vector file.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch

from tagger.allocator import keep_freed_memory
from tagger.batching import CharIndex, FormTable, encode_sentence, make_batch
from tagger.config import TaggerConfig, TrainConfig
from tagger.devices import mixed_precision, resolve_device
from tagger.errors import ModelFileError
from tagger.model import SequenceTagger
from tagger.schemes import Span, allowed_transitions, convert_tags, spans_from_tags
from tagger.serialization import ModelFiles, load_model_files, save_model
from tagger.vocab import Vocab, WordVocab

# Label-by-label maps that are exact for valid sequences: no context is needed to convert them.
_PREFIX_MAPS = {("IOBES", "IOB2"): {"B": "B", "I": "I", "E": "I", "S": "B"}, ("BILOU", "IOB2"): {"B": "B", "I": "I", "L": "I", "U": "B"}}


def _label_map(labels: Sequence[str], source: str, target: str) -> Optional[List[str]]:
    """Per-label conversion from ``source`` to ``target`` when one exists, else None."""
    if source == target:
        return list(labels)
    prefixes = _PREFIX_MAPS.get((source, target))
    if prefixes is None:
        return None
    return [label if label == "O" else f"{prefixes[label[0]]}{label[1:]}" for label in labels]


class Tagger:
    """A trained sequence tagger.

    Args:
        model: The network.
        word_vocab: Word ids (with the lowercase and digit fallbacks).
        char_vocab: Character ids.
        labels: The labels the network predicts, in its training scheme.
        output_labels: The corpus's labels, in the order of its ClassLabel feature.
        train_config: How it was trained (kept for the record).
        meta: Training scores, corpus and version information.
        mixed_precision: Run the network under autocast (bfloat16, or float16 where the GPU
            lacks it) when it is on a GPU; ignored on CPU.
    """

    def __init__(
        self,
        model: SequenceTagger,
        word_vocab: WordVocab,
        char_vocab: Vocab,
        labels: Vocab,
        output_labels: Sequence[str],
        train_config: Optional[TrainConfig] = None,
        meta: Optional[dict] = None,
        mixed_precision: bool = False,
    ):
        self.model = model.eval()
        self.mixed_precision = mixed_precision
        self.word_vocab = word_vocab
        self.char_vocab = char_vocab
        self.label_vocab = labels
        self.output_labels = list(output_labels)
        self.train_config = train_config or TrainConfig()
        self.meta = dict(meta or {})
        self._char_index = CharIndex(char_vocab)
        self._label_map = _label_map(labels.items, self.config.training_scheme, self.config.output_scheme) if self.config.crf else None

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_files(cls, files: ModelFiles, device: Union[str, torch.device] = "auto", mixed_precision: bool = False) -> "Tagger":
        config = files.config
        constraints = allowed_transitions(files.vocab["labels"], config.training_scheme) if config.crf else None
        model = SequenceTagger(config, constraints)
        expected = model.state_dict()
        missing = sorted(set(expected) - set(files.state_dict))
        unexpected = sorted(set(files.state_dict) - set(expected))
        if missing or unexpected:
            raise ModelFileError(f"weights do not match the configuration (missing {missing[:3]}, unexpected {unexpected[:3]})")
        for name, tensor in files.state_dict.items():
            if tensor.shape != expected[name].shape:
                raise ModelFileError(
                    f"weight {name} has shape {tuple(tensor.shape)}, the configuration needs {tuple(expected[name].shape)}"
                )
        model.load_state_dict(files.state_dict)
        device = resolve_device(device) if isinstance(device, str) else device
        return cls(
            model.to(device),
            WordVocab(files.vocab["words"], lowercase=config.lowercase_words),
            Vocab(files.vocab["chars"]),
            Vocab(files.vocab["labels"], reserved=False),
            files.vocab["output_labels"],
            files.train_config,
            files.meta,
            mixed_precision,
        )

    @classmethod
    def load(cls, path: Union[str, Path], device: str = "auto", mixed_precision: bool = False) -> "Tagger":
        """Loads a model directory written by ``tagger.train`` or ``Tagger.save``.

        Args:
            device: auto | cpu | cuda | cuda:N.
            mixed_precision: Tag under autocast on a GPU (see the class).
        """
        return cls.from_files(load_model_files(path), device, mixed_precision)

    def to_files(self) -> ModelFiles:
        vocab = {
            "words": self.word_vocab.items,
            "chars": self.char_vocab.items,
            "labels": self.label_vocab.items,
            "output_labels": self.output_labels,
        }
        return ModelFiles(self.config, self.train_config, vocab, self.model.state_dict(), self.meta)

    def save(self, path: Union[str, Path], *, force: bool = False) -> Path:
        """Writes the model directory atomically; an existing model is replaced only with ``force``."""
        return save_model(path, self.to_files(), force=force)

    # -- properties -----------------------------------------------------------------------------

    @property
    def config(self) -> TaggerConfig:
        return self.model.config

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def labels(self) -> List[str]:
        """The labels predictions use (the corpus's labels, in its scheme)."""
        return list(self.output_labels)

    @property
    def scheme(self) -> str:
        """The tag scheme of the predictions (the corpus's scheme)."""
        return self.config.output_scheme

    # -- prediction -----------------------------------------------------------------------------

    def _to_output(self, ids: List[int]) -> List[str]:
        if self._label_map is not None:
            label_map = self._label_map
            return [label_map[i] for i in ids]
        tags = self.label_vocab.decode(ids)
        return convert_tags(tags, self.config.training_scheme, self.config.output_scheme)

    def _form_features(self, forms: FormTable, block: int = 4096) -> Optional[torch.Tensor]:
        """Character and casing features of every form of a chunk, computed once (not per batch),
        in blocks of forms of similar length.
        """
        chars, lengths, case = forms.arrays()
        order = np.argsort(lengths, kind="stable")
        features: Optional[torch.Tensor] = None
        device = self.device
        for start in range(0, len(order), block):
            rows = order[start : start + block]
            width = max(1, int(lengths[rows].max()))
            part = self.model.form_features(
                torch.from_numpy(chars[rows, :width]).to(device),
                torch.from_numpy(lengths[rows]).to(device),
                torch.from_numpy(case[rows]).to(device),
            )
            if part is None:
                return None
            if features is None:
                features = part.new_empty((len(order), part.shape[1]))
            features[torch.from_numpy(rows).to(device)] = part
        return features

    @torch.inference_mode()
    def _predict_chunk(self, sentences: Sequence[Sequence[str]], batch_size: int) -> List[List[str]]:
        self.model.eval()  # no dropout, whatever mode a training loop left the network in
        with mixed_precision(self.device, self.mixed_precision):
            return self._predict_sorted(sentences, batch_size)

    def _predict_sorted(self, sentences: Sequence[Sequence[str]], batch_size: int) -> List[List[str]]:
        forms = FormTable(self.char_vocab, char_index=self._char_index)
        encoded = [encode_sentence(tokens, self.word_vocab, forms) for tokens in sentences]
        form_features = self._form_features(forms)
        order = sorted((i for i in range(len(encoded)) if len(encoded[i])), key=lambda i: len(encoded[i]))
        results: List[List[str]] = [[] for _ in sentences]
        device = self.device
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size][::-1]  # longest first
            batch = make_batch([encoded[i] for i in indices]).to(device)
            for i, ids in zip(indices, self.model.decode(batch, form_features)):
                results[i] = self._to_output(ids)
        return results

    def iter_predict(
        self, sentences: Iterable[Sequence[str]], batch_size: int = 256, chunk_size: Optional[int] = None
    ) -> Iterator[List[str]]:
        """Tags a stream of sentences lazily, in input order, in memory bounded by ``chunk_size``.

        Sentences within a chunk are sorted by length before batching, so padding stays small.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        chunk_size = chunk_size or max(batch_size * 16, 1024)
        keep_freed_memory()
        iterator = iter(sentences)
        while True:
            chunk = [list(tokens) for tokens in islice(iterator, chunk_size)]
            if not chunk:
                return
            yield from self._predict_chunk(chunk, batch_size)

    def predict(self, sentences: Iterable[Sequence[str]], batch_size: int = 256) -> List[List[str]]:
        """Tags pre-tokenised sentences; returns one tag list per sentence, in the corpus's scheme.

        Example:
            >>> tagger.predict([["John", "lives", "in", "Paris", "."]])
            [['B-PER', 'O', 'O', 'B-LOC', 'O']]
        """
        if isinstance(sentences, (str, bytes)) or (isinstance(sentences, Sequence) and sentences and isinstance(sentences[0], str)):
            raise TypeError("predict takes a list of tokenised sentences (a list of lists of strings)")
        return list(self.iter_predict(sentences, batch_size))

    def predict_spans(self, sentences: Iterable[Sequence[str]], batch_size: int = 256) -> List[List[Span]]:
        """Entity spans (label, start, end token offsets; end exclusive) per sentence."""
        if self.scheme == "plain":
            raise ValueError("this model predicts plain tags (e.g. POS), which have no spans; use predict()")
        return [spans_from_tags(tags, self.scheme) for tags in self.predict(sentences, batch_size)]

    def info(self) -> Dict[str, object]:
        """What ``tagger info`` prints: configuration, labels, size and training scores."""
        parameters = sum(p.numel() for p in self.model.parameters())
        return {
            "model": self.config.to_dict(),
            "training": self.train_config.to_dict(),
            "labels": self.labels,
            "scheme": self.scheme,
            "parameters": parameters,
            "words": len(self.word_vocab),
            "chars": len(self.char_vocab),
            **{
                k: v
                for k, v in self.meta.items()
                if k in ("scores", "tagger_version", "created", "corpus", "embeddings", "training_time_s", "best_epoch")
            },
        }
