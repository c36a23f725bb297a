"""An optional second opinion for the safety detector: an OpenAI-compatible endpoint (a
moderation or a chat-completions URL) that sees only a message's text and says whether it
signals risk. Any failure returns None and the local decision stands.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
SYSTEM_PROMPT = (
    "You screen one message written by a participant of a mental-health resilience group. "
    "Does it signal risk of suicide, self-harm, harm to others, abuse against the writer or "
    "harm to a dependent? Answer only JSON: "
    '{"risk": true|false, "category": "self_harm|harm_to_others|abuse|harm_to_dependent|none"}'
)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class SecondOpinion:
    flagged: bool
    categories: tuple[str, ...]
    source: str  # "moderation" or "chat"


class _BadBody(ValueError):
    """The endpoint answered 2xx with a body we cannot read."""


def _request(text: str, url: str, model: str | None) -> tuple[str, dict[str, Any]]:
    """The source name and JSON payload for this URL shape; ValueError for any other shape."""
    path = url.split("?", 1)[0].rstrip("/")
    if path.endswith("/moderations"):
        payload: dict[str, Any] = {"input": text}
        if model:
            payload["model"] = model
        return "moderation", payload
    if path.endswith("/chat/completions"):
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": text},
        ]
        return "chat", {
            "model": model or DEFAULT_CHAT_MODEL,
            "temperature": 0,
            "messages": messages,
        }
    raise ValueError("second-opinion URL must end with /moderations or /chat/completions")


def _parse(source: str, body: Any) -> SecondOpinion:
    try:
        if source == "moderation":
            result = body["results"][0]
            flagged, categories = result["flagged"], result.get("categories") or {}
            names = tuple(name for name, on in categories.items() if on is True)
        else:
            content = body["choices"][0]["message"]["content"].strip()
            fenced = _FENCE.match(content)
            answer = json.loads(fenced.group(1) if fenced else content)
            flagged, category = answer["risk"], answer.get("category")
            real = isinstance(category, str) and category not in ("", "none")
            names = (category,) if real else ()
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
        raise _BadBody from error
    if not isinstance(flagged, bool):
        raise _BadBody
    return SecondOpinion(flagged=flagged, categories=names, source=source)


async def ask_second_opinion(
    *,
    text: str,
    url: str,
    api_key: str | None = None,
    model: str | None = None,
    timeout: float = 2.0,  # noqa: ASYNC109 - bounds the whole HTTP call, as ClientTimeout
    http: aiohttp.ClientSession | None = None,
) -> SecondOpinion | None:
    """Ask the endpoint about `text` alone; None on timeout, network error, non-2xx or bad body."""
    source, payload = _request(text, url, model)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    status: int | None = None
    session = http or aiohttp.ClientSession()
    try:
        async with session.post(
            url, json=payload, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            status = response.status
            if not 200 <= status < 300:
                kind = "http error"
            else:
                return _parse(source, json.loads(await response.read()))
    except TimeoutError:
        kind = "timeout"
    except aiohttp.ClientError as error:
        kind = f"connection error ({type(error).__name__})"
    except ValueError:  # _BadBody, or a body that is not JSON
        kind = "unparseable body"
    finally:
        if http is None:
            await session.close()
    logger.warning("safety second opinion (%s) failed: %s, status=%s", source, kind, status)
    return None
