"""huggingtweets: turn someone's posts into a language model that writes like them.

The names a notebook user needs. Importing the package is light: torch and
transformers load only when training or generation is used.

    from huggingtweets import fetch, prepare, train, generate, TrainConfig, SamplingConfig
    dataset = prepare(fetch(["@jack"]))
    result = train(TrainConfig(output_dir="jack-bot"), dataset)
    for tweet in generate("jack-bot", SamplingConfig(prompt="My dream is")):
        print(tweet.text, tweet.near_copy)

    batch("accounts.txt", root="bots")  # a model per line (what `train` takes), here or with ray="local"
"""

from .batches import BatchResult, batch
from .config import SamplingConfig, TrainConfig
from .dataset import TweetDataset
from .errors import HuggingTweetsError, NotEnoughTweets
from .generation import GeneratedTweet
from .training import TrainCallback, TrainResult
from .version import __version__
from .workflow import FetchOptions, Generators, TrainingRun, fetch, generate, load_generator, prepare, train

# One name per step (fetch, prepare, train, generate), many runs of them (batch), and what a notebook user passes them.
__all__ = [
    "BatchResult",
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
    "__version__",
    "batch",
    "fetch",
    "generate",
    "load_generator",
    "prepare",
    "train",
]
