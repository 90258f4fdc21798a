"""Tagger: a loaded model that tags pre-tokenised sentences in batches on CPU or GPU.

It imports nothing from training: loading a model needs neither gensim nor the vector file. A model
with contextual features also loads the encoder it was trained with (``tagger.contextual``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from tagger.batching import Batch, FormTable, pad_contextual
from tagger.config import TaggerConfig, TrainConfig
from tagger.devices import mixed_precision, resolve_device
from tagger.errors import ModelFileError
from tagger.model import SequenceTagger
from tagger.schemes import allowed_transitions
from tagger.serialization import ModelFiles, check_weights, load_model_files, save_model
from tagger.shapes import expected_shapes
from tagger.tagging import TaggerBase, TokenChunk, Vocabularies
from tagger.vocab import Vocab, WordVocab


class Tagger(TaggerBase):
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
        contextual: The encoder of a model with contextual features (a ``tagger.contextual.ContextualEncoder``
            or ``FeatureCache``); None for a model without them.
    """

    def __init__(
        self,
        model: SequenceTagger,
        word_vocab: WordVocab,
        char_vocab: Vocab,
        labels: Vocab,
        output_labels: Sequence[str],
        train_config: Optional[TrainConfig] = None,
        meta: Optional[Dict[str, Any]] = None,
        mixed_precision: bool = False,
        contextual: Any = None,
    ):
        self.model = model.eval()
        self.mixed_precision = mixed_precision
        if bool(model.config.contextual_layers) != (contextual is not None):
            raise ValueError("a model with contextual features needs its encoder (contextual=...), and only such a model takes one")
        self.contextual = contextual
        super().__init__(Vocabularies(word_vocab, char_vocab, labels, list(output_labels)), train_config, meta)

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_files(
        cls,
        files: ModelFiles,
        device: Union[str, torch.device] = "auto",
        mixed_precision: bool = False,
        *,
        allow_download: bool = False,
        source: Optional[Union[str, Path]] = None,
    ) -> "Tagger":
        """A Tagger from a model directory's contents (``load_model_files``, which checks them all).

        The weights' names and shapes are compared with the config before the network is built
        (``files`` may come from elsewhere than ``load_model_files``). A model with contextual
        features loads its encoder (see ``load``); ``source`` is the directory named in errors.
        """
        config = files.config
        check_weights(files.state_dict, expected_shapes(config))
        constraints = allowed_transitions(files.vocab["labels"], config.training_scheme) if config.crf else None
        device = resolve_device(device) if isinstance(device, str) else device
        encoder = None
        if config.contextual_layers:
            from tagger.contextual import encoder_for
            from tagger.serialization import CONTEXTUAL_FILE

            if files.contextual is None:
                raise ModelFileError("the model has contextual features but no description of its encoder", source)
            where = Path(source) / CONTEXTUAL_FILE if source is not None else None
            encoder = encoder_for(files.contextual, device=device, allow_download=allow_download, source=where)
        model = SequenceTagger(config, constraints)
        model.load_state_dict(files.state_dict)
        return cls(model.to(device), *Vocabularies.from_files(files), files.train_config, files.meta, mixed_precision, encoder)

    @classmethod
    def load(cls, path: Union[str, Path], device: str = "auto", mixed_precision: bool = False, allow_download: bool = False) -> "Tagger":
        """Loads a model directory written by ``tagger.train`` or ``Tagger.save``.

        A model with contextual features also loads the encoder its ``contextual.json`` names (the
        recorded Hub commit, or the local directory, a relative one from the working directory),
        and refuses one whose weights or size differ from those it was trained with.

        Args:
            device: auto | cpu | cuda | cuda:N.
            mixed_precision: Tag under autocast on a GPU (see the class).
            allow_download: Fetch the encoder from the Hugging Face Hub when it is not in the local
                cache; without it nothing is ever downloaded.

        Raises:
            ModelFileError: a bad model directory, or an encoder that is missing or not the recorded one.
        """
        return cls.from_files(load_model_files(path), device, mixed_precision, allow_download=allow_download, source=path)

    def to_files(self) -> ModelFiles:
        vocab = {
            "words": self.word_vocab.items,
            "chars": self.char_vocab.items,
            "labels": self.label_vocab.items,
            "output_labels": self.output_labels,
        }
        contextual = dict(self.contextual.description) if self.contextual is not None else None
        return ModelFiles(self.config, self.train_config, vocab, self.model.state_dict(), self.meta, contextual)

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

    # -- prediction -----------------------------------------------------------------------------

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
        results: List[List[str]] = [[] for _ in sentences]
        for indices, batch, form_features in self._batches(sentences, batch_size):
            for i, ids in zip(indices, self.model.decode(batch, form_features)):
                results[i] = self._to_output(ids)
        return results

    def _batches(self, sentences: Sequence[Sequence[str]], batch_size: int) -> Iterator[Tuple[List[int], Batch, Optional[torch.Tensor]]]:
        """``(indices, batch on the device, the chunk's form features)`` per batch of similar length, longest first."""
        chunk = TokenChunk(sentences, FormTable(self.char_vocab, char_index=self._char_index))
        form_words = chunk.word_ids(self.word_vocab)
        form_features = self._form_features(chunk.forms)
        contextual = self.contextual.features(sentences) if self.contextual is not None else None
        device = self.device
        for indices, lengths, forms, mask in chunk.batches(batch_size):
            batch = Batch(
                words=torch.from_numpy(np.where(mask, form_words[forms], 0)),
                forms=torch.from_numpy(forms),
                lengths=torch.from_numpy(lengths),
                mask=torch.from_numpy(mask),
                contextual=None if contextual is None else pad_contextual([contextual[i] for i in indices]),
            )
            yield indices, batch.to(device), form_features

    @torch.inference_mode()
    def emissions(self, sentences: Sequence[Sequence[str]], batch_size: int = 256) -> List[np.ndarray]:
        self.model.eval()
        sentences = [list(tokens) for tokens in sentences]
        results = [np.zeros((len(tokens), self.config.num_tags), dtype=np.float32) for tokens in sentences]
        with mixed_precision(self.device, self.mixed_precision):
            for indices, batch, form_features in self._batches(sentences, batch_size):
                scores = self.model.emissions(batch, form_features=form_features).float().cpu().numpy()
                for row, i in enumerate(indices):
                    results[i] = scores[row, : len(sentences[i])]
        return results

    def transition_scores(self) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if self.model.crf is None:
            return None
        with torch.no_grad():
            start, transitions, end = self.model.crf.constrained_scores(torch.float32)
        return start.cpu().numpy(), transitions.cpu().numpy(), end.cpu().numpy()

    ENGINE = "torch"

    def info(self) -> Dict[str, object]:
        """What ``tagger info`` prints: configuration, labels, size (trained parameters), training scores, the encoder."""
        info = {**super().info(), "parameters": sum(p.numel() for p in self.model.parameters())}
        if self.contextual is not None:
            info["contextual"] = dict(self.contextual.description)
        return info
