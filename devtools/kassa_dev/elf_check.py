"""Check that the built artifact holds only native code Lambda's arm64 can load.

    python -m kassa_dev.elf_check [DIR]        (DIR defaults to .aws-sam/build)

Reads the ELF header of every file under DIR that starts with the ELF magic (not only ``*.so``: a
wheel may ship ``.so.1`` files, executables or oddly named extensions) and requires each to be what the
functions run on: aarch64 (e_machine 183), 64-bit, little-endian. Exit 0 with a count when all are;
exit 1 with one line per offender naming the file and its machine. Zero ELF files is a failure too: the
layer must hold pydantic-core's compiled extension, so a build without any native code is broken.

Standard library only, so `make build` runs it without the dev venv.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"\x7fELF"
AARCH64 = 183
X86_64 = 62
# e_ident: magic (4), EI_CLASS, EI_DATA, ...; then e_type (2 bytes) at 16 and e_machine (2 bytes) at 18,
# at the same offsets in ELF32 and ELF64, in the byte order EI_DATA names.
_HEADER = 20
_CLASSES = {1: "ELF32", 2: "ELF64"}
_ORDERS = {1: ("<", "little-endian"), 2: (">", "big-endian")}
MACHINES = {
    2: "sparc",
    3: "x86",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390",
    40: "arm",
    43: "sparcv9",
    X86_64: "x86-64",
    AARCH64: "aarch64",
    243: "riscv",
    258: "loongarch",
}
DEFAULT_DIR = Path(".aws-sam/build")
TARGET = "aarch64 ELF64 little-endian (Lambda arm64)"


@dataclass(frozen=True)
class ElfFile:
    path: Path
    machine: int | None  # None: starts with the magic, but the header is not one a loader would read
    bits: str = ""
    byte_order: str = ""

    @property
    def runs_on_lambda_arm64(self) -> bool:
        return self.machine == AARCH64 and self.bits == "ELF64" and self.byte_order == "little-endian"

    def describe(self) -> str:
        if self.machine is None:
            return "malformed ELF header"
        name = MACHINES.get(self.machine, "unknown machine")
        return f"{name} (e_machine {self.machine}, {self.bits} {self.byte_order})"


def read_elf(path: Path) -> ElfFile | None:
    """The file's ELF identity, or None when it is not an ELF file."""
    with path.open("rb") as stream:
        head = stream.read(_HEADER)
    if not head.startswith(MAGIC):
        return None
    if len(head) < _HEADER or head[4] not in _CLASSES or head[5] not in _ORDERS:
        return ElfFile(path, None)
    code, byte_order = _ORDERS[head[5]]
    (machine,) = struct.unpack_from(f"{code}H", head, 18)
    return ElfFile(path, machine, _CLASSES[head[4]], byte_order)


def elf_files(root: Path) -> Iterator[ElfFile]:
    """Every ELF file under root, in a stable order. Symbolic links are not followed: their targets
    inside the tree are read as files of their own, and what lies outside does not ship."""
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_symlink() or not path.is_file():
                continue
            found = read_elf(path)
            if found is not None:
                yield found


def check(root: Path) -> tuple[bool, list[str]]:
    """(passed, report lines) for the tree under root."""
    if not root.is_dir():
        return False, [f"{root} is not a directory: nothing was built there (make build)"]
    found = list(elf_files(root))
    if not found:
        return False, [
            f"no ELF files under {root}: the layer must hold pydantic-core's compiled extension, "
            "so this build is broken"
        ]
    offenders = [elf for elf in found if not elf.runs_on_lambda_arm64]
    if offenders:
        lines = [f"{elf.path}: {elf.describe()}" for elf in offenders]
        return False, [*lines, f"{root}: {len(offenders)} of {len(found)} ELF files are not {TARGET}"]
    return True, [f"{root}: {len(found)} ELF files, all {TARGET}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    passed, lines = check(args.dir)
    for line in lines:
        print(f"elf_check: {line}", file=sys.stdout if passed else sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
