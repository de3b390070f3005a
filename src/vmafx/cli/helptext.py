"""Command help as Markdown that keeps its examples one per line.

`vmafx --help` texts are Markdown (`rich_markup_mode="markdown"`): prose paragraphs are reflowed
to the terminal, and examples are indented four spaces, a Markdown code block, kept as written.
Typer dedents the text after the first paragraph before rendering it, though: when every line
there but the first is indented (a one-line paragraph followed by examples, as in `vmafx up`),
the examples lose their indent, become prose and are run together into one line. Fenced blocks
(```) survive any dedent, so `examples_kept` turns each indented block into one.
"""

from __future__ import annotations

INDENT = "    "
FENCE = "```"


def examples_kept(text: str) -> str:
    """`text` with every block of four-space-indented lines (after a blank line) fenced."""
    out: list[str] = []
    block: list[str] = []
    previous_blank = True

    def flush() -> None:
        if block:
            while block and not block[-1].strip():
                block.pop()
            out.extend([FENCE, *block, FENCE, ""])
            block.clear()

    for line in text.splitlines():
        indented = line.startswith(INDENT) and bool(line.strip())
        if indented and (block or previous_blank):
            block.append(line.removeprefix(INDENT))
        elif block and not line.strip():
            block.append("")
        else:
            flush()
            out.append(line)
        previous_blank = not line.strip()
    flush()
    return "\n".join(out).rstrip("\n") + "\n"
