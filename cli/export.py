"""``tagger export``: write a model as one self-contained ONNX file (``tagger.onnx_export.export_onnx``)."""

from __future__ import annotations

from typing import Optional

import click

from tagger.cli.options import debug_option, model_option

EPILOG = """\b
Examples:
  tagger export --model models/ner --format onnx ner.onnx
  tagger export --model models/ner --format onnx --quantize int8 ner-int8.onnx
  tagger tag article.txt --model ner.onnx                    # tagged by onnxruntime

\b
The file holds the network (up to the emissions) and everything tagging needs (configuration,
vocabularies, CRF scores); tagger decodes with its constrained Viterbi. Needs pip install tagger[onnx]."""


@click.command("export", epilog=EPILOG)
@click.argument("out", metavar="OUT.onnx")
@model_option
@click.option("--format", "export_format", type=click.Choice(["onnx"]), default="onnx", show_default=True, help="What to write.")
@click.option(
    "--quantize",
    type=click.Choice(["int8"]),
    default=None,
    help="Store the weights in int8 (onnxruntime dynamic quantisation): a smaller file, faster LSTM and matmul "
    "kernels, tags that can differ slightly from float32  [default: float32].",
)
@click.option("--force", is_flag=True, help="Replace OUT.onnx if it exists.")
@debug_option
def export_command(out: str, model_dir: str, export_format: str, quantize: Optional[str], force: bool) -> None:
    """Export the model in DIR to OUT.onnx, for onnxruntime (`tagger tag --model OUT.onnx`)."""
    del export_format  # onnx is the only format
    from tagger.onnx_export import export_onnx

    path = export_onnx(model_dir, out, quantize=quantize, force=force)
    weights = "int8" if quantize else "float32"
    click.echo(f"tagger: wrote {path} ({path.stat().st_size:,} bytes, {weights} weights)", err=True)
