"""Request routing: which target serves a request, and with which path arguments.

This module follows the model of Tornado's ``tornado.routing`` without its connection
plumbing. A `Router` answers one question, ``find(request)``, with a `RouteMatch` (the
target, its keyword arguments and the arguments taken from the path) or ``None``. What the
web layer then does with the target is its own business.

The usual shape is a `RuleRouter` holding an ordered list of `Rule` objects; each rule pairs
a `Matcher` (`PathMatches`, `HostMatches`, ...) with a target. The first rule whose matcher
accepts the request wins. A target that is itself a `Router` (or a list of rules, which
becomes one) is searched in turn, so host rules can hold path rules. Targets are usually
handler classes; routing does not care what they are:

>>> from trinado.httputil import HTTPHeaders, HTTPServerRequest
>>> from trinado.routing import AnyMatches, HostMatches, ReversibleRuleRouter, url
>>> class ItemHandler: ...
>>> class HomeHandler: ...
>>> router = ReversibleRuleRouter([
...     (HostMatches(r"api\\.example\\.com"), [
...         url(r"/items/([0-9]+)", ItemHandler, name="item"),
...     ]),
...     (AnyMatches(), [
...         (r"/", HomeHandler),
...     ]),
... ])
>>> router.reverse_url("item", 42)
'/items/42'
>>> def request(host, path):
...     return HTTPServerRequest("GET", path, headers=HTTPHeaders(Host=host))
>>> match = router.find(request("api.example.com", "/items/7"))
>>> match.target is ItemHandler, match.path_args
(True, [b'7'])
>>> router.find(request("www.example.com", "/items/7")) is None
True

Path arguments are handed over as percent-decoded **bytes**, as above (``None`` for an
optional group that did not take part in the match); the web layer decodes them.

The request object only needs ``path``, ``host_name`` and ``headers`` (see
`RoutableRequest`). Nothing here does I/O.
"""

from __future__ import annotations

import importlib
import logging
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "AnyMatches",
    "DefaultHostMatches",
    "HostMatches",
    "Matcher",
    "PathMatches",
    "ReversibleRouter",
    "ReversibleRuleRouter",
    "RoutableRequest",
    "RouteMatch",
    "Router",
    "Rule",
    "RuleRouter",
    "URLSpec",
    "url",
]

_app_log = logging.getLogger("trinado.application")


class _HeaderLookup(Protocol):
    def get(self, key: str, /) -> str | None: ...


class RoutableRequest(Protocol):
    """What routing needs to know about a request.

    ``trinado.httputil.HTTPServerRequest`` satisfies it; so does any object with these
    three attributes (a small dataclass in tests, for instance).
    """

    @property
    def path(self) -> str:
        """The path part of the request URI, still percent-encoded."""

    @property
    def host_name(self) -> str:
        """The requested host, lower-cased and without a port."""

    @property
    def headers(self) -> _HeaderLookup:
        """The request headers; only ``get(name)`` is used."""


class Matcher:
    """Decides whether a request fits a rule, and what it takes from the request.

    Subclasses implement `match`; those that can rebuild a URL also implement `reverse`.
    """

    def match(self, request: RoutableRequest) -> dict[str, Any] | None:
        """Matches this matcher against a request.

        Args:
            request: The request being routed.

        Returns:
            ``None`` when the request does not fit. Otherwise a dict of parameters for the
            target: ``path_args`` (a list) and/or ``path_kwargs`` (a dict), or an empty dict
            when the matcher takes nothing from the request.

        Raises:
            NotImplementedError: Always, in this base class.
        """
        raise NotImplementedError

    def reverse(self, *args: Any) -> str | None:
        """Rebuilds a URL from this matcher and some arguments.

        Args:
            *args: Values for the matcher's variable parts.

        Returns:
            The URL, or ``None`` when this kind of matcher cannot build one (the default).
        """
        return None


class AnyMatches(Matcher):
    """Matches every request."""

    def match(self, request: RoutableRequest) -> dict[str, Any] | None:
        """Accepts any request.

        Args:
            request: The request being routed.

        Returns:
            An empty dict, always.
        """
        return {}

    def __repr__(self) -> str:
        return "AnyMatches()"


