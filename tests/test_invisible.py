"""Invisible characters that reorder or hide text (issue 26): out of training text and of
everything shown, while the joiners that emoji and some scripts need stay."""

from huggingtweets.cleaning import clean_text, markdown_text
from huggingtweets.cli import shown
from huggingtweets.names import visible
from huggingtweets.ui.render import esc

RLO, PDF, LRI, PDI, ZWSP, WJ, BOM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200b", "\u2060", "\ufeff"
FAMILY = "\U0001f469\u200d\U0001f467"  # woman + ZWJ + girl: one emoji
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", with its zero-width non-joiner


def test_reordering_and_hiding_characters_leave_the_training_text():
    text = f"the lamp {RLO}txet desrever{PDF} and{ZWSP}the{WJ}bread {LRI}isolated{PDI}{BOM}"
    assert clean_text(text) == "the lamp txet desrever andthebread isolated"


def test_joiners_that_words_and_emoji_need_stay():
    assert clean_text(f"my {FAMILY} and {PERSIAN}") == f"my {FAMILY} and {PERSIAN}"
    assert visible("\u200e\u200f") == "\u200e\u200f"  # direction marks only nudge neutral characters


def test_every_place_text_is_shown_drops_them():
    name = f"Wren {RLO}gnp.exe{PDF}{ZWSP}"
    for out in (markdown_text(name), esc(name), shown(name)):
        assert RLO not in out and PDF not in out and ZWSP not in out and "gnp.exe" in out
