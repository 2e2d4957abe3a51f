"""Prompt templates as data: versioned YAML files in the ``prompts`` package.

Each file is ``prompts/<name>.v<version>.yaml`` and holds one :class:`PromptTemplate`::

    name: chat_reply
    version: 1
    description: ...
    variables:
      message: {description: the customer's latest message}
      register: {default: casual, choices: [formal, casual]}
    system: |
      ... Jinja2 ...
    user: "{{ message }}"

Templates are Jinja2 in a sandbox with strict undefined: a template may only use the
variables it declares (checked when the file loads), rendering refuses unknown or
missing variables, and values outside declared ``choices`` are rejected rather than
silently "fixed".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from generation.errors import (
    MissingVariableError,
    PromptNotFoundError,
    PromptRenderError,
    PromptValidationError,
)

__all__ = [
    "PromptTemplate",
    "PromptVariable",
    "RenderedPrompt",
    "list_prompts",
    "load_prompt",
    "parse_prompt",
    "prompts_dir",
]

_FILE_NAME = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.yaml$")

_env = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # the output is a prompt, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
)


class PromptVariable(BaseModel):
    """One declared variable. A variable with a ``default`` is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    default: Any = None
    required: bool | None = None
    """Defaults to "no default given"; ``required: false`` without a default means None."""
    choices: list[Any] | None = None

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None

    @model_validator(mode="after")
    def _consistent(self) -> PromptVariable:
        if self.required and self.default is not None:
            raise ValueError("a required variable cannot have a default")
        if self.choices is not None and self.default is not None and (
            self.default not in self.choices
        ):
            raise ValueError(f"default {self.default!r} is not one of {self.choices!r}")
        return self


@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered template, ready to send."""

    name: str
    version: int
    system: str | None
    user: str

    def to_messages(self, history: Sequence[BaseMessage] = ()) -> list[BaseMessage]:
        """System message, then earlier turns, then this turn's user message."""
        head: list[BaseMessage] = [SystemMessage(self.system)] if self.system else []
        return [*head, *history, HumanMessage(self.user)]


class PromptTemplate(BaseModel):
    """A validated, versioned prompt template (see the module docstring for the format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    description: str = Field(min_length=1)
    variables: dict[str, PromptVariable] = Field(default_factory=dict)
    system: str | None = None
    user: str = Field(min_length=1)

    _compiled: dict[str, jinja2.Template] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _compile(self) -> PromptTemplate:
        for part in ("system", "user"):
            source = getattr(self, part)
            if source is None:
                continue
            try:
                used = meta.find_undeclared_variables(_env.parse(source))
                self._compiled[part] = _env.from_string(source)
            except jinja2.TemplateSyntaxError as exc:
                raise ValueError(f"{part}: template syntax error line {exc.lineno}: {exc}") from exc
            undeclared = sorted(used - set(self.variables))
            if undeclared:
                raise ValueError(f"{part} uses undeclared variables: {', '.join(undeclared)}")
        return self

    @property
    def id(self) -> str:
        return f"{self.name}.v{self.version}"

    def render(
        self, values: Mapping[str, Any] | None = None, /, **variables: Any
    ) -> RenderedPrompt:
        """Render with ``values`` and/or keyword variables; unknown or missing ones raise."""
        given = {**(values or {}), **variables}
        unknown = sorted(set(given) - set(self.variables))
        if unknown:
            raise PromptRenderError(f"{self.id}: unknown variables: {', '.join(unknown)}")
        missing = sorted(
            name for name, spec in self.variables.items() if spec.is_required and name not in given
        )
        if missing:
            raise MissingVariableError(f"{self.id}: missing variables: {', '.join(missing)}")
        context = {name: given.get(name, spec.default) for name, spec in self.variables.items()}
        for name, spec in self.variables.items():
            if spec.choices is not None and name in given and given[name] not in spec.choices:
                raise PromptRenderError(
                    f"{self.id}: {name}={given[name]!r} is not one of {spec.choices!r}"
                )
        try:
            rendered = {part: t.render(context).strip() for part, t in self._compiled.items()}
        except jinja2.UndefinedError as exc:  # e.g. a product without the field used
            raise PromptRenderError(f"{self.id}: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise PromptRenderError(f"{self.id}: {exc}") from exc
        return RenderedPrompt(self.name, self.version, rendered.get("system"), rendered["user"])


def prompts_dir() -> Path:
    """The folder of the ``prompts`` package, where the YAML files ship as package data."""
    return Path(str(resources.files("prompts")))


def parse_prompt(text: str, *, source: str = "<string>") -> PromptTemplate:
    """Parse and validate one template from YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PromptValidationError(f"{source}: invalid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise PromptValidationError(f"{source}: expected a mapping at the top level")
    try:
        return PromptTemplate.model_validate(data)
    except ValidationError as exc:
        raise PromptValidationError(f"{source}: {exc}") from exc


def list_prompts(directory: Path | None = None) -> dict[str, list[int]]:
    """Available templates: name -> sorted versions."""
    found: dict[str, list[int]] = {}
    for path in (directory or prompts_dir()).iterdir():
        match = _FILE_NAME.match(path.name)
        if match:
            found.setdefault(match["name"], []).append(int(match["version"]))
    return {name: sorted(versions) for name, versions in sorted(found.items())}


def load_prompt(
    name: str, version: int | None = None, *, directory: Path | None = None
) -> PromptTemplate:
    """Load template ``name`` at ``version`` (default: the latest one)."""
    return _load(name, version, directory or prompts_dir())


@functools.lru_cache(maxsize=128)
def _load(name: str, version: int | None, directory: Path) -> PromptTemplate:
    versions = list_prompts(directory).get(name)
    if not versions:
        raise PromptNotFoundError(f"no prompt named {name!r} in {directory}")
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise PromptNotFoundError(f"prompt {name!r} has no version {version} (has {versions})")
    path = directory / f"{name}.v{version}.yaml"
    template = parse_prompt(path.read_text(encoding="utf-8"), source=str(path))
    if (template.name, template.version) != (name, version):
        raise PromptValidationError(
            f"{path}: declares {template.id}; the file name says {name}.v{version}"
        )
    return template