def _ends_with_anchor(pattern: str) -> bool:
    """Tells whether ``pattern`` ends with an unescaped ``$``."""
    if not pattern.endswith("$"):
        return False
    backslashes = len(pattern) - 1 - len(pattern[:-1].rstrip("\\"))
    return backslashes % 2 == 0


def _compile_anchored(pattern: str | re.Pattern[str], what: str) -> re.Pattern[str]:
    """Compiles a str pattern with a ``$`` appended if it lacks one; keeps a compiled one."""
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise TypeError(f"{what} must be a str or a compiled pattern, not {type(pattern)!r}")
    if not _ends_with_anchor(pattern):
        pattern += "$"
    return re.compile(pattern)


class HostMatches(Matcher):
    """Matches requests whose ``host_name`` fits a regular expression.

    Args:
        host_pattern: A regular expression. A str gets a ``$`` appended unless it already
            ends with one (the match always starts at the beginning); a compiled pattern is
            used as given.

    Raises:
        TypeError: If ``host_pattern`` is neither a str nor a compiled pattern.
        re.error: If the pattern does not compile.
    """

    def __init__(self, host_pattern: str | re.Pattern[str]) -> None:
        self.host_pattern: re.Pattern[str] = _compile_anchored(host_pattern, "host_pattern")

    def match(self, request: RoutableRequest) -> dict[str, Any] | None:
        """Matches the request's host name against the pattern.

        Args:
            request: The request being routed.

        Returns:
            An empty dict on a match, else ``None``.
        """
        if self.host_pattern.match(request.host_name) is None:
            return None
        return {}

    def __repr__(self) -> str:
        return f"HostMatches({self.host_pattern.pattern!r})"


class DefaultHostMatches(Matcher):
    """Matches when the application's ``default_host`` fits a host pattern.

    This is how Tornado lets a developer reach host-specific handlers by hitting the server
    directly: the request's own host plays no part. A request carrying an ``X-Real-Ip``
    header (that is, one coming through a load balancer) never matches.

    Args:
        application: Any object with a ``default_host`` attribute (a str), read at match
            time.
        host_pattern: The host pattern, as for `HostMatches`.

    Raises:
        TypeError: If ``host_pattern`` is neither a str nor a compiled pattern.
    """

    def __init__(self, application: Any, host_pattern: str | re.Pattern[str]) -> None:
        self.application = application
        self.host_pattern: re.Pattern[str] = _compile_anchored(host_pattern, "host_pattern")

    def match(self, request: RoutableRequest) -> dict[str, Any] | None:
        """Matches the application's default host, unless behind a load balancer.

        Args:
            request: The request being routed.

        Returns:
            An empty dict on a match, else ``None``.
        """
        if request.headers.get("X-Real-Ip") is not None:
            return None
        if self.host_pattern.match(self.application.default_host) is None:
            return None
        return {}

    def __repr__(self) -> str:
        return f"DefaultHostMatches({self.application!r}, {self.host_pattern.pattern!r})"


_RE_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class _NotReversible(Exception):
    pass


def _re_unescape_char(match: re.Match[str]) -> str:
    char = match.group(1)
    if char in _ASCII_ALNUM:
        # \d, \w, \1 ... stand for a class of strings, not one character.
        raise _NotReversible
    return char


def _closing_parens(fragment: str) -> list[int]:
    """Positions of the ``)`` in ``fragment`` that are not backslash-escaped."""
    positions = []
    i = 0
    while i < len(fragment):
        char = fragment[i]
        if char == "\\":
            i += 2
            continue
        if char == ")":
            positions.append(i)
        i += 1
    return positions


def _literal(fragment: str) -> str:
    """Undoes `re.escape` on a piece of pattern that lies outside any group."""
    return _RE_ESCAPE.sub(_re_unescape_char, fragment)


