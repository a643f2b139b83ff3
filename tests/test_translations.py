"""Chinese is the default language: every message must have its translation."""

import re

from django.conf import settings

PO = settings.BASE_DIR / "config" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', re.M)


def untranslated(text: str) -> list[str]:
    missing = []
    for msgid, msgstr in ENTRY.findall(text):
        msgid, msgstr = ("".join(re.findall(r'"(.*)"', part)) for part in (msgid, msgstr))
        if msgid and not msgstr:
            missing.append(msgid)
    return missing


def test_the_check_finds_a_missing_translation():
    assert untranslated('msgid "a"\nmsgstr ""\n\nmsgid "b"\nmsgstr "乙"\n') == ["a"]


def test_every_message_is_translated_to_chinese():
    text = PO.read_text(encoding="utf-8")
    assert untranslated(text) == []
    assert "#, fuzzy" not in text
    assert PO.with_suffix(".mo").is_file()
