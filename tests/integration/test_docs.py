"""Docs stay true: every method the broker describes is documented."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_method_is_in_protocol_md(client):
    with open(os.path.join(ROOT, "docs", "protocol.md")) as f:
        doc = f.read()
    documented = set(re.findall(r"^### `([a-z_]+)`", doc, re.M))
    described = {m["name"] for m in client.call("describe")["methods"]}
    assert described - documented == set(), "undocumented methods"
    assert documented - described == set(), "documented methods the broker does not have"
    for n in client.call("describe")["notifications"]:
        assert "`%s`" % n["name"] in doc


def test_every_method_has_an_example_and_fences_close():
    with open(os.path.join(ROOT, "docs", "protocol.md")) as f:
        doc = f.read()
    assert doc.count("```") % 2 == 0, "an unclosed code fence"
    # each method section holds a JSON example that calls it
    sections = re.split(r"^### ", doc, flags=re.M)[1:]
    for sec in sections:
        m = re.match(r"`([a-z_]+)`", sec)
        if not m:
            continue
        name = m.group(1)
        assert re.search(r'```json\n(?:.*\n)*?→ \[0, \d+, "%s"' % name, sec), "no example for " + name