def _reverse_template(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Splits a path regex into the literal text around its groups.

    ``/([0-9]{4})/([a-z-]+)/`` gives ``("/", "/", "/")``: the URL is those pieces with one
    argument between each pair. The rules are Tornado's: every ``(`` must open a capturing
    group, text outside groups may only use escapes that stand for one character, and
    (stricter than Tornado, which produced a wrong URL there) groups may not nest.

    Returns:
        The literal pieces (one more than the number of groups), or ``None`` when the
        pattern cannot be reversed.
    """
    pattern = regex.pattern
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if _ends_with_anchor(pattern):
        pattern = pattern[:-1]
    if regex.groups != pattern.count("("):
        # Non-capturing groups, look-arounds, escaped parentheses: too complex.
        return None
    fragments = pattern.split("(")
    try:
        if _closing_parens(fragments[0]):
            return None
        pieces = [_literal(fragments[0])]
        for fragment in fragments[1:]:
            # Each fragment is a group body, its ")" and then literal text.
            closers = _closing_parens(fragment)
            if len(closers) != 1:
                return None  # nested groups
            pieces.append(_literal(fragment[closers[0] + 1 :]))
    except _NotReversible:
        return None
    return tuple(pieces)


def _unquote_or_none(value: str | None) -> bytes | None:
    """Percent-decodes a matched group to bytes (``+`` stays ``+``); ``None`` stays."""
    if value is None:
        return None
    if "%" not in value:
        return value.encode("utf-8")
    return urllib.parse.unquote_to_bytes(value)


def _quote_arg(value: Any) -> str:
    """Percent-encodes one reverse argument as Tornado's ``url_escape(utf8(v), plus=False)``."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, bytes):
        value = str(value).encode("utf-8")
    return urllib.parse.quote(value, safe="/")


class PathMatches(Matcher):
    """Matches requests whose path fits a regular expression.

    Capturing groups become the target's arguments: all named groups give ``path_kwargs``,
    all unnamed groups give ``path_args`` (mixing the two is an error). Each value is
    percent-decoded to bytes (``+`` is left alone); an optional group that did not take part
    gives ``None``.

    Args:
        path_pattern: A regular expression. A str gets a ``$`` appended unless it already
            ends with one (the match always starts at the beginning); a compiled pattern is
            used as given.

    Raises:
        TypeError: If ``path_pattern`` is neither a str nor a compiled pattern.
        ValueError: If the pattern mixes named and unnamed groups.
        re.error: If the pattern does not compile.

    Attributes:
        regex: The compiled pattern.
    """

    def __init__(self, path_pattern: str | re.Pattern[str]) -> None:
        self.regex: re.Pattern[str] = _compile_anchored(path_pattern, "path_pattern")
        regex = self.regex
        if len(regex.groupindex) not in (0, regex.groups):
            raise ValueError(
                "groups in url regexes must either be all named or all positional: "
                f"{regex.pattern!r}"
            )
        self._regex_match = regex.match
        self._has_groups = regex.groups > 0
        self._named = bool(regex.groupindex)
        self._template = _reverse_template(regex)

    def match(self, request: RoutableRequest) -> dict[str, Any] | None:
        """Matches the request's path against the pattern.

        Args:
            request: The request being routed.

        Returns:
            ``None`` when the path does not fit; an empty dict when it does and the pattern
            has no groups; else ``{"path_args": [...], "path_kwargs": {...}}`` with one of
            the two filled.
        """
        m = self._regex_match(request.path)
        if m is None:
            return None
        if not self._has_groups:
            return {}
        path_args, path_kwargs = self._arguments(m)
        return {"path_args": path_args, "path_kwargs": path_kwargs}

    def _arguments(self, m: re.Match[str]) -> tuple[list[bytes | None], dict[str, bytes | None]]:
        """Decodes the groups of a successful match into (path_args, path_kwargs)."""
        if not self._has_groups:
            return [], {}
        if self._named:
            return [], {name: _unquote_or_none(value) for name, value in m.groupdict().items()}
        return [_unquote_or_none(value) for value in m.groups()], {}

    def reverse(self, *args: Any) -> str | None:
        """Builds the path for the given group values.

        Each argument is converted to text (``str()`` unless already str or bytes), encoded
        as UTF-8 and percent-encoded as a path segment (``/`` kept, space as ``%20``, as
        Tornado does), then put in place of its group.

        Args:
            *args: One value per group, in order (named groups too).

        Returns:
            The path.

        Raises:
            ValueError: If the pattern cannot be reversed (groups that are nested or not
                capturing, or escapes such as ``\\d`` outside groups), or if the number of
                arguments differs from the number of groups.
        """
        template = self._template
        if template is None:
            raise ValueError(f"Cannot reverse url regex {self.regex.pattern!r}")
        expected = len(template) - 1
        if len(args) != expected:
            raise ValueError(
                f"url regex {self.regex.pattern!r} takes {expected} argument(s) "
                f"to reverse, got {len(args)}"
            )
        parts = [template[0]]
        for arg, literal in zip(args, template[1:], strict=True):
            parts.append(_quote_arg(arg))
            parts.append(literal)
        return "".join(parts)

    def __repr__(self) -> str:
        return f"PathMatches({self.regex.pattern!r})"


def _import_object(name: str) -> Any:
    """Imports ``package.module.Name`` (or a bare module name) and returns the object."""
    module_name, _, attr = name.rpartition(".")
    if not module_name:
        return importlib.import_module(name)
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        pass
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise ImportError(f"No module or attribute named {attr!r} in {module_name!r}") from exc


class Rule:
    """One routing rule: a matcher, a target, and what to pass to the target.

    Args:
        matcher: Decides whether the rule applies to a request.
        target: What serves the request: typically a handler class, or a nested `Router`
            (a list of rules given to a `RuleRouter` becomes one). A str is taken as a
            dotted name (``"package.module.Name"``) and imported.
        target_kwargs: Keyword arguments for the target when it is created (for a handler:
            passed to its ``initialize``). ``None`` means none.
        name: A name for `ReversibleRouter.reverse_url`.

    Raises:
        TypeError: If ``matcher`` is not a `Matcher`.
        ImportError: If ``target`` is a str that does not import.
    """

    def __init__(
        self,
        matcher: Matcher,
        target: Any,
        target_kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(matcher, Matcher):
            raise TypeError(f"matcher must be a Matcher, not {type(matcher)!r}")
        if isinstance(target, str):
            target = _import_object(target)
        self.matcher: Matcher = matcher
        self.target: Any = target
        self.target_kwargs: dict[str, Any] = target_kwargs if target_kwargs else {}
        self.name: str | None = name

    def reverse(self, *args: Any) -> str | None:
        """Rebuilds a URL through this rule's matcher.

        Args:
            *args: Values for the matcher's variable parts.

        Returns:
            What the matcher's `Matcher.reverse` returns.

        Raises:
            ValueError: If the matcher cannot reverse with these arguments.
        """
        return self.matcher.reverse(*args)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.matcher!r}, {self.target!r}, "
            f"kwargs={self.target_kwargs!r}, name={self.name!r})"
        )


