#!/usr/bin/env python3
"""opts_openapi: checks that api/openapi.yaml's JobSpec schema agrees with core's option
table (core/cluster_opts.def, as `deepclust train --options-json` prints it): the same
options, and for each its type, range, names, default and methods' own defaults
(x-method-defaults). Standard library only: it reads the YAML subset the document uses
(block mappings and sequences, flow lists of scalars, folded and plain scalars).

usage: opts_openapi.py OPTIONS.json OPENAPI.yaml   (exit 1 and one line per disagreement)
"""
import json
import re
import sys


def scalar(t):
    t = t.strip()
    if t.startswith("[") and t.endswith("]"):
        inner = t[1:-1].strip()
        return [scalar(x) for x in inner.split(",")] if inner else []
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    if t in ("true", "false"):
        return t == "true"
    if t in ("null", "~"):
        return None
    if re.fullmatch(r"-?\d+", t):
        return int(t)
    if re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", t):
        return float(t)
    return t


def parse_yaml(text):
    """Block mappings / sequences by indentation; scalars by scalar()."""
    lines = []
    for raw in text.splitlines():
        s = raw.rstrip()
        if not s.strip() or s.lstrip().startswith("#"):
            continue
        lines.append((len(s) - len(s.lstrip()), s.strip()))
    pos = 0

    def block(ind):
        nonlocal pos
        if pos < len(lines) and lines[pos][1].startswith("- "):
            out = []
            while pos < len(lines) and lines[pos][0] == ind and lines[pos][1].startswith("- "):
                # "- key: v" opens a mapping at ind + 2
                lines[pos] = (ind + 2, lines[pos][1][2:])
                out.append(block(ind + 2))
            return out
        out = {}
        while pos < len(lines) and lines[pos][0] == ind:
            m = re.match(r'("[^"]*"|[^:]+):(?:\s+(.*))?$', lines[pos][1])
            if not m:
                raise ValueError("cannot read line: " + lines[pos][1])
            key, val = scalar(m.group(1)), (m.group(2) or "")
            pos += 1
            if val in (">-", ">", "|", "|-"):
                parts = []
                while pos < len(lines) and lines[pos][0] > ind:
                    parts.append(lines[pos][1])
                    pos += 1
                out[key] = " ".join(parts)
            elif val:
                out[key] = scalar(val)
                while pos < len(lines) and lines[pos][0] > ind:  # a plain scalar's next lines
                    out[key] = str(out[key]) + " " + lines[pos][1]
                    pos += 1
            elif pos < len(lines) and lines[pos][0] > ind:
                out[key] = block(lines[pos][0])
            elif pos < len(lines) and lines[pos][0] == ind and lines[pos][1].startswith("- "):
                out[key] = block(ind)
            else:
                out[key] = None
        return out

    return block(lines[0][0] if lines else 0)


