"""act/_act.pyi against the extension's own signatures: every public name of act._act has a stub, and every
stubbed function and method has the parameters the module reports (names, order, keyword-only, defaults)."""

import ast
import pathlib
import re

import act
import act._act as module

STUBS = pathlib.Path(act.__file__).with_name("_act.pyi")


def stub_tree():
    return ast.parse(STUBS.read_text())


def stub_classes(tree):
    """{class name: {member name: [FunctionDef, ...]}}, members of stub-only bases (names starting with '_') merged in."""
    raw = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def members(node):
        out = {}
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in raw:
                out.update(members(raw[base.id]))
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                out.setdefault(item.name, []).append(item)
        return out

    return {name: members(node) for name, node in raw.items()}


def stub_parameters(fn):
    """[(name, keyword_only, has_default)] of a stubbed def, without self."""
    args = fn.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    out = [(a.arg, False, d is not None) for a, d in zip(positional, defaults)]
    out += [(a.arg, True, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return [p for p in out if p[0] != "self"]


def split_top_level(text):
    """Splits a parameter list at commas outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def module_signatures(obj, name):
    """[[(name, keyword_only, has_default)], ...] from pybind11's docstring lines (one per overload)."""
    doc = obj.__doc__ or ""
    lines = re.findall(rf"^(?:\d+\. )?{re.escape(name)}\((.*)\) -> ", doc, flags=re.M)
    assert lines, f"{name}: no signature in its docstring"
    out = []
    for line in lines:
        params, keyword_only = [], False
        for part in split_top_level(line):
            if part == "*":
                keyword_only = True
                continue
            pname = part.split(":")[0].strip()
            if pname == "self" or pname.startswith("*"):
                continue
            params.append((pname, keyword_only, "=" in part))
        out.append(params)
    return out


def check(obj, name, stubbed):
    expected = module_signatures(obj, name)
    got = [stub_parameters(fn) for fn in stubbed]
    assert sorted(map(str, got)) == sorted(map(str, expected)), f"{name}: stub {got} but the module says {expected}"


def public(names):
    return [n for n in names if not n.startswith("__") or n in ("__init__", "__getitem__", "__contains__", "__len__",
                                                              "__iter__", "__eq__")]


def test_every_function_has_a_matching_stub():
    tree = stub_tree()
    functions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions.setdefault(node.name, []).append(node)
    for name, obj in vars(module).items():
        if callable(obj) and not isinstance(obj, type):
            assert name in functions, f"act._act.{name} has no stub"
            check(obj, name, functions[name])
    assert set(functions) <= set(vars(module)), f"stubs for missing functions: {set(functions) - set(vars(module))}"


def test_every_class_member_has_a_matching_stub():
    classes = stub_classes(stub_tree())
    for name, cls in vars(module).items():
        if not isinstance(cls, type):
            continue
        assert name in classes, f"act._act.{name} has no stub"
        if issubclass(cls, BaseException):
            continue
        stubbed = classes[name]
        for member in public(vars(cls)):
            value = vars(cls)[member]
            if member == "__init__" and "Initialize self" in (value.__doc__ or ""):
                continue  # no constructor from Python (act.Fit)
            assert member in stubbed, f"act._act.{name}.{member} has no stub"
            if isinstance(value, property):
                assert any(any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list)
                           for fn in stubbed[member]), f"{name}.{member} is a property"
                continue
            function = value.__func__ if isinstance(value, staticmethod) else value
            check(function, member, [fn for fn in stubbed[member]])
        for member in stubbed:
            assert member in vars(cls) or member == "__init__", f"stub for missing member {name}.{member}"


def test_the_package_is_marked_typed():
    assert STUBS.with_name("py.typed").exists()
