"""huggingtweets: turn someone's posts into a language model that writes like them.

The handful of names a notebook user needs. Importing the package is light:
torch and transformers load only when training or generation is used.

    from huggingtweets import load_sources, build_dataset, TrainConfig, fine_tune, generate
    dataset = build_dataset(load_sources(["@jack"]))
    result = fine_tune(TrainConfig(output_dir="jack-bot"), dataset)
    for tweet in generate("jack-bot", "My dream is"):
        print(tweet.text, tweet.near_copy)
"""

from .cleaning import AuthorStats, clean_text, stats_table
from .config import SamplingConfig, TrainConfig
from .dataset import TweetDataset, build_dataset, load_sources
from .errors import HuggingTweetsError, NotEnoughTweets
from .generation import GeneratedTweet, generate, load_generator
from .sources import FetchOptions, detect, sample_archive_path
from .training import StopSignal, TrainCallback, TrainResult, fine_tune

__version__ = "0.1.0"

__all__ = [
    "AuthorStats",
    "FetchOptions",
    "GeneratedTweet",
    "HuggingTweetsError",
    "NotEnoughTweets",
    "SamplingConfig",
    "StopSignal",
    "TrainCallback",
    "TrainConfig",
    "TrainResult",
    "TweetDataset",
    "build_dataset",
    "clean_text",
    "detect",
    "fine_tune",
    "generate",
    "load_generator",
    "load_sources",
    "sample_archive_path",
    "stats_table",
]