def main():
    table = json.load(open(sys.argv[1]))
    text = open(sys.argv[2]).read()
    schemas = {}

    def schema(name):
        """components.schemas.<name>: the lines under "    <name>:" (the schemas' indent)."""
        if name not in schemas:
            m = re.search(r"^components:\n(?:.*\n)*?  schemas:\n(?:.*\n)*?    " + re.escape(name) +
                          r":\n((?:(?: {5,}.*)?\n)*)", text, re.M)
            if not m:
                raise KeyError("no schema " + name + " in " + sys.argv[2])
            schemas[name] = parse_yaml(m.group(1))
        return schemas[name]

    spec = schema("JobSpec")
    errors = []

    def err(msg):
        errors.append(msg)

    def deref(s):
        """A $ref's schema with the keywords beside the $ref (OpenAPI 3.1) over it."""
        while isinstance(s, dict) and "$ref" in s:
            here = {k: v for k, v in s.items() if k != "$ref"}
            s = dict(schema(s["$ref"].split("/")[-1]))
            s.update(here)
        return s

    def close(a, b):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
                and not isinstance(b, bool):
            return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
        return a == b

    def schema_of(path):
        """The schema of a JSON path, and the set of names beside it."""
        parts = path.split(".")
        s = spec
        for i, p in enumerate(parts):
            props = s.get("properties") if isinstance(s, dict) else None
            if props is None and isinstance(s, dict) and "oneOf" in s:
                objs = [o for o in s["oneOf"] if o.get("type") == "object"]
                props = objs[0].get("properties") if objs else None
            if not props or p not in props:
                return None
            s = deref(props[p])
        return s

    opts = [o for o in table["options"] if not o["derived"]]
    known = {o["json"] for o in opts}
    # every property of JobSpec (and of its sections) is an option of the table
    for name, s in spec["properties"].items():
        s = deref(s)
        if name == "dataset":
            continue
        subs = s.get("properties") if isinstance(s, dict) else None
        if subs is None and isinstance(s, dict) and "oneOf" in s:
            subs = next((o.get("properties") for o in s["oneOf"] if o.get("type") == "object"), None)
        if subs:
            for k in subs:
                if name + "." + k not in known:
                    err(f"openapi has {name}.{k}, the option table does not")
        elif name not in known:
            err(f"openapi has {name}, the option table does not")
    req = sorted(["dataset"] + [o["json"] for o in opts if o["required"]])
    if sorted(spec.get("required", [])) != req:
        err(f"JobSpec.required is {spec.get('required')}, the table says {req}")

    for o in opts:
        p, t = o["json"], o["type"]
        s = schema_of(p)
        if s is None:
            err(f"{p}: in the option table, not in openapi's JobSpec")
            continue
        want_type = {"integer": "integer", "seed": "integer", "number": "number",
                     "boolean": "boolean", "enum": "string", "widths": "array"}[t]
        if o["nullable"]:
            want_type = [want_type, "null"]
        if s.get("type") != want_type:
            err(f"{p}: type {s.get('type')!r}, the table says {want_type!r}")
        if t == "enum":
            if sorted(s.get("enum", [])) != sorted(o["names"]):
                err(f"{p}: enum {s.get('enum')}, the table says {o['names']}")
        elif t == "widths":
            items = s.get("items", {})
            if s.get("minItems") != 1 or s.get("maxItems") != table["max_widths"]:
                err(f"{p}: items {s.get('minItems')}..{s.get('maxItems')}, the table says "
                    f"1..{table['max_widths']}")
            if items.get("type") != "integer" or not close(items.get("minimum"), o["lo"]) or \
                    not close(items.get("maximum"), o["hi"]):
                err(f"{p}: widths {items.get('type')} in [{items.get('minimum')}, "
                    f"{items.get('maximum')}], the table says integer in [{o['lo']}, {o['hi']}]")
        elif t != "boolean":
            lo_key = "exclusiveMinimum" if o["lo_open"] else "minimum"
            other = "minimum" if o["lo_open"] else "exclusiveMinimum"
            if not close(s.get(lo_key), o["lo"]) or other in s:
                err(f"{p}: {lo_key} {s.get(lo_key)} ({other} {s.get(other)}), the table says "
                    f"{lo_key} {o['lo']}")
            if not close(s.get("maximum"), o["hi"]):
                err(f"{p}: maximum {s.get('maximum')}, the table says {o['hi']}")
        if o["required"]:
            if "default" in s:
                err(f"{p}: required, but openapi gives a default")
            continue
        if "default" not in s or not close(s["default"], o["default"]):
            err(f"{p}: default {s.get('default', '(none)')!r}, the table says {o['default']!r}")
        md = s.get("x-method-defaults") or {}
        if sorted(md) != sorted(o["method_defaults"]) or \
                any(not close(md[k], v) for k, v in o["method_defaults"].items() if k in md):
            err(f"{p}: x-method-defaults {md}, the table says {o['method_defaults']}")
    for e in errors:
        print("FAIL: " + e)
    if not errors:
        print(f"ok: {len(opts)} options of the table agree with JobSpec")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
