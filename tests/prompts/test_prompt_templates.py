"""Prompt templates: the shipped YAML files, loading, validation and rendering errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from generation.errors import (
    MissingVariableError,
    PromptError,
    PromptNotFoundError,
    PromptRenderError,
    PromptValidationError,
)
from generation.prompts import list_prompts, load_prompt, parse_prompt, prompts_dir

PRODUCTS = [
    {"name": "Alpine Down Parka", "price": 189, "currency": "EUR", "description": "800-fill"},
    {"name": "Trail Fleece"},
]

MINIMAL = """\
name: {name}
version: {version}
description: test template
variables:
  who: {{description: someone}}
user: "hello {{{{ who }}}}"
"""


def write(directory: Path, name: str, version: int, text: str | None = None) -> None:
    body = text if text is not None else MINIMAL.format(name=name, version=version)
    (directory / f"{name}.v{version}.yaml").write_text(body, encoding="utf-8")


def test_shipped_templates_are_package_data_and_all_valid() -> None:
    assert prompts_dir() == Path(__file__).resolve().parents[2] / "prompts"
    available = list_prompts()
    assert {"chat_reply"} <= set(available)
    for name, versions in available.items():
        for version in versions:
            template = load_prompt(name, version)
            assert (template.name, template.version) == (name, version)
            assert template.description


def test_chat_reply_lists_exactly_the_given_products() -> None:
    rendered = load_prompt("chat_reply").render(message="a warm jacket?", products=PRODUCTS)
    assert rendered.user == "a warm jacket?"
    assert rendered.system is not None
    assert "- Alpine Down Parka (189 EUR): 800-fill" in rendered.system
    assert "- Trail Fleece" in rendered.system.splitlines()
    assert "Mention no product that is not listed" in rendered.system
    bullet_lines = [line for line in rendered.system.splitlines() if line.startswith("- ")]
    assert len(bullet_lines) == 2


def test_chat_reply_puts_what_every_turn_shares_first() -> None:
    """llama.cpp reuses the KV cache of the prefix shared with the previous prompt: the
    instructions must come before anything that changes from turn to turn."""
    template = load_prompt("chat_reply")
    a = template.render(message="a warm jacket?", products=PRODUCTS).system or ""
    b = template.render(message="socks", summary="likes wool", products=[
        {"name": "Wool Socks", "price": 9, "currency": "EUR", "description": "soft"}]).system or ""
    shared = len(next(iter([a[:n] for n in range(min(len(a), len(b)), 0, -1)
                            if a[:n] == b[:n]]), ""))
    assert "Recommend the first product" in a[:shared] and "Do not use emoji" in a[:shared]
    assert a[shared:].lstrip().startswith("Products:")
    # Only the first product carries its description (the cards show the rest).
    two = template.render(message="m", products=[
        {"name": "Alpine Down Parka", "description": "800-fill"},
        {"name": "Trail Fleece", "description": "light"}]).system or ""
    assert "- Alpine Down Parka: 800-fill" in two and "- Trail Fleece" in two.splitlines()


def test_chat_reply_without_products_forbids_naming_any() -> None:
    system = load_prompt("chat_reply").render(message="hi", products=[]).system
    assert system is not None and "Do not mention or invent any product" in system


def test_chat_reply_adapts_style() -> None:
    template = load_prompt("chat_reply")
    casual = template.render(message="m", products=PRODUCTS).system or ""
    formal = template.render(
        message="m", products=PRODUCTS, register="formal", length="detailed", emoji=True,
        language="French",
    ).system or ""
    assert "casual" in casual and "Do not use emoji" in casual and "at most two" in casual
    assert "formal" in formal and "emoji" in formal and "Do not use emoji" not in formal
    assert "detailed" in formal.lower() and "French" in formal


def test_to_messages_puts_history_between_system_and_user() -> None:
    rendered = load_prompt("chat_reply").render(message="and in blue?", products=PRODUCTS)
    history = [HumanMessage("a jacket"), AIMessage("The Trail Fleece?")]
    messages = rendered.to_messages(history)
    assert isinstance(messages[0], SystemMessage)
    assert messages[1:3] == history
    assert messages[-1] == HumanMessage("and in blue?")


def test_missing_variable_raises_naming_it() -> None:
    with pytest.raises(MissingVariableError, match="products"):
        load_prompt("chat_reply").render(message="hi")


def test_unknown_variable_and_bad_choice_raise() -> None:
    template = load_prompt("chat_reply")
    with pytest.raises(PromptRenderError, match="unknown variables: tone"):
        template.render(message="m", products=[], tone="warm")
    with pytest.raises(PromptRenderError, match="register='sarcastic'"):
        template.render(message="m", products=[], register="sarcastic")


def test_product_without_a_name_is_a_render_error() -> None:
    with pytest.raises(PromptRenderError, match="name"):
        load_prompt("chat_reply").render(message="m", products=[{"price": 3}])


def test_latest_version_is_default_and_versions_sort_numerically(tmp_path: Path) -> None:
    for version in (1, 2, 10):
        write(tmp_path, "greet", version)
    assert list_prompts(tmp_path) == {"greet": [1, 2, 10]}
    assert load_prompt("greet", directory=tmp_path).version == 10
    assert load_prompt("greet", 2, directory=tmp_path).version == 2
    assert load_prompt("greet", directory=tmp_path).render(who="Ann").user == "hello Ann"


def test_not_found(tmp_path: Path) -> None:
    write(tmp_path, "greet", 1)
    with pytest.raises(PromptNotFoundError):
        load_prompt("nope", directory=tmp_path)
    with pytest.raises(PromptNotFoundError, match="no version 3"):
        load_prompt("greet", 3, directory=tmp_path)


def test_file_name_must_match_content(tmp_path: Path) -> None:
    write(tmp_path, "greet", 1, MINIMAL.format(name="other", version=1))
    with pytest.raises(PromptValidationError, match="file name"):
        load_prompt("greet", directory=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nversion: 1\ndescription: d\nuser: hi\nauthor: me\n", "author"),
        ("name: x\nversion: 1\ndescription: d\nuser: '{{ who }}'\n", "undeclared variables: who"),
        ("name: x\nversion: 1\ndescription: d\nuser: '{% if %}'\n", "syntax error"),
        ("name: X!\nversion: 1\ndescription: d\nuser: hi\n", "name"),
        ("name: x\nversion: 0\ndescription: d\nuser: hi\n", "version"),
        ("name: x\nversion: 1\ndescription: d\n", "user"),
        (
            "name: x\nversion: 1\ndescription: d\nuser: hi\n"
            "variables:\n  a: {required: true, default: 1}\n",
            "required variable cannot have a default",
        ),
        (
            "name: x\nversion: 1\ndescription: d\nuser: hi\n"
            "variables:\n  a: {default: c, choices: [a, b]}\n",
            "not one of",
        ),
        ("name: [unclosed\n", "invalid YAML"),
        ("- a list\n", "mapping"),
    ],
)
def test_invalid_templates_are_rejected(text: str, message: str) -> None:
    with pytest.raises(PromptValidationError, match=message):
        parse_prompt(text)


def test_prompt_errors_share_a_base() -> None:
    assert issubclass(MissingVariableError, PromptRenderError)
    for error in (PromptNotFoundError, PromptValidationError, PromptRenderError):
        assert issubclass(error, PromptError)
