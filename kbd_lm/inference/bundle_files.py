"""The bundle's files: their names, roles and flags, one table (:data:`FILES`).

Decoders find a file by its role in the manifest's ``files``; :mod:`kbd_lm.inference.bundle`
(which re-exports these names) lists, measures and checks them.

>>> FILE_TABLE["typing.json"]
BundleFile(role='typing', name='typing.json', shipped=True, required=False)
"""

from __future__ import annotations

from dataclasses import dataclass

from kbd_lm.typing.spec import FILE as TYPING_SPEC_FILE

MANIFEST_FILE = "manifest.json"  # lists every other file, never itself
MODEL_FILE = "model.tflite"
TOKENIZER_FILE = "tokenizer.model"
NGRAM_FILE = "ngram.kn3"
LEXICON_FILE = "lexicon.txt.gz"
BLOCKLIST_FILE = "blocklist.txt"
TOKENIZER_JSON_FILE = "tokenizer.json"
OPS_FILE = "ops.txt"
OP_RESOLVER_FILE = "op_resolver.cc"
EXPORT_CONFIG_FILE = "export_config.toml"
TRAIN_CONFIG_FILE = "train_config.toml"
CONFORMANCE_FILE = "conformance.jsonl"
TYPING_FILE = TYPING_SPEC_FILE  # "typing.json"; its format: kbd_lm.typing.spec


@dataclass(frozen=True)
class BundleFile:
    """A file a bundle may hold: its role, its name, whether an app ships it (else it is
    test-only) and whether every bundle has it (else it is optional)."""

    role: str  # what decoders look the file up by (the manifest's files.<name>.role)
    name: str
    shipped: bool  # True: an app copies it to the phone; False: tests, builds and audits
    required: bool  # True: Bundle.load refuses a manifest that does not list it


# The bundle's file table: every file export may write, in the order the manifest lists them.
FILES: tuple[BundleFile, ...] = (
    BundleFile("model", MODEL_FILE, shipped=True, required=True),
    BundleFile("tokenizer", TOKENIZER_FILE, shipped=True, required=True),
    BundleFile("ngram", NGRAM_FILE, shipped=True, required=False),  # kbd_lm.ngram
    BundleFile("lexicon", LEXICON_FILE, shipped=True, required=False),  # inference.lexicon
    BundleFile("blocklist", BLOCKLIST_FILE, shipped=True, required=False),  # .blocklist
    # The layouts, channel parameters and thresholds of typing correction (format 4).
    BundleFile("typing", TYPING_FILE, shipped=True, required=False),  # kbd_lm.typing.spec
    # The tokenizer and the text rules as data, for ports (the web ships it instead of
    # tokenizer.model; kbd_lm.export.portable).
    BundleFile("tokenizer_json", TOKENIZER_JSON_FILE, shipped=False, required=False),
    BundleFile("ops", OPS_FILE, shipped=False, required=False),  # the model's op list
    BundleFile("op_resolver", OP_RESOLVER_FILE, shipped=False, required=False),  # C++ source
    BundleFile("export_config", EXPORT_CONFIG_FILE, shipped=False, required=False),
    BundleFile("train_config", TRAIN_CONFIG_FILE, shipped=False, required=False),
    # The Python predictor's answers, for other decoders (inference.conformance).
    BundleFile("conformance", CONFORMANCE_FILE, shipped=False, required=False),
)
FILE_TABLE = {f.name: f for f in FILES}  # name -> BundleFile
