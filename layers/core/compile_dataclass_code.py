"""Compile the texts of dataclass-code.json into the table kassa.dataclass_code reads at init.

Run by the Makefile with Lambda's Python (code objects are only valid for the version that compiled them):
``python3.12 compile_dataclass_code.py TEXTS.json KASSA_PACKAGE_DIR``. The table's name, its format and how a
text is compiled are kassa.dataclass_code's, imported from the layer's source beside this file.
"""

import json
import os
import sys

from kassa.dataclass_code import TABLE_NAME, dump_table


def main(texts_file: str, package_dir: str) -> None:
    with open(texts_file, encoding="utf-8") as file:
        texts = json.load(file)
    with open(os.path.join(package_dir, TABLE_NAME), "wb") as file:
        file.write(dump_table(texts))


if __name__ == "__main__":
    main(*sys.argv[1:])
