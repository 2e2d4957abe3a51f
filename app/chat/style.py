"""Each customer's conversational register, learned from their own messages over time.

The assistant mirrors how a customer writes (the lecture's "conversational patterns"): a
customer who writes "hey!! any cute tops? 😍" gets a short casual reply with emoji; one who
writes "Good afternoon. I would like to see your linen shirts, please." gets a formal one.

Every feature is an exponential moving average over messages: the first message sets it,
later ones move it by ``ALPHA`` (early messages count 1/n until n reaches 1/ALPHA), so the
profile settles quickly and still follows a customer whose register changes.

- formality in [0, 1]: greetings/politeness formulas, capitalisation, final punctuation,
  no contractions vs. slang, emoji, "!!", all-lowercase (also for fr/de/es/it/nl/pt:
  vous/Sie/usted/Lei/u/o senhor vs. tu/du/tú/jij/você);
- verbosity: average words per message;
- emoji rate: share of messages with at least one emoji or emoticon;
- language: en/fr/de/es/it/nl/pt from stop-word counts (EMA of each language's share),
  switched only when another language clearly leads.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = [
    "ALPHA",
    "LANGUAGES",
    "StyleProfile",
    "describe",
    "detect_language",
    "formality_of",
    "instructions",
    "prompt_variables",
    "update",
]

ALPHA = 0.3
LANGUAGES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish",
             "it": "Italian", "nl": "Dutch", "pt": "Portuguese"}

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words("the and is are i you a to of for with my it this that do have what "
                    "can me looking want need please some any show not in on"),
    "fr": _words("le la les et est je vous un une des du de pour avec mon ma mes ce cette "
                    "que qui pas cherche voudrais avez bonjour merci sur dans au aux suis "
                    "c'est j'ai je cherche"),
    "de": _words("der die das und ist ich sie ein eine einen für mit mein meine nicht "
                    "suche möchte haben hallo danke bitte auf im zu es gibt habe wie"),
    "es": _words("el la los las y es yo usted un una unos para con mi mis no que busco "
                    "quiero tienen hola gracias por favor del en estoy algo"),
    "it": _words("il lo la gli le e è io lei un una per con mio mia non che cerco vorrei "
                    "avete ciao grazie del della sono qualcosa"),
    "nl": _words("de het een en is ik u je jij voor met mijn niet dat zoek wil hebben "
                    "hallo dank bedankt graag op van ook iets"),
    "pt": _words("o a os as e é eu você um uma para com meu minha não que procuro quero "
                    "têm olá obrigado obrigada por favor do da em estou algo"),
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_EMOJI = re.compile(
    "[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F000-\U0001F2FF\U0001F900-\U0001F9FF"
    "\u2764\u2B50\u2728]|(?:^|\\s)(?::-?[)(DPp]|;-?\\)|<3|xD|:'\\()(?=\\s|$)")
_INFORMAL = re.compile(
    r"\b(?:hey+|heya|yo|lol|lmao|omg|gonna|wanna|gotta|kinda|sorta|u|ur|thx|thanx|pls|plz|"
    r"ya|yeah|yep|yup|nope|nah|cool|awesome|dude|guys|btw|tbh|idk|imo|cuz|coz|ok|okay|k|"
    r"hiya|sup|cute|super|stuff|salut|stp|mdr|ouais|cool|hallo|hi|hoi|ciao|hola|oi|tu|du|"
    r"dich|dir|tú|tienes|hai|jij|você|vc|tbh|bro|sis|babe|haha+|hehe+)\b", re.I)
_FORMAL = re.compile(
    r"\b(?:please|kindly|thank\s+you|would\s+you|could\s+you|would\s+like|i\s+would|"
    r"may\s+i|good\s+(?:morning|afternoon|evening)|dear|regards|sincerely|appreciate|"
    r"grateful|madam|sir|furthermore|however|therefore|vous|s'il\s+vous\s+plaît|"
    r"je\s+voudrais|veuillez|madame|monsieur|sie|ihnen|bitte|guten\s+(?:tag|"
    r"morgen|abend)|sehr\s+geehrte|usted|ustedes|podría|quisiera|buenos\s+días|"
    r"buenas\s+tardes|lei|vorrei|potrebbe|gentile|buongiorno|uw|graag|goedendag|"
    r"o\s+senhor|a\s+senhora|gostaria|poderia|bom\s+dia)\b", re.I)
_CONTRACTION = re.compile(r"\b\w+'(?:m|re|s|ll|ve|d|t)\b", re.I)


@dataclass(frozen=True)
class StyleProfile:
    """How one customer writes; stored with their profile (see `to_dict`)."""

    formality: float = 0.5
    verbosity: float = 0.0  # average words per message
    emoji_rate: float = 0.0  # share of messages with emoji
    language: str = "en"
    message_count: int = 0
    language_scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> StyleProfile:
        """Tolerant of missing or unknown keys (profiles written by older versions)."""
        if not data:
            return cls()
        known = {f: data[f] for f in ("formality", "verbosity", "emoji_rate", "language",
                                      "message_count", "language_scores") if f in data}
        profile = cls(**known)
        if profile.language not in LANGUAGES:
            profile = replace(profile, language="en")
        return profile


def detect_language(text: str) -> dict[str, float]:
    """Share of each language's stop words among the message's words (may all be 0)."""
    words = [w.lower() for w in _WORD.findall(text.replace("\u2019", "'"))]
    if not words:
        return {}
    scores = {lang: sum(1 for w in words if w in stops) / len(words)
              for lang, stops in _STOPWORDS.items()}
    return {k: v for k, v in scores.items() if v > 0}


def formality_of(text: str) -> float:
    """Formality of one message in [0, 1] (0.5 = neutral)."""
    stripped = text.strip()
    if not stripped:
        return 0.5
    score = 0.5
    score += 0.15 * min(len(_FORMAL.findall(stripped)), 2)
    score -= 0.12 * min(len(_INFORMAL.findall(stripped)), 3)
    score -= 0.05 * min(len(_CONTRACTION.findall(stripped)), 2)
    if _EMOJI.search(stripped):
        score -= 0.15
    if re.search(r"[!?]{2,}|\.{4,}", stripped):
        score -= 0.1
    letters = [c for c in stripped if c.isalpha()]
    if letters and stripped[0].isalpha():
        score += 0.05 if stripped[0].isupper() else -0.1
    if len(letters) > 3 and all(c.isupper() for c in letters):
        score -= 0.1  # shouting
    if re.search(r"[.?]\s*$", stripped) and len(_WORD.findall(stripped)) > 3:
        score += 0.05
    return max(0.0, min(1.0, score))


def update(profile: StyleProfile | None, text: str) -> StyleProfile:
    """The profile after one more message from the customer."""
    profile = profile or StyleProfile()
    n = profile.message_count + 1
    a = max(ALPHA, 1.0 / n)

    def ema(old: float, new: float) -> float:
        return (1 - a) * old + a * new

    words = len(_WORD.findall(text))
    emoji = 1.0 if _EMOJI.search(text) else 0.0
    observed = detect_language(text)
    langs = {k: ema(profile.language_scores.get(k, 0.0), observed.get(k, 0.0))
             for k in set(profile.language_scores) | set(observed)}
    langs = {k: round(v, 4) for k, v in langs.items() if v > 1e-3}
    language = profile.language
    if langs:
        lead = max(langs, key=lambda k: (langs[k], k == language))
        # Switch only on a clear lead: short messages ("ok", "merci") are ambiguous.
        if lead != language and langs[lead] >= 1.5 * langs.get(language, 0.0) and \
                langs[lead] >= 0.08:
            language = lead
    return StyleProfile(
        formality=round(ema(profile.formality, formality_of(text)), 4),
        verbosity=round(ema(profile.verbosity, float(words)), 3),
        emoji_rate=round(ema(profile.emoji_rate, emoji), 4),
        language=language,
        message_count=n,
        language_scores=langs,
    )


def _register(profile: StyleProfile) -> str:
    if profile.formality >= 0.6:
        return "formal"
    if profile.formality <= 0.4:
        return "casual"
    return "neutral"


def _length(profile: StyleProfile) -> str:
    if profile.message_count and profile.verbosity < 12:
        return "short"
    if profile.verbosity >= 30:
        return "detailed"
    return "medium"


def instructions(profile: StyleProfile) -> str:
    """One line for the system prompt, e.g. "Reply casually, briefly (1-2 sentences),
    emoji welcome, in French."."""
    tone = {"formal": "formally and politely", "casual": "casually",
            "neutral": "in a friendly, neutral tone"}[_register(profile)]
    length = {"short": "briefly (1-2 sentences)", "medium": "in 2-3 sentences",
              "detailed": "in detail (a few sentences)"}[_length(profile)]
    emoji = "emoji welcome" if profile.emoji_rate >= 0.3 else "no emoji"
    return f"Reply {tone}, {length}, {emoji}, in {LANGUAGES.get(profile.language, 'English')}."


def prompt_variables(profile: StyleProfile) -> dict[str, Any]:
    """Variables for prompts/chat_reply.v1.yaml: language, register, length, emoji."""
    return {
        "language": LANGUAGES.get(profile.language, "English"),
        "register": "formal" if _register(profile) == "formal" else "casual",
        "length": "detailed" if _length(profile) == "detailed" else "short",
        "emoji": profile.emoji_rate >= 0.3,
    }


def describe(profile: StyleProfile) -> dict[str, Any]:
    """What the customer's preference view shows about their style (plain words + numbers)."""
    return {
        "register": _register(profile),
        "formality": round(profile.formality, 2),
        "length": _length(profile),
        "average_words": round(profile.verbosity, 1),
        "emoji": profile.emoji_rate >= 0.3,
        "emoji_rate": round(profile.emoji_rate, 2),
        "language": profile.language,
        "language_name": LANGUAGES.get(profile.language, "English"),
        "messages": profile.message_count,
        "instructions": instructions(profile),
    }
