"""huggingtweets: turn someone's posts into a language model that writes like them.

The names a notebook user needs. Importing the package is light: torch and
transformers load only when training or generation is used.

    from huggingtweets import fetch, prepare, train, generate, TrainConfig, SamplingConfig
    dataset = prepare(fetch(["@jack"]))
    result = train(TrainConfig(output_dir="jack-bot"), dataset)
    for tweet in generate("jack-bot", SamplingConfig(prompt="My dream is")):
        print(tweet.text, tweet.near_copy)
"""

from .config import SamplingConfig, TrainConfig
from .dataset import TweetDataset, build_dataset, load_sources
from .errors import HuggingTweetsError, NotEnoughTweets
from .generation import GeneratedTweet, generate, load_generator
from .sources import FetchOptions
from .training import TrainCallback, TrainResult, fine_tune
from .workflow import Generators, TrainingRun, fetch, prepare, train

__version__ = "0.1.0"

__all__ = [
    "FetchOptions",
    "GeneratedTweet",
    "Generators",
    "HuggingTweetsError",
    "NotEnoughTweets",
    "SamplingConfig",
    "TrainCallback",
    "TrainConfig",
    "TrainResult",
    "TrainingRun",
    "TweetDataset",
    "build_dataset",
    "fetch",
    "fine_tune",
    "generate",
    "load_generator",
    "load_sources",
    "prepare",
    "train",
]
