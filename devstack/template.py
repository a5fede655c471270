"""Read the SAM/CloudFormation template and resolve its intrinsic functions locally.

`load_template` parses YAML with the CloudFormation short tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...)
into their long JSON forms (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), exactly what
CloudFormation itself sees. `resolve` evaluates those forms against values the caller supplies:

* ``context`` - a flat mapping: pseudo-parameters (``"AWS::Region"``), parameters (``"Stage"``),
  physical ids for ``Ref`` (``"JobsQueue": "<queue url>"``) and attributes for ``GetAtt`` keyed
  ``"<LogicalId>.<Attribute>"`` (``"JobsQueue.Arn"``). A name that is not there raises
  `UnresolvedReference` (a `KeyError`), so callers can skip cloud-only values.
* ``conditions`` - the template's ``Conditions`` section (expressions or ready booleans).
* ``mappings`` - the template's ``Mappings`` section, for ``Fn::FindInMap``.

Only what a local stack needs is supported: Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If,
Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition, Fn::Select, Fn::Split, Fn::FindInMap,
Fn::GetAZs, Fn::Base64, Fn::Cidr, Fn::ToJsonString and Fn::ImportValue (``"Export:<name>"``
in the context). ``Ref: AWS::NoValue`` removes the key or list item that holds it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["UnresolvedReference", "load_template", "resolve"]

# Short tags whose long form is "Fn::<Name>"; !Ref and !Condition are special.
_FN_TAGS = (
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAtt", "GetAZs", "If", "ImportValue",
    "Join", "Length", "Not", "Or", "Select", "Split", "Sub", "ToJsonString", "Transform",
)


class UnresolvedReference(KeyError):
    """A Ref / GetAtt / Sub variable / condition the caller's context does not provide."""


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader + CloudFormation short tags; no implicit dates (CloudFormation keeps strings)."""


# CloudFormation never turns 2010-09-09 into a date: drop the timestamp resolver.
_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _fn_constructor(name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value = _construct(loader, node)
        if name == "GetAtt" and isinstance(value, str):
            # !GetAtt Resource.Attr(.Sub) -> ["Resource", "Attr(.Sub)"]
            logical_id, _, attribute = value.partition(".")
            value = [logical_id, attribute]
        return {f"Fn::{name}": value}

    return construct


for _name in _FN_TAGS:
    _TemplateLoader.add_constructor(f"!{_name}", _fn_constructor(_name))
_TemplateLoader.add_constructor("!Ref", lambda loader, node: {"Ref": _construct(loader, node)})
_TemplateLoader.add_constructor("!Condition", lambda loader, node: {"Condition": _construct(loader, node)})


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML (or JSON) template; short tags become long-form dicts."""
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass


# ------------------------------------------------------------------------------------- resolve
_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def resolve(
    value: Any,
    context: Mapping[str, Any],
    conditions: Mapping[str, Any] | None = None,
    mappings: Mapping[str, Any] | None = None,
) -> Any:
    """Return `value` with every intrinsic function evaluated; see the module docstring."""
    result = _Resolver(context, conditions or {}, mappings or {}).value(value)
    return None if result is _NO_VALUE else result


