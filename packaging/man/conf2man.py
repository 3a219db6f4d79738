#!/usr/bin/env python3
"""Renders kha.yaml(5) from the annotated default configuration.

The source is packaging/kha.yaml, the very file the package installs as
/etc/kha/kha.yaml: its opening comment becomes DESCRIPTION, the comment above
each key becomes that key's entry under KEYS (with the value shown as the
default or example), and the file itself, comments removed, becomes EXAMPLE.
tests/integration/test_packaging.py checks that every field of
src/config/schema.h has a key here, so the page cannot drift from the schema.

usage: conf2man.py SOURCE.yaml VERSION OUTPUT.5
"""
import re
import sys

KEY_RE = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<key>[a-z_]+):(?: (?P<value>.*))?$")


def roff_escape(text):
    text = text.replace("\\", "\\e")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def parse(lines):
    """Returns (description paragraphs, [(path, value, comment)]) in file order."""
    description, paragraph = [], []
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        text = lines[i][1:].strip()
        if text:
            paragraph.append(text)
        elif paragraph:
            description.append(" ".join(paragraph))
            paragraph = []
        i += 1
    if paragraph:
        description.append(" ".join(paragraph))

    entries, seen = [], set()
    stack = []  # (indent, name, is_list)
    comment = []
    for line in lines[i:]:
        stripped = line.strip()
        if not stripped:
            comment = []
            continue
        if stripped.startswith("#"):
            comment.append(stripped[1:].strip())
            continue
        m = KEY_RE.match(line)
        if not m:
            raise SystemExit(f"conf2man: cannot parse line: {line!r}")
        indent = len(m.group("indent")) + (2 if m.group("dash") else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if m.group("dash") and stack:
            stack[-1] = (stack[-1][0], stack[-1][1], True)
        parents = [name + ("[]" if is_list else "") for _, name, is_list in stack]
        path = ".".join(parents + [m.group("key")])
        value = (m.group("value") or "").strip()
        if path not in seen:
            seen.add(path)
            entries.append((path, value, " ".join(comment)))
        comment = []
        if not value:
            # A mapping or a list follows; a list is recognised by its first item.
            stack.append((indent, m.group("key"), False))
    # A key holding a list is shown as key[], as its items' paths are.
    paths = [p for p, _, _ in entries]
    entries = [(p + "[]" if any(q.startswith(p + "[].") for q in paths) else p, v, c) for p, v, c in entries]
    return description, entries


def render(source, version):
    lines = open(source, encoding="utf-8").read().splitlines()
    description, entries = parse(lines)
    out = [
        '.TH KHA.YAML 5 "" "kha %s" "kha manual"' % version,
        ".SH NAME",
        "kha.yaml \\- configuration file of kha proxy and kha vip",
        ".SH SYNOPSIS",
        ".B /etc/kha/kha.yaml",
        ".SH DESCRIPTION",
    ]
    for paragraph in description:
        out += [roff_escape(paragraph), ".PP"]
    out += [
        "The same file feeds",
        ".BR \"kha proxy \\-\\-config\" ,",
        ".BR \"kha check-config\" ,",
        "and, from its",
        ".B vip:",
        "section,",
        ".BR \"kha vip\" .",
        "The proxy accepts and ignores the",
        ".B vip:",
        "and",
        ".B discovery:",
        "sections.",
        ".SH KEYS",
        "A key written a.b is key b inside mapping a; a[] is a list of mappings.",
    ]
    for path, value, comment in entries:
        if not value and not comment:
            continue
        out += [".TP", ".B " + roff_escape(path)]
        text = comment
        if value:
            text = (text + " " if text else "") + "Value shown: " + value + "."
        out.append(roff_escape(text))
    out += [".SH EXAMPLE", "The node-local load balancer this package installs:", ".PP", ".nf", ".RS 4"]
    for line in lines:
        if line.strip().startswith("#") or not line.strip():
            continue
        out.append(roff_escape(line))
    out += [
        ".RE",
        ".fi",
        ".SH FILES",
        ".TP",
        ".B /etc/kha/kha.yaml",
        "Read by kha-proxy.service and kha-vip.service.",
        ".SH SEE ALSO",
        ".BR kha (1),",
        ".BR kha-proxy (1),",
        ".BR kha-plan (1),",
        ".BR systemctl (1)",
    ]
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[3], "w", encoding="utf-8") as f:
        f.write(render(argv[1], argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
