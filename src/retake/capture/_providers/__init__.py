"""Provider adapters: the HTTP bodies of a model call as a ``model`` event's request and
response, and a recorded response back as a body the provider's SDK accepts.

Sans-I/O throughout: the capture transports and the vcrpy adapter hand bodies in, the replay
player asks for bodies out. Three providers are known::

    openai-chat          POST .../chat/completions   (JSON or SSE)
    openai-responses     POST .../responses          (JSON or SSE)
    anthropic-messages   POST .../messages           (JSON or SSE)
"""

from __future__ import annotations

from collections.abc import Mapping

from retake.errors import ProviderFormatError
from retake.schema import ModelRequest, ModelResponse

from ._anthropic import AnthropicMessagesAdapter
from ._base import Body, ProviderAdapter
from ._openai_chat import OpenAIChatAdapter
from ._openai_responses import OpenAIResponsesAdapter

__all__ = [
    "ADAPTERS",
    "AnthropicMessagesAdapter",
    "Body",
    "OpenAIChatAdapter",
    "OpenAIResponsesAdapter",
    "ProviderAdapter",
    "ProviderFormatError",
    "adapter_for",
    "adapter_named",
    "parse_exchange",
    "parse_request",
]

ADAPTERS: tuple[ProviderAdapter, ...] = (
    OpenAIChatAdapter(),
    OpenAIResponsesAdapter(),
    AnthropicMessagesAdapter(),
)
"""Every known adapter, asked in this order."""


def adapter_for(method: str, url: str) -> ProviderAdapter | None:
    """The adapter for a request, by its method and URL path; ``None`` for other traffic."""
    for adapter in ADAPTERS:
        if adapter.matches(method, url):
            return adapter
    return None


def adapter_named(name: str) -> ProviderAdapter | None:
    """The adapter whose name a ``model`` event stores in ``provider``, for replay."""
    for adapter in ADAPTERS:
        if adapter.name == name:
            return adapter
    return None


def parse_request(method: str, url: str, request_body: Body) -> tuple[str, ModelRequest] | None:
    """``(provider name, request)`` for a model call's request alone; ``None`` for other
    traffic. Raises ``ProviderFormatError`` for a model endpoint with a malformed body."""
    adapter = adapter_for(method, url)
    if adapter is None:
        return None
    return adapter.name, adapter.parse_request(request_body)


def parse_exchange(
    method: str,
    url: str,
    request_body: Body,
    response_body: Body,
    response_headers: Mapping[str, str],
) -> tuple[str, ModelRequest, ModelResponse] | None:
    """``(provider name, request, response)`` for a model call, ``None`` for other traffic.

    Raises ``ProviderFormatError`` when the URL is a model endpoint but a body is not shaped
    like that provider's API.
    """
    adapter = adapter_for(method, url)
    if adapter is None:
        return None
    request, response = adapter.parse(request_body, response_body, response_headers)
    return adapter.name, request, response
