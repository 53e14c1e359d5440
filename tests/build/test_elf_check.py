"""The ELF check (kassa_dev.elf_check) on synthetic ELF headers and on this host's own native code."""

from __future__ import annotations

import platform
import shutil
import struct
from pathlib import Path

import pydantic_core._pydantic_core as host_extension
import pytest

from kassa_dev.elf_check import AARCH64, TARGET, X86_64, check, main, read_elf

ARM, X86 = 40, 3


def elf(machine: int, *, bits: int = 64, little: bool = True) -> bytes:
    """An ELF header (e_ident, e_type ET_DYN, e_machine, e_version) and some padding: what the check reads."""
    order = "<" if little else ">"
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1 if little else 2, 1]) + bytes(9)
    return ident + struct.pack(f"{order}HHI", 3, machine, 1) + bytes(40)


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def test_aarch64_passes_with_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree(tmp_path, {"python/pydantic_core/_pydantic_core.so": elf(AARCH64), "python/wrapt/_wrappers.so": elf(AARCH64)})
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"elf_check: {tmp_path}: 2 ELF files, all {TARGET}\n"


def test_x86_64_fails_naming_the_file_and_machine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree(tmp_path, {"ok.so": elf(AARCH64), "python/pydantic_core/_pydantic_core.so": elf(X86_64)})
    assert main([str(tmp_path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (
        f"elf_check: {tmp_path}/python/pydantic_core/_pydantic_core.so: x86-64 (e_machine 62, ELF64 little-endian)"
    )
    assert lines[1] == f"elf_check: {tmp_path}: 1 of 2 ELF files are not {TARGET}"


@pytest.mark.parametrize(
    ("header", "machine", "described"),
    [
        (elf(ARM, bits=32), ARM, "arm (e_machine 40, ELF32 little-endian)"),
        (elf(X86, bits=32), X86, "x86 (e_machine 3, ELF32 little-endian)"),
        # Read in the file's own byte order: read little-endian, these would be machines 15872 and 46848.
        (elf(X86_64, little=False), X86_64, "x86-64 (e_machine 62, ELF64 big-endian)"),
        (elf(AARCH64, little=False), AARCH64, "aarch64 (e_machine 183, ELF64 big-endian)"),
        (elf(AARCH64, bits=32), AARCH64, "aarch64 (e_machine 183, ELF32 little-endian)"),
        (elf(9999), 9999, "unknown machine (e_machine 9999, ELF64 little-endian)"),
    ],
)
def test_32_bit_and_big_endian_headers_are_read_right_and_fail(
    tmp_path: Path, header: bytes, machine: int, described: str
) -> None:
    found = read_elf(tree(tmp_path, {"lib.so": header}) / "lib.so")
    assert found is not None and found.machine == machine and found.describe() == described
    # aarch64 big-endian or 32-bit is still not what Lambda's arm64 loads
    assert check(tmp_path) == (
        False,
        [
            f"{tmp_path}/lib.so: {described}",
            f"{tmp_path}: 1 of 1 ELF files are not {TARGET}",
        ],
    )


def test_every_elf_file_counts_whatever_its_name(tmp_path: Path) -> None:
    tree(tmp_path, {"lib/libffi.so.8": elf(X86_64), "bin/helper": elf(X86_64), "a.so": elf(AARCH64)})
    passed, lines = check(tmp_path)
    assert not passed
    assert [line.split(":")[0] for line in lines[:-1]] == [f"{tmp_path}/bin/helper", f"{tmp_path}/lib/libffi.so.8"]


def test_non_elf_files_are_ignored(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "app.py": b"print('hi')\n",
            "fake.so": b"not a shared object",
            "almost.so": b"\x7fEL",
            "empty.so": b"",
            "x86.txt": b"ELF\x7f" + elf(X86_64)[4:],
            "python/_pydantic_core.so": elf(AARCH64),
        },
    )
    assert check(tmp_path) == (True, [f"{tmp_path}: 1 ELF files, all {TARGET}"])


def test_a_malformed_header_after_the_magic_fails(tmp_path: Path) -> None:
    tree(tmp_path, {"truncated.so": elf(AARCH64)[:12], "badclass.so": b"\x7fELF\x07" + elf(AARCH64)[5:]})
    passed, lines = check(tmp_path)
    assert not passed
    assert lines[:2] == [
        f"{tmp_path}/badclass.so: malformed ELF header",
        f"{tmp_path}/truncated.so: malformed ELF header",
    ]


def test_symbolic_links_are_not_followed(tmp_path: Path) -> None:
    outside = tree(tmp_path / "outside", {"host.so": elf(X86_64)})
    build = tree(tmp_path / "build", {"python/_pydantic_core.so": elf(AARCH64)})
    (build / "python/host.so").symlink_to(outside / "host.so")
    assert check(build)[0]


def test_no_shared_objects_at_all_is_a_broken_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree(tmp_path, {"CoreLayer/python/kassa/__init__.py": b""})
    assert main([str(tmp_path)]) == 1
    assert "no ELF files under" in capsys.readouterr().err
    assert main([str(tmp_path / "missing")]) == 1
    assert "is not a directory" in capsys.readouterr().err


@pytest.mark.skipif(platform.machine() != "x86_64", reason="reads an x86_64 host's own pydantic-core")
def test_this_hosts_pydantic_core_fails(tmp_path: Path) -> None:
    host_so = Path(host_extension.__file__)
    shutil.copy(host_so, tmp_path / host_so.name)
    passed, lines = check(tmp_path)
    assert not passed
    assert lines[0].startswith(f"{tmp_path}/{host_so.name}: x86-64 (e_machine 62, ELF64 little-endian)")
