"""Contextual word features: a frozen Hugging Face encoder's hidden states, pooled per word.

The encoder (``AutoTokenizer`` + ``AutoModel``) is read from a local directory or the Hugging Face
cache; nothing is downloaded unless the caller passes ``allow_download=True``, remote code is never
run and only safetensors weights are read (no pickle). Each word gets the last ``layers`` hidden
states of its sub-tokens, pooled (``first`` sub-token or ``mean``); the tagger mixes the layers
(``tagger.model.ScalarMix``). A sentence longer than the encoder's positions is encoded in
windows of whole words. ``describe`` gives what ``contextual.json`` records, so that a model is
never tagged with another encoder than the one it was trained with.

transformers is imported only here, and only when an encoder is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from tagger.config import POOLINGS
from tagger.errors import ConfigError, ModelFileError

DEFAULT_LAYERS = 4
"""Hidden layers mixed by default (the last four, as the BERT paper's feature-based NER), at most the encoder's."""
BATCH_TOKENS = 8192
"""Sub-tokens (padding included) per forward pass of the encoder: windows are batched by length up to this."""
HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.model"]
"""What is taken from the Hub (config, tokenizer, safetensors weights): never pickled .bin weights."""
INSTALL_HINT = "pip install tagger[transformers]"
_UNKNOWN_LENGTH = 10**9  # tokenizers without a length limit report model_max_length as a huge sentinel


# ----------------------------------------------------------------------------- loading


def _transformers() -> Any:
    """The transformers module, or a one-line ConfigError saying how to install it."""
    try:
        import transformers
    except ImportError:
        raise ConfigError(f"contextual features need the transformers library: {INSTALL_HINT}") from None
    return transformers


@contextlib.contextmanager
def _quiet_loading(transformers: Any) -> Iterator[None]:
    """Turns transformers' weight-loading bar off inside the block, and back as it was after (leave the process as found)."""
    logging = transformers.utils.logging
    shown = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            logging.enable_progress_bar()


def resolve(name_or_path: str, revision: Optional[str] = None, allow_download: bool = False) -> Tuple[Path, Optional[str]]:
    """The local directory holding the encoder's files, and the Hub commit they are from (None for a local directory).

    An existing directory is used as it is. Anything else is a Hub name, looked up in the Hugging
    Face cache (``HF_HUB_CACHE``), and fetched from the Hub only with ``allow_download``.

    Raises:
        ConfigError: not a directory and not in the cache (offline), or not found on the Hub.
    """
    path = Path(name_or_path)
    if path.is_dir():
        return path, None
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConfigError(f"contextual features need the transformers library: {INSTALL_HINT}") from None
    try:
        folder = snapshot_download(name_or_path, revision=revision, local_files_only=not allow_download, allow_patterns=HUB_FILES)
    except Exception as error:  # noqa: BLE001 (huggingface_hub raises OSError, ValueError and HTTP errors of its own)
        if allow_download:
            raise ConfigError(f"encoder {name_or_path!r}: cannot get it from the Hugging Face Hub ({_first_line(error)})") from None
        raise ConfigError(
            f"encoder {name_or_path!r} is neither a local directory nor in the Hugging Face cache, and downloads are off: "
            "give the path of a local copy, or pass --allow-download (allow_download=True) to fetch it from the Hub"
        ) from None
    return Path(folder), Path(folder).name


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def weights_sha256(directory: Path) -> str:
    """SHA-256 of the encoder's safetensors weights: ``model.safetensors``, or the index and its shards in order.

    Raises:
        ConfigError: no safetensors weights in ``directory``.
    """
    single = directory / "model.safetensors"
    index = directory / "model.safetensors.index.json"
    if single.is_file():
        files = [single]
    elif index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ConfigError(f"cannot read the weights index ({error})", index) from None
        files = [index] + [directory / Path(shard).name for shard in shards]
    else:
        raise ConfigError("no model.safetensors in the encoder's files (only safetensors weights are read, never pickles)", directory)
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _max_positions(tokenizer: Any, config: Any) -> int:
    """Sub-tokens one forward pass takes (special tokens included): the tokenizer's and the model's limit, whichever is smaller."""
    limits = [getattr(config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    known = [int(n) for n in limits if isinstance(n, (int, float)) and 0 < n < _UNKNOWN_LENGTH]
    return min(known) if known else 512


def load_encoder(
    name_or_path: str,
    *,
    layers: Optional[int] = None,
    pooling: str = "first",
    revision: Optional[str] = None,
    device: Union[str, torch.device] = "cpu",
    allow_download: bool = False,
) -> "ContextualEncoder":
    """Loads a Hugging Face encoder (fast tokenizer and model) for per-word features, frozen and in eval mode.

    Args:
        name_or_path: A local directory, or a Hub name (from the Hugging Face cache, or downloaded with ``allow_download``).
        layers: Last hidden layers to keep (default: 4, at most the encoder's).
        pooling: ``first`` (the word's first sub-token) or ``mean`` (of its sub-tokens).
        revision: A Hub branch, tag or commit.
        device: Where the encoder runs.
        allow_download: Fetch from the Hub what the cache lacks.

    Raises:
        ConfigError: transformers is not installed, the encoder is not found (one line saying how to
            allow the download), it has no fast tokenizer or no safetensors weights, or bad ``layers``/``pooling``.
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"contextual_pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    transformers = _transformers()
    directory, commit = resolve(name_or_path, revision, allow_download)
    sha256 = weights_sha256(directory)
    tokenizer, model = _from_pretrained(transformers, name_or_path, directory)
    available = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    layers = _checked_layers(name_or_path, layers, available)
    description = {
        "name_or_path": str(name_or_path),
        "revision": revision,
        "commit_hash": commit,
        "model_type": str(getattr(model.config, "model_type", "")),
        "hidden_size": int(model.config.hidden_size),
        "num_hidden_layers": available,
        "layers": layers,
        "pooling": pooling,
        "max_positions": _max_positions(tokenizer, model.config),
        "weights_sha256": sha256,
    }
    model.requires_grad_(False)
    return ContextualEncoder(tokenizer, model.eval().to(device), description)


def _from_pretrained(transformers: Any, name_or_path: str, directory: Path) -> Tuple[Any, Any]:
    """The fast tokenizer and the model in ``directory``: local files only, safetensors only, no remote code.

    Raises:
        ConfigError: the files cannot be loaded, or the tokenizer is not a fast one.
    """
    try:
        with _quiet_loading(transformers):
            # local_files_only: resolve() has fetched all there is to fetch; never remote code, never pickles.
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(directory), local_files_only=True, trust_remote_code=False)
            model = transformers.AutoModel.from_pretrained(
                str(directory), local_files_only=True, trust_remote_code=False, use_safetensors=True
            )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"cannot load the encoder {name_or_path!r}: {_first_line(error)}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"encoder {name_or_path!r} has no fast tokenizer (tokenizer.json), which per-word features need")
    return tokenizer, model


def _checked_layers(name_or_path: str, layers: Optional[int], available: int) -> int:
    """The last layers to keep: ``layers``, by default ``DEFAULT_LAYERS``, at most the encoder's ``available`` ones.

    Raises:
        ConfigError: the encoder does not say how many layers it has, or ``layers`` is out of range.
    """
    if available < 1:
        raise ConfigError(f"encoder {name_or_path!r} does not say how many hidden layers it has (num_hidden_layers)")
    if layers is None or layers == 0:
        layers = min(DEFAULT_LAYERS, available)
    if not 1 <= layers <= available:
        raise ConfigError(f"contextual_layers must be in [1, {available}] (the layers of {name_or_path}), got {layers}")
    return layers


# What must be equal for a loaded encoder to be the one a model was trained with.
_SAME_ENCODER = ("model_type", "hidden_size", "num_hidden_layers", "max_positions", "weights_sha256")


def encoder_for(
    description: Dict[str, Any], *, device: Union[str, torch.device] = "cpu", allow_download: bool = False, source: Any = None
) -> "ContextualEncoder":
    """Loads the encoder a model directory's (checked) ``contextual.json`` describes, and checks that it is that one.

    The Hub commit recorded at training is the one loaded; a relative local path is resolved against the working directory.

    Raises:
        ModelFileError: naming ``source``: the encoder cannot be loaded (not found offline, transformers
            absent, ...) or differs from the recorded one (weights, size, layers).
    """
    name = description["name_or_path"]
    revision = description["commit_hash"] or description["revision"]
    try:
        encoder = load_encoder(
            name,
            layers=description["layers"],
            pooling=description["pooling"],
            revision=revision,
            device=device,
            allow_download=allow_download,
        )
    except ConfigError as error:
        raise ModelFileError(f"the model's contextual features: {error.message}", source) from None
    for key in _SAME_ENCODER:
        if encoder.description[key] != description[key]:
            raise ModelFileError(
                f"encoder {name!r} is not the one the model was trained with: its {key} is {encoder.description[key]!r}, "
                f"contextual.json records {description[key]!r}",
                source,
            )
    return encoder


# ----------------------------------------------------------------------------- features


def word_windows(counts: Sequence[int], budget: int) -> List[Tuple[int, int]]:
    """Splits a sentence's words into consecutive windows of whole words of at most ``budget`` sub-tokens.

    A word longer than the budget gets a window of its own (and the encoder keeps its first sub-tokens).

    Args:
        counts: Sub-tokens per word.
        budget: Sub-tokens per window (the encoder's positions less its special tokens).

    Returns:
        ``(start, end)`` word offsets, end exclusive, covering every word once; none for an empty sentence.
    """
    windows: List[Tuple[int, int]] = []
    start, total = 0, 0
    for index, count in enumerate(counts):
        if total + count > budget and index > start:
            windows.append((start, index))
            start, total = index, 0
        total += count
    if len(counts):
        windows.append((start, len(counts)))
    return windows


def pooling_matrix(word_ids: Sequence[Optional[int]], num_words: int, pooling: str) -> np.ndarray:
    """The (num_words, num_sub_tokens) matrix that pools a window's sub-token states into its words.

    ``first``: a one at each word's first sub-token; ``mean``: 1/n over its n sub-tokens. A word
    without sub-tokens (a character the tokenizer drops) has a row of zeros, so its feature is zero.
    """
    matrix = np.zeros((num_words, len(word_ids)), dtype=np.float32)
    for position, word in enumerate(word_ids):
        if word is None:  # special tokens and padding
            continue
        if pooling == "mean":
            matrix[word, position] = 1.0
        elif not matrix[word].any():
            matrix[word, position] = 1.0
    if pooling == "mean":
        sizes = matrix.sum(axis=1, keepdims=True)
        np.divide(matrix, sizes, out=matrix, where=sizes > 0)
    return matrix


class ContextualEncoder:
    """A frozen encoder that turns sentences (lists of words) into per-word features.

    Args:
        tokenizer: A fast tokenizer (``word_ids`` maps sub-tokens to words).
        model: The encoder, in eval mode, on the device it runs on.
        description: What ``contextual.json`` records (see ``load_encoder``).
    """

    def __init__(self, tokenizer: Any, model: Any, description: Dict[str, Any]):
        self.tokenizer = tokenizer
        self.model = model
        self.description = dict(description)
        self.specials = tokenizer.num_special_tokens_to_add(pair=False)

    @property
    def layers(self) -> int:
        return self.description["layers"]

    @property
    def dim(self) -> int:
        return self.description["hidden_size"]

    @property
    def pooling(self) -> str:
        return self.description["pooling"]

    @property
    def max_positions(self) -> int:
        return self.description["max_positions"]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: Union[str, torch.device]) -> "ContextualEncoder":
        self.model.to(device)
        return self

    def _windows(self, sentences: Sequence[Sequence[str]]) -> List[Tuple[int, int, int, int]]:
        """Every window of every sentence: (sentence, start word, end word, sub-tokens with the special ones)."""
        budget = max(1, self.max_positions - self.specials)
        nonempty = [i for i, words in enumerate(sentences) if len(words)]
        if not nonempty:
            return []
        encoding = self.tokenizer([list(sentences[i]) for i in nonempty], is_split_into_words=True, add_special_tokens=False, verbose=False)
        windows = []
        for row, i in enumerate(nonempty):
            ids = [w for w in encoding.word_ids(row) if w is not None]
            counts = np.bincount(np.asarray(ids, dtype=np.int64), minlength=len(sentences[i]))
            for start, end in word_windows(counts.tolist(), budget):
                windows.append((i, start, end, min(int(counts[start:end].sum()), budget) + self.specials))
        return windows

    def _batches(self, windows: Sequence[Tuple[int, int, int, int]]) -> Iterator[List[Tuple[int, int, int, int]]]:
        """Windows sorted by length, in batches of at most ``BATCH_TOKENS`` padded sub-tokens."""
        batch: List[Tuple[int, int, int, int]] = []
        for window in sorted(windows, key=lambda w: w[3]):
            if batch and (len(batch) + 1) * window[3] > BATCH_TOKENS:
                yield batch
                batch = []
            batch.append(window)
        if batch:
            yield batch

    @torch.inference_mode()
    def features(self, sentences: Sequence[Sequence[str]], progress: bool = False) -> List[torch.Tensor]:
        """Per-word features of each sentence, a CPU float16 tensor of shape (layers, num_words, dim).

        Args:
            sentences: Lists of words (an empty sentence gets an empty tensor).
            progress: Show a tqdm bar of the sentences encoded.
        """
        results = [torch.zeros((self.layers, len(words), self.dim), dtype=torch.float16) for words in sentences]
        windows = self._windows(sentences)
        from tqdm.auto import tqdm

        with tqdm(total=len(windows), desc="contextual features", unit="window", leave=False, disable=not progress) as bar:
            for batch in self._batches(windows):
                pooled = self._encode([list(sentences[i][start:end]) for i, start, end, _ in batch])
                for row, (i, start, end, _) in enumerate(batch):
                    results[i][:, start:end] = pooled[:, row, : end - start].to("cpu", torch.float16)
                bar.update(len(batch))
        return results

    def _encode(self, windows: List[List[str]]) -> torch.Tensor:
        """Pooled features of a batch of windows, shape (layers, batch, max_words, dim), on the encoder's device."""
        encoding = self.tokenizer(
            windows, is_split_into_words=True, truncation=True, max_length=self.max_positions, padding=True, return_tensors="pt"
        )
        width = encoding["input_ids"].shape[1]
        most_words = max(len(words) for words in windows)
        pools = np.zeros((len(windows), most_words, width), dtype=np.float32)
        for row, words in enumerate(windows):
            pools[row, : len(words)] = pooling_matrix(encoding.word_ids(row), len(words), self.pooling)
        device = self.device
        inputs = {key: value.to(device) for key, value in encoding.items()}
        hidden = self.model(**inputs, output_hidden_states=True).hidden_states[-self.layers :]
        states = torch.stack(hidden).float()  # shape: (layers, batch, width, dim)
        return torch.einsum("lbsd,bws->lbwd", states, torch.from_numpy(pools).to(device))


class FeatureCache:
    """An encoder's features kept by sentence: training computes them once and reuses them every epoch.

    The encoder is frozen and in eval mode, so a sentence's features never change.
    """

    def __init__(self, encoder: ContextualEncoder):
        self.encoder = encoder
        self.memo: Dict[Tuple[str, ...], torch.Tensor] = {}

    @property
    def description(self) -> Dict[str, Any]:
        return self.encoder.description

    def features(self, sentences: Sequence[Sequence[str]], progress: bool = False) -> List[torch.Tensor]:
        """As ``ContextualEncoder.features``, computing only the sentences not seen before."""
        keys = [tuple(words) for words in sentences]
        missing = [key for key in dict.fromkeys(keys) if key not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.encoder.features(missing, progress)))
        return [self.memo[key] for key in keys]

    def nbytes(self) -> int:
        """Memory the kept features take."""
        return sum(t.numel() * t.element_size() for t in self.memo.values())
