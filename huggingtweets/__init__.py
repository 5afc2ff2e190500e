"""huggingtweets: turn someone's posts into a language model that writes like them.

The handful of names a notebook user needs. Importing the package is light:
torch and transformers load only when training or generation is used.
"""

from .cleaning import AuthorStats, clean_text, stats_table
from .dataset import TweetDataset, build_dataset, load_sources
from .errors import HuggingTweetsError, NotEnoughTweets
from .sources import FetchOptions, detect, sample_archive_path

__version__ = "0.1.0"

__all__ = [
    "AuthorStats",
    "FetchOptions",
    "HuggingTweetsError",
    "NotEnoughTweets",
    "TweetDataset",
    "build_dataset",
    "clean_text",
    "detect",
    "load_sources",
    "sample_archive_path",
    "stats_table",
]
