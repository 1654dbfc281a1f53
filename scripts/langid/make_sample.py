#!/usr/bin/env python3
"""Build the held-out language-identification sample used by Tern's tests.

Writes Tests/TernLanguageTests/Fixtures/langid-sample.jsonl: one JSON object per line with
    text        the text
    lang        true label, as a langdetect code (en, de, zh-cn, ...)
    bucket      short (<= 3 words and < 20 characters), medium (a sentence, 25-200
                characters) or long (a paragraph, 280-600 characters)
    source      where the text came from ("debian:<catalog>.mo", "django:<app>/<catalog>.mo";
                "+joined" when a paragraph was made by joining consecutive messages)
    langdetect  what Python langdetect 1.0.9 answers (`detect(text)` with DetectorFactory.seed = 0)

langdetect's profiles were built from Wikipedia; this sample is NOT Wikipedia text. It is
real, human-translated sentences from gettext message catalogs:
  * Debian's catalogs installed under /usr/share/locale/<locale>/LC_MESSAGES/*.mo on the
    machine image (GTK, GLib, coreutils, apt, dpkg, PostgreSQL, systemd, PackageKit, ...),
    with English taken from the catalogs' msgids;
  * the catalogs shipped in the Django wheel (PyPI, pinned below), which add Swahili and
    Urdu (few Debian catalogs exist for them) and more Welsh/Afrikaans.
Name lists (iso-codes' language, script, currency and subdivision names; keyboard layout
names) are left out, except iso-codes' country names for languages with too few other
messages (Somali: nothing else exists, so Somali has short and medium texts only).

Messages are cleaned (printf/format placeholders, markup, accelerators, escapes removed),
untranslated ones (msgstr == msgid) dropped, and - for languages not written in Latin script -
messages whose letters are mostly Latin dropped. Selection is deterministic (sorted pools,
random.Random seeded per language and bucket); re-running on the same machine image gives
the same file.

Usage:
    python3 -m pip install langdetect==1.0.9
    python3 scripts/langid/make_sample.py            # downloads the pinned Django wheel via pip
"""
import argparse
import collections
import gettext
import glob
import html
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import unicodedata
import zipfile

DJANGO = "django==5.2.19"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "Tests", "TernLanguageTests", "Fixtures", "langid-sample.jsonl")

LANGS = ("af ar bg bn ca cs cy da de el en es et fa fi fr gu he hi hr hu id it ja kn ko lt lv mk ml "
         "mr ne nl no pa pl pt ro ru sk sl so sq sv sw ta te th tl tr uk ur vi zh-cn zh-tw").split()
# gettext locale directories per langdetect code ("no" is Bokmal; Nynorsk is left out).
LOCALES = {lang: [lang] for lang in LANGS}
LOCALES.update({
    "no": ["nb", "nb_NO", "no"],
    "pt": ["pt", "pt_BR", "pt_PT"],
    "tl": ["tl", "fil"],
    "bn": ["bn", "bn_BD", "bn_IN"],
    "ar": ["ar", "ar_DZ"],
    "zh-cn": ["zh_CN", "zh_Hans"],
    "zh-tw": ["zh_TW", "zh_Hant"],
    "en": [],  # msgids
})
LATIN_SCRIPT = set("af ca cs cy da de en es et fi fr hr hu id it lt lv nl no pl pt ro sk sl so sq sv sw tl tr vi".split())
NAME_LISTS = re.compile(r"^(iso_|xkeyboard-config)")
FALLBACK_CATALOG = re.compile(r"^iso_3166(-1)?\.mo$")

QUOTA = {"short": 12, "medium": 10, "long": 2}
MEDIUM = (25, 200)
LONG = (280, 600)

PLACEHOLDER = re.compile(
    r"%(\([^)]*\))?[-+ #0'I]*(\d+\$)?\*?\d*(\.\d+)?(hh|h|ll|l|L|q|j|z|t|I64)?[diouxXeEfFgGcsSpnm%]"
    r"|\$\{[^}]*\}|\{[^{}]*\}|<[^<>]*>|&[a-zA-Z]+;|&#\d+;")
ACCELERATOR = re.compile(r"(?<=\w)_(?=\w)|(?<!\w)[_&](?=\w)")
SPACES = re.compile(r"\s+")
SPACE_BEFORE_PUNCT = re.compile(r" ([:;,.!?，。：；])")
EMPTY_QUOTES = re.compile("(['\"`‘“„«»‹›「『《〈（(\\[])\\s*(['\"’”“«»‹›」』》〉）)\\]])")


def clean(s):
    s = s.replace("\\n", " ").replace("\\t", " ")
    s = PLACEHOLDER.sub(" ", s)
    s = ACCELERATOR.sub("", s)
    s = html.unescape(s)
    s = EMPTY_QUOTES.sub(" ", s)
    s = SPACES.sub(" ", s)
    s = SPACE_BEFORE_PUNCT.sub(r"\1", s).strip(" :;,-")
    return s


def letters(s):
    return [ch for ch in s if unicodedata.category(ch).startswith("L")]


def acceptable(lang, s, english):
    if len(s) < 2 or s == english or s.lower() == (english or "").lower():
        return False
    if any(x in s for x in ("://", "@", "default:", "translator", "\\", "==", "--")):
        return False
    ls = letters(s)
    if len(ls) < 2 or len(ls) < 0.6 * len(s.replace(" ", "")):
        return False
    if lang not in LATIN_SCRIPT:
        latin = sum(1 for ch in ls if ch < "\u0250")
        if latin * 2 > len(ls):
            return False
    if s.isupper() and lang in LATIN_SCRIPT:
        return False
    return True


