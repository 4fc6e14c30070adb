"""Both locales carry every text, with the same placeholders, and valid Telegram HTML."""

from __future__ import annotations

import re
from pathlib import Path

from bot.i18n import LANGUAGES, catalog, pick_language, placeholders

ROOT = Path(__file__).resolve().parents[2]


def test_locales_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalog("zh"), catalog("en")
    assert set(zh) == set(en)
    for key in zh:
        assert placeholders(zh[key]) == placeholders(en[key]), key


def test_every_key_used_in_code_exists() -> None:
    used: set[str] = set()
    pattern = re.compile(r"""\b(?:t|c\.t|L|t\.plain)\(\s*f?["']([a-z_]+\.[a-z_.]+)["']""")
    # The chat's code, and the web pages' code and templates (the same texts).
    sources = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "web").rglob("*.py")]
    sources += (ROOT / "web").rglob("*.html")
    for path in sources:
        used.update(pattern.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 30
    for language in LANGUAGES:
        missing = {k for k in used if not k.endswith(".") and k not in catalog(language)}
        assert not missing, (language, missing)


def test_language_choice() -> None:
    assert pick_language(None, "en-GB", "zh") == "en"
    assert pick_language(None, "zh-hans", "zh") == "zh"
    assert pick_language(None, "ru", "zh") == "zh"
    assert pick_language("zh", "en", "zh") == "zh"
    assert pick_language(None, None, "en") == "en"


def test_every_text_is_valid_telegram_html() -> None:
    from emulator.formatting import parse_html, utf16_len

    for language in LANGUAGES:
        for key, template in catalog(language).items():
            sample = template.format(**{name: "x" for name in placeholders(template)})
            visible, _ = parse_html(sample)
            assert utf16_len(visible) <= 4096, key


def test_each_locale_file_is_named_after_its_one_top_level_key() -> None:
    import yaml

    for language in LANGUAGES:
        files = sorted((ROOT / "bot" / "locales" / language).glob("*.yaml"))
        assert len(files) >= 10
        for path in files:
            tree = yaml.safe_load(path.read_text(encoding="utf-8"))
            assert list(tree) == [path.stem], path


FULL_WIDTH = re.compile("[：，。！？（）【】、；“”]")
JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)


def test_english_texts_use_ascii_punctuation() -> None:
    """Chinese punctuation in an English text ("rated：") reads as a typo. Chinese names
    inside a text are data, not punctuation, and are not in the locale files."""
    wrong = {key: text for key, text in catalog("en").items() if FULL_WIDTH.search(text)}
    assert not wrong, wrong
    # The web pages' own words (outside their {{ }} and {% %}) are the same in both
    # languages, so they are English too.
    for path in (ROOT / "web").rglob("*.html"):
        words = JINJA.sub("", path.read_text(encoding="utf-8"))
        assert not FULL_WIDTH.search(words), path


def test_the_catalogue_reads_the_same_with_the_pure_python_parser() -> None:
    """Start-up parses the locales with libyaml; the reference parser must agree on every
    text (a difference would be a text shown differently on a machine without libyaml)."""
    import yaml

    from bot.i18n import YamlLoader

    assert YamlLoader is not yaml.SafeLoader, "libyaml is missing: start-up is 0.2 s slower"
    for language in LANGUAGES:
        reference: dict[str, str] = {}
        for path in sorted((ROOT / "bot" / "locales" / language).glob("*.yaml")):
            tree = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
            reference.update(_flat(tree))
        assert reference == catalog(language)


def _flat(tree: object, prefix: str = "") -> dict[str, str]:
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): str(tree)}
    flat: dict[str, str] = {}
    for key, value in tree.items():
        flat.update(_flat(value, f"{prefix}{key}."))
    return flat