class URLSpec(Rule):
    """A rule that matches a path pattern: Tornado's classic ``url(...)`` entry.

    Args:
        pattern: The path regular expression, as for `PathMatches`. Groups are passed to
            the handler's methods: by keyword if named, by position if not.
        handler: The handler class (or a dotted name to import).
        kwargs: Keyword arguments for the handler's ``initialize``.
        name: A name for `ReversibleRouter.reverse_url`.

    Raises:
        TypeError: If ``pattern`` is neither a str nor a compiled pattern.
        ValueError: If the pattern mixes named and unnamed groups.
        ImportError: If ``handler`` is a str that does not import.

    Attributes:
        regex: The compiled path pattern.
        kwargs: The ``kwargs`` argument as given (possibly ``None``).
    """

    def __init__(
        self,
        pattern: str | re.Pattern[str],
        handler: Any,
        kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        matcher = PathMatches(pattern)
        super().__init__(matcher, handler, kwargs, name)
        self.regex: re.Pattern[str] = matcher.regex
        self.kwargs: dict[str, Any] | None = kwargs

    @property
    def handler_class(self) -> Any:
        """The handler class (the rule's target)."""
        return self.target

    @handler_class.setter
    def handler_class(self, value: Any) -> None:
        self.target = value

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.regex.pattern!r}, {self.handler_class!r}, "
            f"kwargs={self.kwargs!r}, name={self.name!r})"
        )


