"""The notebook's token messages: where to put a token, and a Colab secret the notebook may not read."""

from __future__ import annotations

import sys
import types

import pytest

from huggingtweets.errors import HuggingTweetsError



# --- the notebook's token messages -------------------------------------------------------------
def test_the_notebook_points_at_its_token_box(work, monkeypatch):
    pytest.importorskip("ipywidgets")
    from huggingtweets.ui import App

    app = App(demo="tiny", output_dir=work, cache_dir=work / "cache")
    app.data.part("sample").value = False
    app.data.part("handles")[0].value = "@jack"
    app.data.button.click()
    message = app.data.part("message").value
    assert "X bearer token" in message and "box" in message and "X_BEARER_TOKEN" in message


def _colab(monkeypatch, get):
    userdata = types.ModuleType("google.colab.userdata")
    userdata.SecretNotFoundError = type("SecretNotFoundError", (Exception,), {})
    userdata.NotebookAccessError = type("NotebookAccessError", (Exception,), {})
    userdata.get = lambda name: get(userdata, name)
    google, colab = types.ModuleType("google"), types.ModuleType("google.colab")
    colab.userdata, google.colab = userdata, colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)


def test_a_colab_secret_without_notebook_access_says_so(monkeypatch):
    from huggingtweets.sources import FetchOptions
    from huggingtweets.sources.x_api import find_bearer_token

    for name in ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def denied(userdata, name):
        raise userdata.NotebookAccessError(name)

    _colab(monkeypatch, denied)
    with pytest.raises(HuggingTweetsError, match="switch on 'Notebook access'"):
        find_bearer_token(FetchOptions())

    def missing(userdata, name):
        raise userdata.SecretNotFoundError(name)

    _colab(monkeypatch, missing)
    assert find_bearer_token(FetchOptions()) is None  # no secret at all: the ordinary no-token message