class _Resolver:
    def __init__(self, context: Mapping[str, Any], conditions: Mapping[str, Any], mappings: Mapping[str, Any]):
        self.context = context
        self.conditions = conditions
        self.mappings = mappings
        self._evaluating: set[str] = set()

    # -- structure
    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.value(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                handler = getattr(self, "fn_" + key[4:].lower(), None)
                if handler is None:
                    raise NotImplementedError(f"{key} is not supported locally")
                return handler(arg)
        out = {}
        for key, item in value.items():
            resolved = self.value(item)
            if resolved is not _NO_VALUE:
                out[key] = resolved
        return out

    def lookup(self, name: str) -> Any:
        if name not in self.context:
            raise UnresolvedReference(name)
        return self.context[name]

    # -- references
    def ref(self, name: Any) -> Any:
        name = self.value(name)
        if name == "AWS::NoValue":
            return _NO_VALUE
        return self.lookup(name)

    def fn_getatt(self, arg: Any) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        logical_id, attribute = (self.value(part) for part in arg)
        return self.lookup(f"{logical_id}.{attribute}")

    def fn_sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.value(v) for k, v in (arg[1] if len(arg) > 1 else {}).items()}
        else:
            text, variables = arg, {}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} -> ${Literal}
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                found = variables[name]
            elif name in self.context:
                found = self.context[name]
            elif "." in name:  # ${Resource.Attribute}
                found = self.fn_getatt(name)
            else:
                raise UnresolvedReference(name)
            return _text(found)

        return _SUB_VARIABLE.sub(substitute, text)

    def fn_importvalue(self, arg: Any) -> Any:
        return self.lookup(f"Export:{self.value(arg)}")

    # -- conditions
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise UnresolvedReference(f"Condition {name}")
        expression = self.conditions[name]
        if isinstance(expression, bool):
            return expression
        if name in self._evaluating:
            raise ValueError(f"condition {name} refers to itself")
        self._evaluating.add(name)
        try:
            return bool(self.value(expression))
        finally:
            self._evaluating.discard(name)

    def fn_if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self.value(when_true if self.condition(name) else when_false)

    def fn_equals(self, arg: list[Any]) -> bool:
        left, right = (self.value(item) for item in arg)
        return _text(left) == _text(right)

    def fn_not(self, arg: list[Any]) -> bool:
        return not self._truth(arg[0])

    def fn_and(self, arg: list[Any]) -> bool:
        return all(self._truth(item) for item in arg)

    def fn_or(self, arg: list[Any]) -> bool:
        return any(self._truth(item) for item in arg)

    def _truth(self, item: Any) -> bool:
        if isinstance(item, dict) and set(item) == {"Condition"}:
            return self.condition(item["Condition"])
        return bool(self.value(item))

    # -- strings and lists
    def fn_join(self, arg: list[Any]) -> str:
        delimiter, items = arg
        return self.value(delimiter).join(_text(item) for item in self.value(items))

    def fn_select(self, arg: list[Any]) -> Any:
        index, items = self.value(arg[0]), self.value(arg[1])
        return items[int(index)]

    def fn_split(self, arg: list[Any]) -> list[str]:
        delimiter, text = (self.value(item) for item in arg)
        return text.split(delimiter)

    def fn_findinmap(self, arg: list[Any]) -> Any:
        name, top, second = (self.value(item) for item in arg[:3])
        try:
            return self.mappings[name][top][second]
        except KeyError:
            if len(arg) > 3 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.value(arg[3]["DefaultValue"])
            raise UnresolvedReference(f"Mappings {name}/{top}/{second}") from None

    def fn_getazs(self, arg: Any) -> list[str]:
        region = self.value(arg) or self.context.get("AWS::Region", "us-east-1")
        if "AWS::AZs" in self.context:
            return list(self.context["AWS::AZs"])
        return [f"{region}{suffix}" for suffix in "abc"]

    def fn_base64(self, arg: Any) -> str:
        return base64.b64encode(_text(self.value(arg)).encode()).decode()

    def fn_cidr(self, arg: list[Any]) -> list[str]:
        block, count, host_bits = (self.value(item) for item in arg)
        network = ipaddress.ip_network(block, strict=False)
        new_prefix = network.max_prefixlen - int(host_bits)
        subnets = network.subnets(new_prefix=new_prefix)
        return [str(next(subnets)) for _ in range(int(count))]

    def fn_tojsonstring(self, arg: Any) -> str:
        return json.dumps(self.value(arg), separators=(",", ":"))


def _text(value: Any) -> str:
    """How CloudFormation renders a scalar inside a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return str(value)
