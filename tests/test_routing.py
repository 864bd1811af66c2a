"""Tests for trinado.routing: matching, nesting, argument decoding and reversing."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pytest

from trinado.routing import (
    AnyMatches,
    DefaultHostMatches,
    HostMatches,
    Matcher,
    PathMatches,
    ReversibleRouter,
    ReversibleRuleRouter,
    RouteMatch,
    Router,
    Rule,
    RuleRouter,
    URLSpec,
    url,
)


@dataclass(frozen=True)
class Req:
    path: str
    host_name: str = "example.com"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class App:
    default_host: str


class H1:
    pass


class H2:
    pass


class H3:
    pass


def find(router: Router, path: str, host: str = "example.com") -> RouteMatch:
    found = router.find(Req(path, host))
    assert found is not None, path
    return found


# --- rule forms ------------------------------------------------------------------------


def test_tuple_forms_and_rule_objects() -> None:
    router = ReversibleRuleRouter(
        [
            ("/two", H1),
            ("/three", H2, {"a": 1}),
            ("/four", H3, {"b": 2}, "four"),
            ["/list", H1],
            (re.compile("/compiled$"), H2),
            (PathMatches("/matcher"), H3),
            Rule(PathMatches("/rule"), H1, {"c": 3}, "rule"),
            url("/spec", H2, {"d": 4}, name="spec"),
        ]
    )
    assert find(router, "/two").target is H1
    assert find(router, "/two").target_kwargs == {}
    assert find(router, "/three").target_kwargs == {"a": 1}
    assert find(router, "/four").target is H3
    assert router.reverse_url("four") == "/four"
    assert find(router, "/list").target is H1
    assert find(router, "/compiled").target is H2
    assert find(router, "/matcher").target is H3
    match = find(router, "/rule")
    assert (match.target, match.target_kwargs, match.rule) == (H1, {"c": 3}, router.rules[6])
    assert find(router, "/spec").target_kwargs == {"d": 4}
    assert set(router.named_rules) == {"four", "rule", "spec"}
    assert router.find(Req("/nothing")) is None


def test_none_kwargs_and_name_in_tuple() -> None:
    router = ReversibleRuleRouter([("/x", H1, None, "x")])
    assert find(router, "/x").target_kwargs == {}
    assert router.reverse_url("x") == "/x"


@pytest.mark.parametrize("spec", [("/x",), ("/x", H1, {}, "n", "extra"), ()])
def test_bad_tuple_length(spec: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match="2 to 4 items"):
        RuleRouter([spec])


def test_bad_rule_types() -> None:
    with pytest.raises(TypeError, match="Rule or a tuple"):
        RuleRouter(["/x"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="Matcher"):
        RuleRouter([(42, H1)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="Matcher"):
        Rule("/x", H1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path_pattern"):
        PathMatches(b"/x")  # type: ignore[arg-type]


def test_string_target_is_imported() -> None:
    assert Rule(AnyMatches(), "collections.OrderedDict").target is OrderedDict
    assert Rule(AnyMatches(), "os.path").target.__name__ in ("posixpath", "ntpath")
    with pytest.raises(ImportError):
        Rule(AnyMatches(), "collections.NoSuchThing")
    with pytest.raises(ImportError):
        Rule(AnyMatches(), "no_such_module_for_trinado.X")


def test_add_rules_appends_and_process_rule_hook() -> None:
    seen: list[Rule] = []

    class Recording(RuleRouter):
        def process_rule(self, rule: Rule) -> Rule:
            seen.append(rule)
            return super().process_rule(rule)

    router = Recording([("/a", H1)])
    router.add_rules([("/b", H2)])
    assert [r.target for r in seen] == [H1, H2]
    assert [r.target for r in router.rules] == [H1, H2]
    assert find(router, "/b").target is H2


# --- path matching ---------------------------------------------------------------------


def test_first_match_wins() -> None:
    router = RuleRouter([("/(.*)", H1), ("/special", H2)])
    assert find(router, "/special").target is H1
    router = RuleRouter([("/special", H2), ("/(.*)", H1)])
    assert find(router, "/special").target is H2
    assert find(router, "/other").target is H1


def test_pattern_is_anchored_at_both_ends() -> None:
    router = RuleRouter([("/a", H1)])
    assert router.find(Req("/ab")) is None
    assert router.find(Req("/x/a")) is None
    assert find(router, "/a").target is H1


@pytest.mark.parametrize("pattern", ["/a$", "^/a$", "^/a"])
def test_pattern_already_anchored(pattern: str) -> None:
    matcher = PathMatches(pattern)
    assert not matcher.regex.pattern.endswith("$$")
    assert matcher.match(Req("/a")) == {}
    assert matcher.match(Req("/ab")) is None
    assert matcher.reverse() == "/a"


def test_escaped_dollar_is_not_an_anchor() -> None:
    matcher = PathMatches(r"/price\$")
    assert matcher.regex.pattern == r"/price\$$"
    assert matcher.match(Req("/price$")) == {}
    assert matcher.match(Req("/price$more")) is None
    assert matcher.reverse() == "/price$"


def test_compiled_pattern_used_as_given() -> None:
    # As in Tornado, a compiled pattern gets no "$": it matches as a prefix.
    matcher = PathMatches(re.compile("/static/"))
    assert matcher.match(Req("/static/anything")) == {}


def test_unnamed_groups_give_path_args_bytes() -> None:
    router = RuleRouter([(r"/user/([^/]+)/post/(\d+)", H1)])
    match = find(router, "/user/bob/post/12")
    assert match.path_args == [b"bob", b"12"]
    assert match.path_kwargs == {}


def test_named_groups_give_path_kwargs_bytes() -> None:
    router = RuleRouter([(r"/user/(?P<name>[^/]+)/post/(?P<id>\d+)", H1)])
    match = find(router, "/user/bob/post/12")
    assert match.path_args == []
    assert match.path_kwargs == {"name": b"bob", "id": b"12"}


def test_no_groups_give_empty_args() -> None:
    match = find(RuleRouter([("/plain", H1)]), "/plain")
    assert match.path_args == []
    assert match.path_kwargs == {}


def test_mixed_groups_rejected() -> None:
    with pytest.raises(ValueError, match="all named or all positional"):
        PathMatches(r"/(?P<a>\w+)/(\w+)")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/f/a%2Fb", b"a/b"),
        ("/f/%C3%A9t%C3%A9", "été".encode()),
        ("/f/%E9", b"\xe9"),
        ("/f/1+1", b"1+1"),  # plus=False: "+" is not a space in a path
        ("/f/%2B%20", b"+ "),
        ("/f/100%", b"100%"),  # a stray "%" is kept
        ("/f/caf\u00e9", "café".encode()),  # no "%": plain UTF-8 encoding
    ],
)
def test_percent_decoding_to_bytes(path: str, expected: bytes) -> None:
    match = find(RuleRouter([("/f/(.*)", H1)]), path)
    assert match.path_args == [expected]
    named = find(RuleRouter([("/f/(?P<v>.*)", H1)]), path)
    assert named.path_kwargs == {"v": expected}


def test_optional_groups_give_none() -> None:
    router = RuleRouter([(r"/opt/(\d+)?/?(x)?", H1), (r"/kw/(?P<a>\d+)?", H2)])
    assert find(router, "/opt/").path_args == [None, None]
    assert find(router, "/opt/5/x").path_args == [b"5", b"x"]
    assert find(router, "/kw/").path_kwargs == {"a": None}


def test_path_args_are_fresh_per_request() -> None:
    router = RuleRouter([("/a", H1), ("/b/(.*)", H2)])
    first = find(router, "/a")
    first.path_args.append(b"x")
    first.path_kwargs["y"] = b"z"
    second = find(router, "/a")
    assert second.path_args == []
    assert second.path_kwargs == {}


def test_route_match_is_frozen() -> None:
    match = find(RuleRouter([("/a", H1)]), "/a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.target = H2  # type: ignore[misc]


# --- host matching ---------------------------------------------------------------------


def test_host_matches() -> None:
    router = RuleRouter(
        [
            (HostMatches(r"api\.example\.com"), [("/", H1)]),
            (HostMatches(re.compile(r".*\.example\.org$")), [("/", H2)]),
            (AnyMatches(), [("/", H3)]),
        ]
    )
    assert find(router, "/", "api.example.com").target is H1
    # "$" is appended: a longer host does not match the first rule.
    assert find(router, "/", "api.example.com.evil").target is H3
    assert find(router, "/", "www.example.org").target is H2
    assert find(router, "/", "other").target is H3


def test_host_pattern_with_trailing_dollar_kept() -> None:
    assert HostMatches("a$").host_pattern.pattern == "a$"
    assert HostMatches("a").host_pattern.pattern == "a$"


def test_default_host_matches() -> None:
    app = App(default_host="admin.local")
    matcher = DefaultHostMatches(app, re.compile(r"admin\.local$"))
    # The request's own host does not matter, the application's default host does.
    assert matcher.match(Req("/", "127.0.0.1")) == {}
    assert matcher.match(Req("/", "127.0.0.1", {"X-Real-Ip": "10.0.0.1"})) is None
    app.default_host = "other"
    assert matcher.match(Req("/", "127.0.0.1")) is None
    assert DefaultHostMatches(App("x.y"), r"x\.y").match(Req("/")) == {}


# --- nested routers --------------------------------------------------------------------


def test_list_target_becomes_nested_router() -> None:
    router = RuleRouter([(HostMatches("h"), [("/a", H1)])])
    assert type(router.rules[0].target) is RuleRouter
    reversible = ReversibleRuleRouter([(HostMatches("h"), [("/a", H1)])])
    assert type(reversible.rules[0].target) is ReversibleRuleRouter


def test_nested_router_match_wins_and_outer_args_dropped() -> None:
    inner = RuleRouter([(r"/api/v(\d+)/(\w+)", H2, {"inner": True})])
    router = RuleRouter([(r"/api/.*", inner, {"outer": True}), (r"/api/(.*)", H3)])
    match = find(router, "/api/v2/items")
    assert match.target is H2
    assert match.path_args == [b"2", b"items"]
    assert match.target_kwargs == {"inner": True}
    assert match.rule is inner.rules[0]


def test_outer_path_args_not_passed_to_inner() -> None:
    inner = RuleRouter([(AnyMatches(), H1)])
    router = RuleRouter([(r"/p/(\w+)", inner)])
    match = find(router, "/p/x")
    assert match.path_args == []
    assert match.path_kwargs == {}


def test_nested_router_without_match_falls_through() -> None:
    router = RuleRouter(
        [
            (HostMatches("h"), [("/only-here", H1)]),
            (AnyMatches(), [("/.*", H2)]),
        ]
    )
    assert find(router, "/only-here", "h").target is H1
    assert find(router, "/elsewhere", "h").target is H2


def test_custom_router_as_target() -> None:
    class Fixed(Router):
        def find(self, request: Any) -> RouteMatch | None:
            return RouteMatch(H3, {}, [b"fixed"], {})

    match = find(RuleRouter([("/c", Fixed())]), "/c")
    assert (match.target, match.path_args, match.rule) == (H3, [b"fixed"], None)


def test_custom_matcher() -> None:
    class MethodMatches(Matcher):
        def match(self, request: Any) -> dict[str, Any] | None:
            return {} if request.headers.get("X-Method") == "POST" else None

    router = RuleRouter([(MethodMatches(), H1), (AnyMatches(), H2)])
    assert router.find(Req("/", headers={"X-Method": "POST"})).target is H1  # type: ignore[union-attr]
    assert find(router, "/").target is H2
    assert MethodMatches().reverse() is None


def test_path_matches_subclass_match_is_honoured() -> None:
    class Lowered(PathMatches):
        def match(self, request: Any) -> dict[str, Any] | None:
            return super().match(Req(request.path.lower()))

    router = RuleRouter([Rule(Lowered("/(ab)c"), H1)])
    assert find(router, "/ABC").path_args == [b"ab"]


def test_base_classes_are_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Router().find(Req("/"))
    with pytest.raises(NotImplementedError):
        ReversibleRouter().reverse_url("x")
    with pytest.raises(NotImplementedError):
        Matcher().match(Req("/"))


# --- reversing -------------------------------------------------------------------------


@pytest.fixture
def reversible() -> ReversibleRuleRouter:
    return ReversibleRuleRouter(
        [
            url(r"/decode_arg/(.*)", H1, name="decode_arg"),
            url(r"/user/(?P<name>[^/]+)/post/(?P<id>\d+)", H1, name="post"),
            url(r"/favicon\.ico", H1, name="favicon"),
            url(r"/api\.v1/foo/([0-9]+)/icon\.png", H1, name="icon"),
            url(r"/v\d+/(\w+)", H1, name="not_reversible"),
            (HostMatches("h"), [url(r"/inner/(\w+)", H2, name="inner")]),
        ]
    )


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("foo", "/decode_arg/foo"),
        (42, "/decode_arg/42"),
        (b"\xe9", "/decode_arg/%E9"),
        ("\u00e9", "/decode_arg/%C3%A9"),
        ("1 + 1", "/decode_arg/1%20%2B%201"),
        ("a/b", "/decode_arg/a/b"),  # "/" is kept, as Tornado's url_escape(plus=False)
        ("100%", "/decode_arg/100%25"),
        ("?x=1&y#z", "/decode_arg/%3Fx%3D1%26y%23z"),
        ("日本", "/decode_arg/%E6%97%A5%E6%9C%AC"),
        ("-_.~", "/decode_arg/-_.~"),
    ],
)
def test_reverse_url_escaping(reversible: ReversibleRuleRouter, arg: Any, expected: str) -> None:
    assert reversible.reverse_url("decode_arg", arg) == expected


def test_reverse_round_trip(reversible: ReversibleRuleRouter) -> None:
    for value in ["1 + 1", "été", "100%", "a?b#c"]:
        path = reversible.reverse_url("decode_arg", value)
        assert path is not None
        assert find(reversible, path).path_args == [value.encode()]


def test_reverse_named_groups_and_literals(reversible: ReversibleRuleRouter) -> None:
    assert reversible.reverse_url("post", "bob", 7) == "/user/bob/post/7"
    assert reversible.reverse_url("favicon") == "/favicon.ico"
    assert reversible.reverse_url("icon", 5) == "/api.v1/foo/5/icon.png"


def test_reverse_nested_and_unknown(reversible: ReversibleRuleRouter) -> None:
    assert reversible.reverse_url("inner", "x") == "/inner/x"
    assert reversible.reverse_url("missing") is None


def test_reverse_wrong_argument_count(reversible: ReversibleRuleRouter) -> None:
    with pytest.raises(ValueError, match=r"takes 1 argument\(s\) to reverse, got 0"):
        reversible.reverse_url("decode_arg")
    with pytest.raises(ValueError, match=r"takes 2 argument\(s\) to reverse, got 3"):
        reversible.reverse_url("post", 1, 2, 3)
    with pytest.raises(ValueError, match="takes 0"):
        reversible.reverse_url("favicon", "x")


@pytest.mark.parametrize(
    "pattern",
    [
        r"/v\d+/(\w+)",  # escape standing for a class outside a group
        r"/(?:a|b)/(\w+)",  # non-capturing group
        r"/((a)b)",  # nested groups
        r"/(a(b))",
        r"/x\((\w+)",  # escaped "(" outside groups
    ],
)
def test_not_reversible(pattern: str) -> None:
    spec = url(pattern, H1)  # creating it is fine
    with pytest.raises(ValueError, match="Cannot reverse"):
        spec.reverse("a", "b")


def test_escaped_paren_inside_group_reverses() -> None:
    # Tornado took the escaped ")" for the group's end and built "/x)".
    assert url(r"/(\))", H1).reverse("x") == "/x"
    assert url(r"/(\w+)\)", H1).reverse("x") == "/x)"


def test_not_reversible_through_router(reversible: ReversibleRuleRouter) -> None:
    with pytest.raises(ValueError, match="Cannot reverse"):
        reversible.reverse_url("not_reversible", "x")


def test_reverse_non_path_matcher_is_none() -> None:
    router = ReversibleRuleRouter([Rule(HostMatches("h"), H1, name="host")])
    assert router.reverse_url("host") is None


def test_duplicate_names_warn_and_last_wins(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trinado.application"):
        router = ReversibleRuleRouter([url("/first", H1, name="n"), url("/second", H2, name="n")])
    assert router.reverse_url("n") == "/second"
    assert [r.name for r in caplog.records] == ["trinado.application"]
    assert "Multiple handlers named n" in caplog.records[0].getMessage()


# --- URLSpec ---------------------------------------------------------------------------


def test_urlspec_attributes_and_repr() -> None:
    spec = URLSpec(r"/a/(\d+)", H1, {"k": 1}, name="a")
    assert url is URLSpec
    assert spec.regex.pattern == r"/a/(\d+)$"
    assert spec.handler_class is H1
    assert spec.kwargs == {"k": 1}
    assert spec.target_kwargs == {"k": 1}
    assert spec.name == "a"
    assert spec.reverse(3) == "/a/3"
    assert repr(spec) == f"URLSpec('/a/(\\\\d+)$', {H1!r}, kwargs={{'k': 1}}, name='a')"
    plain = URLSpec("/b", H2)
    assert plain.kwargs is None
    assert plain.target_kwargs == {}
    plain.handler_class = H3
    assert plain.target is H3
    assert "PathMatches('/b$')" in repr(Rule(PathMatches("/b"), H1))


# --- side by side with Tornado ---------------------------------------------------------

_PATTERNS = [
    "/",
    r"/favicon\.ico",
    r"^/a/(\d+)$",
    r"/user/(?P<name>[^/]+)/(?P<id>\d+)",
    r"/f/(.*)",
    r"/opt/(\d+)?",
    r"/v\d+/(\w+)",
    r"/(?:x|y)/(\w+)",
    r"/a\-b/(\w+)\.json",
]
_PATHS = ["/", "/favicon.ico", "/a/12", "/user/b%C3%B8b/7", "/f/a%2Fb+c", "/opt/", "/x/q"]
_ARGS: list[Any] = ["a b", "été/x", 5, b"\xff", "+%&"]


@pytest.mark.parametrize("pattern", _PATTERNS)
def test_same_as_tornado(pattern: str) -> None:
    tornado_routing = pytest.importorskip("tornado.routing")
    ours = PathMatches(pattern)
    theirs = tornado_routing.PathMatches(pattern)
    for path in _PATHS:
        assert ours.match(Req(path)) == theirs.match(Req(path)), path
    for count in range(3):
        args = _ARGS[:count]
        try:
            expected = theirs.reverse(*args)
        except (AssertionError, ValueError, TypeError):
            with pytest.raises(ValueError, match="reverse"):
                ours.reverse(*args)
        else:
            assert ours.reverse(*args) == expected
