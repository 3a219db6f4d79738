#!/usr/bin/env python3
"""Renders kha.yaml(5) from the config reference and the default configuration.

With --markdown docs/config.md (the config reference, which quotes
src/config/schema.h), that document becomes the page: its introduction is
DESCRIPTION, each "##" section a section, each table row an entry. Without it,
the comments of SOURCE.yaml are the reference: its opening comment becomes
DESCRIPTION and the comment above each key that key's entry under KEYS.
Either way SOURCE.yaml (packaging/kha.yaml, the very file the package installs
as /etc/kha/kha.yaml), comments removed, becomes EXAMPLE.
tests/integration/test_packaging.py checks that every field of
src/config/schema.h appears in the page and has a key in SOURCE.yaml.

usage: conf2man.py [--markdown CONFIG.md] SOURCE.yaml VERSION OUTPUT.5
"""
import re
import sys

KEY_RE = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<key>[a-z_]+):(?: (?P<value>.*))?$")


def roff_escape(text):
    text = text.replace("\\", "\\e")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def inline(text):
    """Markdown inline markup to roff: `code` bold, [text](link) as text."""
    text = roff_escape(text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    return re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def markdown_to_roff(md):
    """Returns (description lines, section lines) for the subset docs/config.md uses:
    headings, paragraphs, "- " lists, fenced code and tables (one .TP entry per row)."""
    description, sections = [], []
    out = description
    lines = md.splitlines()
    i = 0
    paragraph = []

    def flush():
        if paragraph:
            out.extend([inline(" ".join(paragraph)), ".PP"])
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("# "):
            i += 1
            continue
        if line.startswith("## "):
            flush()
            out = sections
            title = line[3:].strip()
            plain = title.replace("`", "")
            out.append('.SH "%s"' % (plain.upper() if "`" not in title else plain))
        elif line.startswith("```"):
            flush()
            out.extend([".RS 4", ".nf"])
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(roff_escape(lines[i]))
                i += 1
            out.extend([".fi", ".RE", ".PP"])
        elif line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-| :]+\|$", lines[i + 1].strip()):
            flush()
            header = cells(line)
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                row = cells(lines[i])
                out.extend([".TP", inline(row[0])])
                parts = []
                for name, value in zip(header[1:], row[1:]):
                    if not value:
                        continue
                    if name in ("meaning", "message"):
                        value = value[0].upper() + value[1:]
                        parts.append(value if value.endswith((".", ")", "`")) else value + ".")
                    else:
                        parts.append(f"{name.capitalize()}: {value}.")
                out.append(inline(" ".join(parts)))
                i += 1
            out.append(".PP")
            continue
        elif line.startswith("- "):
            flush()
            out.extend([".IP \\(bu 2", inline(line[2:].strip())])
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
        i += 1
    flush()
    return description, sections


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


def render(source, version, markdown=None):
    lines = open(source, encoding="utf-8").read().splitlines()
    description, entries = parse(lines)
    md_description, md_sections = [], []
    if markdown:
        md_description, md_sections = markdown_to_roff(open(markdown, encoding="utf-8").read())
        description = []
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
    out += md_description
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
    ]
    out += md_sections
    if not markdown:
        out += [".SH KEYS", "A key written a.b is key b inside mapping a; a[] is a list of mappings."]
    for path, value, comment in [] if markdown else entries:
        if not value and not comment:
            continue
        out += [".TP", ".B " + roff_escape(path)]
        text = comment
        if value:
            text = (text + " " if text else "") + "Value shown: " + value + "."
        out.append(roff_escape(text))
    out += [".SH EXAMPLE", "The node-local load balancer this package installs as /etc/kha/kha.yaml:", ".PP",
            ".RS 4", ".nf"]
    for line in lines:
        if line.strip().startswith("#") or not line.strip():
            continue
        out.append(roff_escape(line))
    out += [
        ".fi",
        ".RE",
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
    markdown = None
    if len(argv) > 2 and argv[1] == "--markdown":
        markdown = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[3], "w", encoding="utf-8") as f:
        f.write(render(argv[1], argv[2], markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