url = URLSpec
"""Alias of `URLSpec`, as in Tornado."""


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The answer of `Router.find`: what serves the request and with what.

    Attributes:
        target: The matched rule's target (typically a handler class).
        target_kwargs: Keyword arguments for creating the target.
        path_args: Unnamed path groups, percent-decoded to bytes (``None`` for an optional
            group that did not match).
        path_kwargs: Named path groups, decoded the same way.
        rule: The rule that matched, or ``None`` for a router that does not use rules.
    """

    target: Any
    target_kwargs: dict[str, Any]
    path_args: list[bytes | None]
    path_kwargs: dict[str, bytes | None]
    rule: Rule | None = None


class Router:
    """Base class of routers: something that finds the target for a request."""

    def find(self, request: RoutableRequest) -> RouteMatch | None:
        """Finds what serves a request.

        Args:
            request: The request being routed.

        Returns:
            The match, or ``None`` when nothing fits.

        Raises:
            NotImplementedError: Always, in this base class.
        """
        raise NotImplementedError


class ReversibleRouter(Router):
    """Base class of routers that can also build URLs from rule names."""

    def reverse_url(self, name: str, *args: Any) -> str | None:
        """Builds the URL of a named rule.

        Args:
            name: The rule's name.
            *args: Values for the rule's variable parts.

        Returns:
            The URL, or ``None`` when no rule has that name.

        Raises:
            NotImplementedError: Always, in this base class.
        """
        raise NotImplementedError


_RuleSpec = (
    Rule
    | list[Any]
    | tuple[str | re.Pattern[str] | Matcher, Any]
    | tuple[str | re.Pattern[str] | Matcher, Any, dict[str, Any] | None]
    | tuple[str | re.Pattern[str] | Matcher, Any, dict[str, Any] | None, str | None]
)
_RuleList = Sequence[_RuleSpec]


class RuleRouter(Router):
    """A router that tries an ordered list of rules; the first that matches wins.

    Args:
        rules: Initial rules, in any form `add_rules` accepts.

    Raises:
        TypeError: If a rule has an unusable form.
        ValueError: If a rule tuple has the wrong length or a bad path pattern.

    Attributes:
        rules: The rules, in order. Code may edit this list directly (Tornado's
            ``Application.add_handlers`` does).
    """

    def __init__(self, rules: _RuleList | None = None) -> None:
        self.rules: list[Rule] = []
        if rules:
            self.add_rules(rules)

    def add_rules(self, rules: _RuleList) -> None:
        """Appends rules, each passed through `process_rule`.

        Each rule is a `Rule`, or a tuple (or list) of `Rule` arguments:
        ``(matcher, target)``, ``(matcher, target, kwargs)`` or
        ``(matcher, target, kwargs, name)``, where a str or compiled pattern in place of the
        matcher means `PathMatches` of it.

        Args:
            rules: The rules to append.

        Raises:
            TypeError: If a rule is neither a `Rule` nor a tuple/list, or its matcher is
                unusable.
            ValueError: If a tuple does not have 2 to 4 items, or a path pattern is bad.
        """
        for spec in rules:
            if isinstance(spec, (tuple, list)):
                if not 2 <= len(spec) <= 4:
                    raise ValueError(
                        f"a rule tuple needs 2 to 4 items (matcher, target, kwargs, name), "
                        f"got {len(spec)}: {spec!r}"
                    )
                matcher = spec[0]
                if isinstance(matcher, (str, re.Pattern)):
                    matcher = PathMatches(matcher)
                rule = Rule(matcher, *spec[1:])
            elif isinstance(spec, Rule):
                rule = spec
            else:
                raise TypeError(f"a rule must be a Rule or a tuple, not {type(spec)!r}")
            self.rules.append(self.process_rule(rule))

    def process_rule(self, rule: Rule) -> Rule:
        """Prepares a rule as it is added; subclasses may extend this.

        A rule whose target is a list or tuple of rules gets a nested router built by
        `nested_router` as its target instead.

        Args:
            rule: The rule being added.

        Returns:
            The rule to store (this one, possibly changed).
        """
        if isinstance(rule.target, (list, tuple)):
            rule.target = self.nested_router(rule.target)
        return rule

    def nested_router(self, rules: _RuleList) -> Router:
        """Builds the router for a rule whose target is a list of rules.

        Args:
            rules: The nested rules.

        Returns:
            A new `RuleRouter` (subclasses return their own kind).
        """
        return RuleRouter(rules)

    def find(self, request: RoutableRequest) -> RouteMatch | None:
        """Finds the first rule that fits the request.

        When the matching rule's target is a `Router`, the search goes on inside it: its
        answer is the answer, and if it has none the search resumes with the next rule
        here. As in Tornado, what the outer rule's matcher extracted (path arguments) and
        the outer rule's ``target_kwargs`` are not passed down: only the innermost rule's
        values reach the target.

        Args:
            request: The request being routed.

        Returns:
            The match, or ``None`` when no rule fits.
        """
        path: str | None = None
        for rule in self.rules:
            matcher = rule.matcher
            if type(matcher) is PathMatches:
                # The common case, inlined: no method call and no dict for a miss.
                if path is None:
                    path = request.path
                m = matcher._regex_match(path)
                if m is None:
                    continue
                target = rule.target
                if isinstance(target, Router):
                    found = target.find(request)
                    if found is not None:
                        return found
                    continue
                path_args, path_kwargs = matcher._arguments(m)
                return RouteMatch(target, rule.target_kwargs, path_args, path_kwargs, rule)
            params = matcher.match(request)
            if params is None:
                continue
            target = rule.target
            if isinstance(target, Router):
                found = target.find(request)
                if found is not None:
                    return found
                continue
            given_args = params.get("path_args")
            given_kwargs = params.get("path_kwargs")
            return RouteMatch(
                target,
                rule.target_kwargs,
                [] if given_args is None else given_args,
                {} if given_kwargs is None else given_kwargs,
                rule,
            )
        return None


class ReversibleRuleRouter(ReversibleRouter, RuleRouter):
    """A `RuleRouter` that can build URLs from rule names.

    Args:
        rules: Initial rules, in any form `RuleRouter.add_rules` accepts (which raises the
            same errors).

    Attributes:
        named_rules: The named rules of this router (not of nested ones), by name.
    """

    def __init__(self, rules: _RuleList | None = None) -> None:
        self.named_rules: dict[str, Rule] = {}
        super().__init__(rules)

    def process_rule(self, rule: Rule) -> Rule:
        """Prepares a rule as `RuleRouter.process_rule` does and records its name.

        A second rule with a name already in use replaces the first for `reverse_url`
        (with a warning on the ``trinado.application`` logger), as in Tornado.

        Args:
            rule: The rule being added.

        Returns:
            The rule to store.
        """
        rule = super().process_rule(rule)
        if rule.name:
            if rule.name in self.named_rules:
                _app_log.warning("Multiple handlers named %s; replacing previous value", rule.name)
            self.named_rules[rule.name] = rule
        return rule

    def nested_router(self, rules: _RuleList) -> Router:
        """Builds the router for a rule whose target is a list of rules.

        Args:
            rules: The nested rules.

        Returns:
            A new `ReversibleRuleRouter`, so names inside stay reachable.
        """
        return ReversibleRuleRouter(rules)

    def reverse_url(self, name: str, *args: Any) -> str | None:
        """Builds the URL of a named rule, here or in a nested reversible router.

        This router's own names come first; then nested reversible routers are asked in
        rule order.

        Args:
            name: The rule's name.
            *args: Values for the rule's variable parts, one per group.

        Returns:
            The URL (percent-encoded), or ``None`` when no rule has that name.

        Raises:
            ValueError: If the named rule's pattern cannot be reversed or the number of
                arguments is wrong.
        """
        rule = self.named_rules.get(name)
        if rule is not None:
            return rule.matcher.reverse(*args)
        for rule in self.rules:
            target = rule.target
            if isinstance(target, ReversibleRouter):
                found = target.reverse_url(name, *args)
                if found is not None:
                    return found
        return None
