"""Rust parameters for papermill.

`papermill -p lr 0.01 in.ipynb out.ipynb` needs a translator for the
notebook's language. This module registers one for Rust (language "rust",
kernel "sluice"); papermill finds it through the `papermill.engine` entry
point of this package, which it loads whenever it is imported.

Each parameter becomes a typed `let`, so the injected cell shadows the
parameters cell's variables with the same types:

    let lr: f64 = 0.01;
    let epochs: i64 = 10;
    let name: String = String::from("run-a");
    let verbose: bool = true;
    let sizes: Vec<i64> = vec![32, 64];

Declare the parameters cell's variables with these types (f64, i64, String,
bool, Vec<...>) and later cells see the injected values unchanged.
"""

import math
import re
import sys

if "papermill" not in sys.modules:
    # Imported before papermill: importing papermill loads its engine entry
    # points, which import this module again. Step aside so that import gets
    # a fresh, complete module (it becomes the one in sys.modules).
    del sys.modules[__name__]
    import papermill  # noqa: F401

from papermill.engines import NBClientEngine
from papermill.exceptions import PapermillException
from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators

RUST_KEYWORDS = {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async",
    "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual", "yield", "try", "gen",
}
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def rust_str(s):
    """A Rust string literal holding `s`."""
    out = []
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class RustTranslator(Translator):
    """Python parameter values as Rust expressions with explicit types."""

    @classmethod
    def rust_type(cls, val):
        if isinstance(val, bool):
            return "bool"
        if isinstance(val, int):
            return "i64"
        if isinstance(val, float):
            return "f64"
        if isinstance(val, str):
            return "String"
        if isinstance(val, list):
            return f"Vec<{cls.element_type(val)}>"
        if isinstance(val, dict):
            return f"std::collections::BTreeMap<String, {cls.element_type(list(val.values()))}>"
        if val is None:
            raise PapermillException("a None parameter has no Rust type; pass a value")
        raise PapermillException(f"cannot translate {type(val).__name__} to Rust")

    @classmethod
    def element_type(cls, values):
        types = {cls.rust_type(v) for v in values}
        if types <= {"i64", "f64"} and "f64" in types:
            return "f64"
        if len(types) == 1:
            return types.pop()
        if not types:
            raise PapermillException("an empty list or map has no Rust element type; give at least one value")
        raise PapermillException(f"a list or map mixes Rust types {sorted(types)}")

    @classmethod
    def typed(cls, val, ty):
        """`val` as an expression of Rust type `ty`."""
        if ty == "f64":
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise PapermillException(f"{val!r} is not a number")
            if math.isnan(val):
                return "f64::NAN"
            if math.isinf(val):
                return "f64::INFINITY" if val > 0 else "f64::NEG_INFINITY"
            return repr(float(val))
        if ty == "i64":
            if not -(2**63) <= val < 2**63:
                raise PapermillException(f"{val} does not fit in an i64")
            return str(val)
        if ty == "bool":
            return "true" if val else "false"
        if ty == "String":
            return f"String::from({rust_str(val)})"
        if ty.startswith("Vec<"):
            inner = ty[4:-1]
            return "vec![" + ", ".join(cls.typed(v, inner) for v in val) + "]"
        if ty.startswith("std::collections::BTreeMap<String, "):
            inner = ty[len("std::collections::BTreeMap<String, "):-1]
            pairs = ", ".join(f"(String::from({rust_str(str(k))}), {cls.typed(v, inner)})"
                              for k, v in val.items())
            return f"std::collections::BTreeMap::from([{pairs}])"
        raise PapermillException(f"cannot translate {val!r} to Rust")

    @classmethod
    def translate(cls, val):
        return cls.typed(val, cls.rust_type(val))

    @classmethod
    def comment(cls, cmt_str):
        return f"// {cmt_str}".strip()

    @classmethod
    def inspect(cls, parameters_cell):
        """The parameters cell's `let NAME: TYPE = VALUE;` statements, as
        papermill's `--help-notebook` lists them (the type as written, or
        "None" when the cell does not write one; a `//` comment after the
        `;` is the help). Anything else in the cell is passed over."""
        source = parameters_cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        params = []
        for stmt, help_text in statements(source):
            m = LET.match(stmt)
            if not m:
                continue
            _, name, ty, default = m.groups()
            params.append(Parameter(
                name=name,
                inferred_type_name=" ".join(ty.split()) if ty else "None",
                default=" ".join(default.split()),
                help=help_text,
            ))
        return params

    @classmethod
    def codify(cls, parameters, comment="Parameters"):
        lines = [cls.comment(comment)]
        for name, val in parameters.items():
            if not IDENT.match(name):
                raise PapermillException(f"parameter name {name!r} is not a Rust identifier")
            ident = f"r#{name}" if name in RUST_KEYWORDS else name
            ty = cls.rust_type(val)
            lines.append(f"let {ident}: {ty} = {cls.typed(val, ty)};")
        return "\n".join(lines) + "\n"


LET = re.compile(r"^let\s+(?:mut\s+)?(r#)?([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*(.+?))?\s*=\s*(.+)$", re.S)


def statements(source):
    """`(statement, trailing comment)` pairs of Rust source: statements end
    at a `;` outside brackets and string literals; `//` comments are taken
    out, and the one on a statement's last line is its help."""
    out, cur, depth, i, n = [], [], 0, 0, len(source)
    quoted = False
    while i < n:
        ch = source[i]
        if quoted:
            cur.append(ch)
            if ch == "\\" and i + 1 < n:
                cur.append(source[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == '"':
            quoted = True
            cur.append(ch)
        elif ch in "([{":
            depth += 1
            cur.append(ch)
        elif ch in ")]}":
            depth -= 1
            cur.append(ch)
        elif ch == ";" and depth <= 0:
            # The help is a comment on the same line as the `;`.
            rest = source[i + 1:source.find("\n", i) if source.find("\n", i) >= 0 else n]
            comment = rest.strip()[2:].strip() if rest.strip().startswith("//") else ""
            out.append(("".join(cur).strip(), comment))
            cur = []
        else:
            cur.append(ch)
        i += 1
    return out


class SluiceEngine(NBClientEngine):
    """papermill's nbclient engine under the name `sluice`; it exists so that
    papermill imports this module (and with it the Rust translator)."""


for _name in ("rust", "Rust", "sluice"):
    papermill_translators.register(_name, RustTranslator)
