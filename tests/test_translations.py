"""Every text a person reads is marked for translation, and every shipped catalogue is complete
(README, "Languages").

Templates are read with Django's own lexer: text outside ``{% translate %}``, ``{% blocktranslate %}`` and
comments is parsed as HTML, and any word in it (in an element's text or in an attribute a person reads)
is text nobody can translate. Scripts and styles are code; the notices to platforms stay in English by
design (templates/notices). Catalogues are read with polib: an empty or fuzzy entry would show the
English original (or a guess) to someone who chose another language.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.template import engines
from django.template.base import Lexer, TokenType

from tests.conftest import REPO

TEMPLATES = REPO / "templates"
# Notices to platforms are written in the regime's language, English, whatever the issuer reads.
ENGLISH_BY_DESIGN = ("notices/",)
# The same in every language: the product's name, the time zone's, and the names of formats, protocols and
# hashes staff read beside them. Anything else is marked, even a word that happens to be the same in one.
SAME_IN_EVERY_LANGUAGE = ("Reclaim", "UTC", "SHA-256", "PDQ", "PDF", "HTTP", "robots.txt", "Message-ID")
# Elements whose text is code: a command, a configuration, a script or a style.
CODE_ELEMENTS = {"script", "style", "code", "pre", "kbd", "samp"}
# Attributes whose value a person reads (or hears, from a screen reader).
TEXT_ATTRIBUTES = {"aria-label", "aria-description", "title", "placeholder", "alt", "label"}
MARK = "\ue000"  # stands for a variable or tag: not a word
WORD = re.compile(r"[^\W\d_]{2,}")
# Filters whose string argument is shown as text, and English-only plurals.
SHOWN_LITERAL = re.compile(r"""\|\s*(?:default|default_if_none|yesno)\s*:\s*(["'])(?P<text>.*?)\1""")
ENGLISH_PLURAL = re.compile(r"\|\s*pluralize\b")
BLOCKS_TRANSLATED = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment"}


def template_paths() -> list[str]:
    paths = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))
    return [p for p in paths if not p.startswith(ENGLISH_BY_DESIGN)]


def _words(text: str) -> list[str]:
    text = text.replace(MARK, " ")
    for name in SAME_IN_EVERY_LANGUAGE:
        text = text.replace(name, " ")
    return WORD.findall(text)


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.code_depth = 0
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in CODE_ELEMENTS:
            self.code_depth += 1
        attributes = dict(attrs)
        for name, value in attrs:
            shown = name in TEXT_ATTRIBUTES or (
                name == "value" and attributes.get("type") in ("submit", "button", "reset"))
            # A data-* attribute that holds a sentence is a text for a script (hash_register.js); one word
            # is a selector or a flag.
            shown = shown or (name.startswith("data-") and value and len(value.replace(MARK, " ").split()) > 1)
            if shown and value and _words(value):
                self.found.append(f'{name}="{value.replace(MARK, "…")}"')

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in CODE_ELEMENTS:
            self.code_depth -= 1

    def handle_endtag(self, tag):
        if tag in CODE_ELEMENTS and self.code_depth:
            self.code_depth -= 1

    def handle_data(self, data):
        if not self.code_depth and _words(data):
            self.found.append(" ".join(data.replace(MARK, "…").split()))


def untranslated_texts(source: str) -> list[str]:
    """The texts in a template that no translation tag covers."""
    html, found, inside = [], [], None
    for token in Lexer(source).tokenize():
        contents = token.contents.strip()
        if token.token_type == TokenType.TEXT:
            html.append(MARK if inside else token.contents)
            continue
        html.append(MARK)
        name = contents.split()[0] if contents else ""
        if token.token_type == TokenType.BLOCK:
            if inside:
                inside = None if name == inside else inside
            elif name in BLOCKS_TRANSLATED:
                inside = BLOCKS_TRANSLATED[name]
        elif token.token_type == TokenType.VAR and not inside:
            found += [f"{{{{ {contents} }}}}" for m in SHOWN_LITERAL.finditer(contents) if _words(m["text"])]
            found += [f"{{{{ {contents} }}}}: pluralize is English only"] if ENGLISH_PLURAL.search(contents) else []
    finder = _TextFinder()
    finder.feed("".join(html))
    finder.close()
    return finder.found + found


def test_the_checker_finds_what_it_should():
    """The checker itself: untranslated text, attributes and literals are found; translated ones are not."""
    assert untranslated_texts("<p>Hello</p>") == ["Hello"]
    assert untranslated_texts('<p title="Open it">{% translate "Hi" %}</p>') == ['title="Open it"']
    assert untranslated_texts('{{ x|default:"Nothing" }}') == ['{{ x|default:"Nothing" }}']
    assert untranslated_texts("{{ n }} hash{{ n|pluralize:'es' }}")  # both the word and the English plural
    assert untranslated_texts(
        "{% load i18n %}<h1>{% translate 'Hi' %}</h1>{% blocktranslate %}Dear {{ name }}{% endblocktranslate %}"
        "{# note #}{% comment %}Not shown{% endcomment %}<style>p::after { content: 'x y' }</style>"
        "<pre>python -m detection.engine.hash_files IMAGE</pre>"
        '<a href="{% url "casework:home" %}" data-lines="#id_x">Reclaim</a> · — {{ when }} UTC'
    ) == []


