"""Adding phrasings to an entry's front matter without disturbing anything else in the file.

The YAML is round-tripped with ruamel.yaml, so the maintainers' comments, key order and
quoting survive; the Markdown body is left byte for byte as it was.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from ruamel.yaml import YAML

FENCE = "---"


class EntryEditError(ValueError):
    """The entry file has no front matter to edit."""


def add_phrasings(path: Path, phrasings: Sequence[str]) -> list[str]:
    """Append ``phrasings`` to the entry's ``questions`` (skipping ones it already has);
    returns those added."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if not lines or lines[0].strip() != FENCE:
        raise EntryEditError(f"{path}: no front matter (the file must start with ---)")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
    except StopIteration:
        raise EntryEditError(f"{path}: front matter is not closed with ---") from None
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load("\n".join(lines[1:end]))
    questions = data.setdefault("questions", [])
    known = {str(q).casefold() for q in questions}
    added = [p for p in dict.fromkeys(phrasings) if p.casefold() not in known]
    questions.extend(added)
    out = io.StringIO()
    yaml.dump(data, out)
    path.write_text("\n".join([FENCE, out.getvalue().rstrip("\n"), *lines[end:]]), encoding="utf-8")
    return added
