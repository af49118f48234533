"""Compile the translation catalogues (locale/*/LC_MESSAGES/*.po) into the .mo files Django reads.

The install step runs this (Makefile: ``python -m config.catalogues``), so installing Reclaim needs no
system gettext: polib writes the .mo files. Only adding or updating strings (``makemessages``) needs
gettext's tools (README, "Languages"). The .mo files are build output and are not committed.

Fuzzy and empty entries are left out of the .mo, as msgfmt does: a person then reads the English
original, never a guess. The tests refuse such entries in the shipped catalogues.

Needs no Django settings: it runs before any .env exists.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@dataclass(frozen=True)
class CatalogueStats:
    po: Path
    translated: int
    untranslated: int
    fuzzy: int

    def __str__(self) -> str:
        return (f"{self.po}: {self.translated} translated, {self.untranslated} untranslated, "
                f"{self.fuzzy} fuzzy")


def catalogue_stats(po: polib.POFile, path: Path) -> CatalogueStats:
    return CatalogueStats(path, translated=len(po.translated_entries()), untranslated=len(po.untranslated_entries()),
                          fuzzy=len(po.fuzzy_entries()))


def catalogues_compile(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[CatalogueStats]:
    """Write each .po's .mo beside it (only where the .po is newer, unless ``force``); their statistics."""
    stats = []
    for path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        po = polib.pofile(str(path))
        mo = path.with_suffix(".mo")
        if force or not mo.exists() or mo.stat().st_mtime < path.stat().st_mtime:
            po.save_as_mofile(str(mo))
        stats.append(catalogue_stats(po, path))
    return stats


def main(argv: list[str]) -> int:
    for line in catalogues_compile(force="--force" in argv):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
