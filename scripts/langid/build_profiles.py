#!/usr/bin/env python3
"""Generate Sources/TernLanguage/LanguageProfilesData.swift from langdetect 1.0.9.

Tern's language detector (Sources/TernLanguage/) is a Swift port of Google's
language-detection algorithm as shipped in the PyPI package `langdetect` 1.0.9
(Apache-2.0, see third_party/langdetect/). This script turns the sdist's data into
one Swift source file so the `tern` binary needs no external file:

  * the 55 language profiles (langdetect/profiles/*), with full fidelity: every
    n-gram and every count, plus each profile's n_words;
  * the normalisation tables from langdetect/utils/messages.properties as used by
    langdetect/utils/ngram.py (Latin-1 exclusions, Vietnamese tables, the 126 CJK
    kanji classes in the order NGram.CJK_CLASS lists them).

Usage:
    python3 -m pip download --no-deps langdetect==1.0.9 -d /tmp/langdetect
    python3 -m pip install six            # langdetect's ngram.py imports it
    python3 scripts/langid/build_profiles.py /tmp/langdetect/langdetect-1.0.9.tar.gz

The output is deterministic (languages sorted by code, n-grams sorted by code points).

Profile text format (one raw multi-line string literal, parsed once per process):
    line 1   language codes, space separated (index order)
    line 2   n_words per language as "n1,n2,n3", space separated, decimal
    then     one record per distinct n-gram:  NGRAM <TAB> PAIRS
             NGRAM is the n-gram's 1-3 scalars in UTF-8; a scalar that is a control,
             format, separator (other than U+0020), private-use or unassigned character
             is written as "{HEX}" instead ('{' never occurs in an n-gram: all ASCII
             except letters and space is normalised away).
             PAIRS is, per language having the n-gram (ascending index): one character
             of LANG_ALPHABET giving the index, then the count in base 32 written with
             DIGIT_ALPHABET, most significant digit first.
The probability langdetect uses is count / n_words[len(ngram) - 1] (computed in Swift,
exactly as DetectorFactory.add_profile computes it).
"""
import argparse
import json
import os
import sys
import tarfile
import tempfile
import unicodedata

LANG_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!$%"
DIGIT_ALPHABET = "0123456789&'()*+,-./:;<=>?@[]^_`"
assert len(LANG_ALPHABET) == 55 and len(DIGIT_ALPHABET) == 32
assert not set(LANG_ALPHABET) & set(DIGIT_ALPHABET)
assert not set(LANG_ALPHABET + DIGIT_ALPHABET) & set('"\\#{}\t\n ')

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "Sources", "TernLanguage", "LanguageProfilesData.swift")
SAFE_CATEGORIES_PREFIX = ("L", "M", "N", "P", "S")


def locate_sdist(path):
    """Return the directory holding the `langdetect` package (extracting a tarball)."""
    if os.path.isdir(path):
        for cand in (path, os.path.join(path, "langdetect-1.0.9")):
            if os.path.isdir(os.path.join(cand, "langdetect", "profiles")):
                return cand
        sys.exit(f"no langdetect/profiles under {path}")
    tmp = tempfile.mkdtemp(prefix="langdetect-")
    with tarfile.open(path) as tar:
        tar.extractall(tmp)
    return locate_sdist(tmp)


def encode_scalar(ch):
    if ch == " " or unicodedata.category(ch).startswith(SAFE_CATEGORIES_PREFIX):
        if ch in '{}\t\n"\\#' or ("\x00" <= ch < " ") or ch == "\x7f":
            return "{%X}" % ord(ch)
        return ch
    return "{%X}" % ord(ch)


def base32(n):
    assert n >= 0
    digits = []
    while True:
        digits.append(DIGIT_ALPHABET[n % 32])
        n //= 32
        if n == 0:
            break
    return "".join(reversed(digits))


def swift_escaped(s):
    """A Swift (non-raw) string literal body with every non-ASCII scalar escaped."""
    out = []
    for ch in s:
        if " " <= ch <= "~" and ch not in '"\\':
            out.append(ch)
        else:
            out.append("\\u{%X}" % ord(ch))
    return "".join(out)


def load_profiles(root):
    pdir = os.path.join(root, "langdetect", "profiles")
    profiles = []
    for name in sorted(os.listdir(pdir)):
        if name.startswith("."):
            continue
        with open(os.path.join(pdir, name), encoding="utf-8") as f:
            data = json.load(f)
        assert data["name"] == name, (data["name"], name)
        assert len(data["n_words"]) == 3
        profiles.append(data)
    return profiles


def build_profile_text(profiles):
    langs = [p["name"] for p in profiles]
    assert len(langs) == 55, len(langs)
    records = {}
    for index, p in enumerate(profiles):
        for gram, count in p["freq"].items():
            assert 1 <= len(gram) <= 3, gram
            assert isinstance(count, int) and count > 0
            for ch in gram:
                assert not (ch < "\x80" and not ch.isalpha() and ch != " "), repr(gram)
                assert ch not in "{}\t\n", repr(gram)
            records.setdefault(gram, []).append((index, count))
    lines = [" ".join(langs), " ".join(",".join(str(n) for n in p["n_words"]) for p in profiles)]
    for gram in sorted(records, key=lambda g: [ord(c) for c in g]):
        pairs = "".join(LANG_ALPHABET[i] + base32(c) for i, c in sorted(records[gram]))
        lines.append("".join(encode_scalar(ch) for ch in gram) + "\t" + pairs)
    return "\n".join(lines), langs, records


