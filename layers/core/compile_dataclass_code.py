"""Compile the texts of dataclass-code.json into the table kassa.dataclass_code reads at init.

Run by the Makefile with Lambda's Python (code objects are only valid for the version that compiled them):
``python3.12 compile_dataclass_code.py TEXTS.json KASSA_PACKAGE_DIR``. Each text is compiled as
``dataclasses`` has ``exec`` compile it: file name ``<string>``, no ``__future__`` flags of this script.
"""

import json
import marshal
import os
import sys


def main(texts_file: str, package_dir: str) -> None:
    with open(texts_file, encoding="utf-8") as file:
        texts = json.load(file)
    table = {text: compile(text, "<string>", "exec", dont_inherit=True) for text in texts}
    name = f"dataclass_code.{sys.implementation.cache_tag}.marshal"
    with open(os.path.join(package_dir, name), "wb") as file:
        marshal.dump(table, file)


if __name__ == "__main__":
    main(*sys.argv[1:])
