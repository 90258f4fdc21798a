"""Known corpora as data: file names, columns, tag schemes and the Hugging Face Hub's label orders.

The label lists are copied from the Hub's loaders (``conll2003``, ``conll2000``, ``wnut_17``,
``universal_dependencies``) so that label ids agree with models trained on the Hub versions.
No ``datasets`` import here: ``corpora.hf`` turns these into ``Features``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Optional

CONLL2003_POS = tuple(
    """
    " '' # $ ( ) , . : `` CC CD
    DT EX FW IN JJ JJR JJS LS MD NN NNP NNPS
    NNS NN|SYM PDT POS PRP PRP$ RB RBR RBS RP SYM TO
    UH VB VBD VBG VBN VBP VBZ WDT WP WP$ WRB
    """.split()
)
CHUNK_TAGS = tuple(
    """
    O B-ADJP I-ADJP B-ADVP I-ADVP B-CONJP I-CONJP B-INTJ I-INTJ B-LST I-LST B-NP
    I-NP B-PP I-PP B-PRT I-PRT B-SBAR I-SBAR B-UCP I-UCP B-VP I-VP
    """.split()
)
CONLL2003_NER = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
CONLL2000_POS = tuple(
    """
    '' # $ ( ) , . : `` CC CD DT
    EX FW IN JJ JJR JJS MD NN NNP NNPS NNS PDT
    POS PRP PRP$ RB RBR RBS RP SYM TO UH VB VBD
    VBG VBN VBP VBZ WDT WP WP$ WRB
    """.split()
)
WNUT17_NER = tuple(
    """
    O B-corporation I-corporation B-creative-work I-creative-work B-group I-group B-location I-location B-person I-person B-product
    I-product
    """.split()
)
# The Hub's order (first appearance in its source data); "_" labels multiword-token lines there.
UD_UPOS = tuple(
    """
    NOUN PUNCT ADP NUM SYM SCONJ ADJ PART DET CCONJ PROPN PRON
    X _ ADV INTJ VERB AUX
    """.split()
)

# CoNLL-U column (see corpora.conllu.CONLLU_COLUMNS) behind each feature of the Hub's UD datasets.
UD_FEATURE_COLUMNS = MappingProxyType(
    {
        "tokens": "form",
        "lemmas": "lemma",
        "upos": "upos",
        "xpos": "xpos",
        "feats": "feats",
        "head": "head",
        "deprel": "deprel",
        "deps": "deps",
        "misc": "misc",
    }
)


@dataclass(frozen=True)
class CorpusSchema:
    """How a known corpus is stored locally and what the Hub's version of it looks like.

    Attributes:
        name: The short name ``load_corpus`` accepts.
        format: ``"conll"`` or ``"conllu"``.
        files: Split name -> file name inside ``DATA_DIR/<name>/`` (``validation`` comes from dev).
        columns: Feature name of each file column, in order (column files only).
        label_names: ClassLabel names (the Hub's order) of each label column.
        file_schemes: Tag scheme of each label column as the files store it.
        hub_schemes: Tag scheme of each label column in the Hub's version (what ``load_corpus`` returns).
        tag_column: The column a tagger trains on by default.
        id_column: Name of the sentence-id feature (``id``, or ``idx`` for UD).
        hub: Candidate (path, config) pairs for ``datasets.load_dataset``.
    """

    name: str
    format: str
    files: Mapping[str, str]
    columns: tuple[str, ...]
    label_names: Mapping[str, tuple[str, ...]]
    file_schemes: Mapping[str, str]
    hub_schemes: Mapping[str, str]
    tag_column: str
    id_column: str
    hub: tuple[tuple[str, Optional[str]], ...]


def _schema(**kwargs: Any) -> CorpusSchema:
    for key in ("files", "label_names", "file_schemes", "hub_schemes"):
        kwargs[key] = MappingProxyType(dict(kwargs[key]))
    return CorpusSchema(**kwargs)


_SPLIT_FILES_TXT = {"train": "train.txt", "validation": "dev.txt", "test": "test.txt"}

KNOWN_CORPORA: Mapping[str, CorpusSchema] = MappingProxyType(
    {
        "conll2003": _schema(
            name="conll2003",
            format="conll",
            files=_SPLIT_FILES_TXT,
            columns=("tokens", "pos_tags", "chunk_tags", "ner_tags"),
            label_names={"pos_tags": CONLL2003_POS, "chunk_tags": CHUNK_TAGS, "ner_tags": CONLL2003_NER},
            file_schemes={"pos_tags": "plain", "chunk_tags": "IOB1", "ner_tags": "IOB1"},
            hub_schemes={"pos_tags": "plain", "chunk_tags": "IOB2", "ner_tags": "IOB2"},
            tag_column="ner_tags",
            id_column="id",
            hub=(("eriktks/conll2003", None), ("conll2003", None)),
        ),
        "conll2000": _schema(
            name="conll2000",
            format="conll",
            files={"train": "train.txt", "test": "test.txt"},
            columns=("tokens", "pos_tags", "chunk_tags"),
            label_names={"pos_tags": CONLL2000_POS, "chunk_tags": CHUNK_TAGS},
            file_schemes={"pos_tags": "plain", "chunk_tags": "IOB2"},
            hub_schemes={"pos_tags": "plain", "chunk_tags": "IOB2"},
            tag_column="chunk_tags",
            id_column="id",
            hub=(("conll2000", None),),
        ),
        "wnut17": _schema(
            name="wnut17",
            format="conll",
            files=_SPLIT_FILES_TXT,
            columns=("tokens", "ner_tags"),
            label_names={"ner_tags": WNUT17_NER},
            file_schemes={"ner_tags": "IOB2"},
            hub_schemes={"ner_tags": "IOB2"},
            tag_column="ner_tags",
            id_column="id",
            hub=(("wnut_17", None), ("leondz/wnut_17", None)),
        ),
        "ud_en_ewt": _schema(
            name="ud_en_ewt",
            format="conllu",
            files={"train": "train.conllu", "validation": "dev.conllu", "test": "test.conllu"},
            columns=(),
            label_names={"upos": UD_UPOS},
            file_schemes={"upos": "plain", "xpos": "plain"},
            hub_schemes={"upos": "plain", "xpos": "plain"},
            tag_column="upos",
            id_column="idx",
            hub=(("universal_dependencies", "en_ewt"),),
        ),
    }
)
"""Known corpus name -> ``CorpusSchema``."""