def parse_profile_text(text):
    """Independent re-parse used to verify the round trip."""
    lines = text.split("\n")
    langs = lines[0].split(" ")
    n_words = [[int(x) for x in t.split(",")] for t in lines[1].split(" ")]
    lang_index = {c: i for i, c in enumerate(LANG_ALPHABET)}
    digit_value = {c: i for i, c in enumerate(DIGIT_ALPHABET)}
    records = {}
    for line in lines[2:]:
        raw, pairs = line.split("\t")
        gram, i = "", 0
        while i < len(raw):
            if raw[i] == "{":
                j = raw.index("}", i)
                gram += chr(int(raw[i + 1:j], 16))
                i = j + 1
            else:
                gram += raw[i]
                i += 1
        entries, cur = [], None
        for ch in pairs:
            if ch in lang_index:
                cur = [lang_index[ch], 0]
                entries.append(cur)
            else:
                cur[1] = cur[1] * 32 + digit_value[ch]
        records[gram] = [tuple(e) for e in entries]
    return langs, n_words, records


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sdist", help="langdetect-1.0.9.tar.gz or its extracted directory")
    ap.add_argument("-o", "--output", default=DEFAULT_OUT)
    args = ap.parse_args()

    root = locate_sdist(args.sdist)
    sys.path.insert(0, root)
    from langdetect.utils.ngram import NGram  # noqa: E402  (needs `six`)

    profiles = load_profiles(root)
    text, langs, records = build_profile_text(profiles)

    # Round-trip check against the JSON profiles.
    plangs, pn_words, precords = parse_profile_text(text)
    assert plangs == langs
    assert pn_words == [p["n_words"] for p in profiles]
    assert precords == {g: sorted(v) for g, v in records.items()}
    assert '"#' not in text

    vi_rows = NGram.NORMALIZED_VI_CHARS
    assert all(len(r) == len(NGram.TO_NORMALIZE_VI_CHARS) for r in vi_rows)
    assert len(NGram.DMARK_CLASS) == len(vi_rows)
    cjk = "\n".join(NGram.CJK_CLASS)
    assert all(unicodedata.category(ch) == "Lo" for ch in cjk.replace("\n", ""))

    n_entries = sum(len(v) for v in records.values())
    out = []
    out.append("// GENERATED FILE - DO NOT EDIT.")
    out.append("// swift-format-ignore-file")
    out.append("// Generated by scripts/langid/build_profiles.py from the PyPI sdist langdetect 1.0.9")
    out.append("// (langdetect/profiles/* and langdetect/utils/messages.properties), Apache-2.0;")
    out.append("// see third_party/langdetect/. %d languages, %d distinct n-grams, %d (n-gram, language) counts."
               % (len(langs), len(records), n_entries))
    out.append("// Format: see the docstring of scripts/langid/build_profiles.py.")
    out.append("")
    out.append("enum LanguageProfilesData {")
    out.append('    static let source = "langdetect 1.0.9"')
    out.append('    static let langAlphabet = "%s"' % swift_escaped(LANG_ALPHABET))
    out.append('    static let digitAlphabet = "%s"' % swift_escaped(DIGIT_ALPHABET))
    out.append("    /// NGram.LATIN1_EXCLUDE")
    out.append('    static let latin1Excluded = "%s"' % swift_escaped(NGram.LATIN1_EXCLUDED))
    out.append("    /// TO_NORMALIZE_VI_CHARS")
    out.append('    static let viToNormalize = "%s"' % swift_escaped(NGram.TO_NORMALIZE_VI_CHARS))
    out.append("    /// DMARK_CLASS (combining marks U+0300, U+0301, U+0303, U+0309, U+0323)")
    out.append('    static let viDiacriticalMarks = "%s"' % swift_escaped(NGram.DMARK_CLASS))
    out.append("    /// NORMALIZED_VI_CHARS_0300, _0301, _0303, _0309, _0323")
    out.append("    static let viNormalized = [")
    for row in vi_rows:
        out.append('        "%s",' % swift_escaped(row))
    out.append("    ]")
    out.append("    /// NGram.CJK_CLASS: one kanji class per line; the first character represents the class.")
    out.append('    static let cjkClasses = #"""')
    out.append(cjk)
    out.append('"""#')
    out.append("    /// The 55 profiles.")
    out.append('    static let profiles = #"""')
    out.append(text)
    out.append('"""#')
    out.append("}")
    out.append("")
    data = "\n".join(out)
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(data)
    print(f"wrote {args.output}: {len(data.encode('utf-8'))} bytes, {len(langs)} languages, "
          f"{len(records)} n-grams, {n_entries} counts")


if __name__ == "__main__":
    main()
