"""Chinese and Latin search tokens, independent of any model."""

from crm.search import query_terms, search_tokens, tsquery


def test_cjk_runs_become_characters_and_pairs():
    assert search_tokens("华为技术") == "华 为 技 术 华为 为技 技术"


def test_latin_words_are_lower_cased_and_full_width_folded():
    assert search_tokens("Huawei ＴＥＣＨ Co., Ltd.") == "huawei tech co ltd"


def test_mixed_values_deduplicate():
    assert search_tokens("华为", "华为 Huawei") == "华 为 华为 huawei"


def test_query_of_one_cjk_character_is_one_term():
    assert query_terms("华") == [("华", False)]


def test_query_pairs_and_latin_prefixes():
    assert query_terms("华为技术 hua") == [("hua", True), ("华为", False), ("为技", False), ("技术", False)]


def test_tsquery_quotes_terms_so_input_is_never_syntax():
    assert tsquery("a'b & !c") == "'a':* & 'b':* & 'c':*"
    assert tsquery("':*|") == ""