@pytest.mark.parametrize("name", template_paths())
def test_every_text_in_a_template_is_marked_for_translation(name):
    engines["django"].engine.get_template(name)  # and it compiles: {% load i18n %} is not forgotten
    assert untranslated_texts((TEMPLATES / name).read_text()) == [], (
        "mark these texts with {% translate %} or {% blocktranslate %} (a technical name that is the same in every "
        "language may join SAME_IN_EVERY_LANGUAGE)")


# --- Catalogues -----------------------------------------------------------------------------------

CATALOGUES = sorted((REPO / "locale").glob("*/LC_MESSAGES/django.po"))
# Files whose every text is read by the public, a subject or at sign-in: their entries are translated
# with the first catalogues; the staff's come after (issue 16). The whole-catalogue test covers both.
PUBLIC_SOURCES = (
    "templates/base.html", "templates/403.html", "templates/404.html", "templates/413.html", "templates/429.html",
    "templates/_totp_setup_steps.html", "templates/_language_switcher.html", "templates/public/",
    "templates/portal/", "templates/registration/", "templates/casework/consent_receipt.html",
    "templates/casework/_hash_register.html", "templates/casework/emails/retention_notice.txt",
    "casework/views/public.py", "casework/views/portal.py", "casework/views/portal_two_factor.py",
    "casework/views/known_hashes.py", "casework/views/reference_photos.py", "casework/services/reports.py",
    "casework/services/portal.py", "casework/services/receipts.py", "casework/services/retention.py",
    "casework/services/two_factor.py", "casework/services/known_hashes.py", "casework/ratelimit.py",
    "config/uploads.py",
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+(?::[^}]*)?\}")
TAG = re.compile(r"</?([a-z]+)")


def _problems(entry: polib.POEntry) -> list[str]:
    if entry.obsolete:
        return []
    if entry.fuzzy:
        return ["fuzzy"]
    pairs = ([(entry.msgid if n == 0 else entry.msgid_plural, text) for n, text in sorted(entry.msgstr_plural.items())]
             if entry.msgid_plural else [(entry.msgid, entry.msgstr)])
    problems = []
    for original, text in pairs:
        if not text.strip():
            problems.append("empty")
        elif Counter(PLACEHOLDER.findall(original)) != Counter(PLACEHOLDER.findall(text)):
            problems.append(f"placeholders differ: {sorted(PLACEHOLDER.findall(text))}")
        elif Counter(TAG.findall(original)) != Counter(TAG.findall(text)):
            problems.append("HTML tags differ")
    return problems


def catalogue_problems(path: Path, sources: tuple[str, ...] | None = None) -> list[str]:
    po = polib.pofile(str(path))
    problems = ["the header is fuzzy: its Plural-Forms would be ignored"] if po.metadata_is_fuzzy else []
    for entry in po:
        if sources is not None and not any(file.startswith(sources) for file, _ in entry.occurrences):
            continue
        problems += [f"{entry.msgid[:70]!r}: {problem}" for problem in _problems(entry)]
    return problems


def test_the_catalogue_check_finds_empty_fuzzy_and_mismatched_entries(tmp_path):
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": "nplurals=2; plural=(n != 1);"}
    po.append(polib.POEntry(msgid="Sign in", msgstr="Anmelden"))
    po.append(polib.POEntry(msgid="Sign out", msgstr=""))
    po.append(polib.POEntry(msgid="Back", msgstr="Zurück", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="Hello {name}", msgstr="Hallo"))
    po.append(polib.POEntry(msgid="<a href=\"%(url)s\">Go</a>", msgstr="%(url)s Los"))
    po.append(polib.POEntry(msgid="{n} hash", msgid_plural="{n} hashes", msgstr_plural={0: "{n} Hash", 1: ""}))
    path = tmp_path / "django.po"
    po.save(str(path))
    assert [problem.split(": ", 1)[1] for problem in catalogue_problems(path)] == [
        "empty", "fuzzy", "placeholders differ: []", "HTML tags differ", "empty"]


def test_the_install_step_compiles_catalogues_without_gettext(tmp_path, monkeypatch):
    """What `make install` runs (config.catalogues) needs polib only: no msgfmt on the PATH. Fuzzy and
    empty entries are left out, so a reader sees the English original rather than a guess."""
    import gettext

    from config.catalogues import catalogues_compile

    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": "nplurals=2; plural=(n != 1);"}
    po.append(polib.POEntry(msgid="Sign in", msgstr="Anmelden"))
    po.append(polib.POEntry(msgid="Back", msgstr="Zurück (geraten)", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="{n} hash", msgid_plural="{n} hashes",
                            msgstr_plural={0: "{n} Hash", 1: "{n} Hashes"}))
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po.save(str(folder / "django.po"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no gettext tools to be found

    (stats,) = catalogues_compile(tmp_path)

    assert (stats.translated, stats.untranslated, stats.fuzzy) == (2, 0, 1)
    with (folder / "django.mo").open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)
    assert catalogue.gettext("Sign in") == "Anmelden" and catalogue.gettext("Back") == "Back"
    assert catalogue.ngettext("{n} hash", "{n} hashes", 3) == "{n} Hashes"


def test_catalogues_are_shipped():
    assert {path.parent.parent.name for path in CATALOGUES} >= {"es", "de"}


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parent.parent.name)
def test_the_public_and_portal_texts_are_translated(path):
    assert catalogue_problems(path, PUBLIC_SOURCES) == []


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parent.parent.name)
def test_a_shipped_catalogue_has_no_empty_or_fuzzy_entry(path):
    problems = catalogue_problems(path)
    assert problems == [], f"{len(problems)} entries need a translator: {problems[:20]}"