def read_mo(data):
    try:
        t = gettext.GNUTranslations(io.BytesIO(data))
    except Exception:
        return []
    pairs = []
    for key, value in t._catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if not msgid or not isinstance(value, str):
            continue
        msgid = msgid.split("\x04")[-1]
        pairs.append((msgid, value))
    return pairs


def catalogs(django_wheel):
    """Yield (locale, source name, [(msgid, msgstr)])."""
    for path in sorted(glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo")):
        locale = path.split("/")[4]
        with open(path, "rb") as f:
            yield locale, "debian:" + os.path.basename(path), read_mo(f.read())
    with zipfile.ZipFile(django_wheel) as z:
        for name in sorted(z.namelist()):
            if not name.endswith(".mo") or "/locale/" not in name:
                continue
            app = name.split("/locale/")[0].split("/")[-1]
            locale = name.split("/locale/")[1].split("/")[0]
            yield locale, "django:%s/%s" % (app, os.path.basename(name)), read_mo(z.read(name))


def bucket_of(s):
    if len(s) < 20 and len(s.split()) <= 3:
        return "short"
    if MEDIUM[0] <= len(s) <= MEDIUM[1]:
        return "medium"
    if LONG[0] <= len(s) <= LONG[1]:
        return "long"
    return None


def build_pools(django_wheel):
    locale_to_lang = {loc: lang for lang, locs in LOCALES.items() for loc in locs}
    # pools[lang][bucket] = {text: source}; sentences[lang] = [(source, [medium texts in msgid order])]
    pools = collections.defaultdict(lambda: collections.defaultdict(dict))
    fallback = collections.defaultdict(lambda: collections.defaultdict(dict))
    sentences = collections.defaultdict(list)
    english_seen = set()
    for locale, source, pairs in catalogs(django_wheel):
        catalog = source.split("/")[-1].split(":")[-1]
        name_list = bool(NAME_LISTS.match(catalog))
        targets = []
        lang = locale_to_lang.get(locale)
        if lang:
            targets.append((lang, [(msgid, clean(msgstr), clean(msgid)) for msgid, msgstr in sorted(pairs)]))
        if source not in english_seen and not name_list:
            english_seen.add(source)
            targets.append(("en", [(msgid, clean(msgid), None) for msgid, _ in sorted(pairs)]))
        for lang, items in targets:
            run = []
            for _, text, english in items:
                if not acceptable(lang, text, english):
                    continue
                b = bucket_of(text)
                if name_list:
                    if FALLBACK_CATALOG.match(catalog) and b in ("short", "medium"):
                        fallback[lang][b].setdefault(text, source)
                    continue
                if b:
                    pools[lang][b].setdefault(text, source)
                if b == "medium" and text[-1:] in ".!?。！？।۔":
                    run.append(text)
            if run:
                sentences[lang].append((source, run))
    return pools, fallback, sentences


def joined_paragraphs(lang, sentences, rng, wanted):
    """Paragraphs made of consecutive (msgid-ordered) sentences of one catalog."""
    sep = "" if lang in ("ja", "zh-cn", "zh-tw") else " "
    out = {}
    sources = sorted(sentences, key=lambda x: x[0])
    rng.shuffle(sources)
    for source, run in sources:
        if len(out) >= wanted:
            break
        if sum(len(s) for s in run) < LONG[0]:
            continue
        start = rng.randrange(len(run))
        para = []
        for s in run[start:] + run[:start]:
            para.append(s)
            text = sep.join(para)
            if len(text) >= LONG[0]:
                break
        text = sep.join(para)
        if LONG[0] <= len(text) <= LONG[1]:
            out[text] = source + "+joined"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default=DEFAULT_OUT)
    ap.add_argument("--django-wheel", help="path of the %s wheel (default: pip download it)" % DJANGO)
    args = ap.parse_args()

    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException
    DetectorFactory.seed = 0

    wheel = args.django_wheel
    if not wheel:
        tmp = tempfile.mkdtemp(prefix="django-wheel-")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", DJANGO, "-d", tmp], check=True)
        wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]

    pools, fallback, sentences = build_pools(wheel)
    rows = []
    for lang in LANGS:
        for bucket in ("short", "medium", "long"):
            rng = random.Random("%s/%s" % (lang, bucket))
            pool = dict(pools[lang][bucket])
            if bucket == "long":
                for text, source in joined_paragraphs(lang, sentences[lang], rng, QUOTA["long"]).items():
                    pool.setdefault(text, source)
            if len(pool) < QUOTA[bucket]:
                for text, source in fallback[lang].get(bucket, {}).items():
                    pool.setdefault(text, source)
            chosen = sorted(pool)
            rng.shuffle(chosen)
            taken = 0
            for text in chosen:
                if taken >= QUOTA[bucket]:
                    break
                try:
                    label = detect(text)
                except LangDetectException:
                    continue  # no features at all: not a useful test case
                rows.append({"text": text, "lang": lang, "bucket": bucket, "source": pool[text], "langdetect": label})
                taken += 1
            if taken < QUOTA[bucket]:
                print("note: %s/%s has %d of %d" % (lang, bucket, taken, QUOTA[bucket]), file=sys.stderr)

    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    size = os.path.getsize(args.output)
    by_bucket = collections.Counter(r["bucket"] for r in rows)
    agree = collections.Counter((r["bucket"], r["lang"] == r["langdetect"]) for r in rows)
    print("wrote %s: %d texts, %d bytes, %s" % (args.output, len(rows), size, dict(by_bucket)))
    for b in ("short", "medium", "long"):
        n = by_bucket[b]
        if n:
            print("  langdetect accuracy %-6s %5.1f%% (%d)" % (b, 100.0 * agree[(b, True)] / n, n))


if __name__ == "__main__":
    main()
