"""Check decoded msgpack values against the shape trees `describe` answers.

A shape tree (common/shape.h) is a map with a `kind`: a scalar (str, int,
float, bool, bin, nil, any), a literal string, a ref to a named shape, an
array, a dict (string keys), a record (fields, each maybe optional; open
records may carry more keys) or a union. check() returns a list of
"path: what is wrong" strings, empty when the value fits.
"""


class Protocol:
    """The broker's describe answer, indexed."""

    def __init__(self, describe):
        self.describe = describe
        self.methods = {m["name"]: m for m in describe["methods"]}
        self.notifications = {n["name"]: n for n in describe["notifications"]}
        self.shapes = {s["name"]: s["shape"] for s in describe["shapes"]}

    def check_result(self, method, value):
        return check(value, self.methods[method]["result_shape"], self.shapes, method)

    def check_error(self, err, method="?"):
        return check(err, {"kind": "ref", "name": "error"}, self.shapes, method + ":error")

    def check_notification(self, name, params):
        if name not in self.notifications:
            return ["%s: a notification describe does not list" % name]
        return check(params, self.notifications[name]["shape"], self.shapes, name)


def _scalar(value, kind):
    if kind == "any":
        return True
    if kind == "nil":
        return value is None
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "bin":
        return isinstance(value, (bytes, bytearray))
    raise AssertionError("unknown scalar kind %r" % kind)


def check(value, shape, shapes, path="$"):
    if shape is None:
        return ["%s: the declared shape does not parse" % path]
    kind = shape["kind"]
    if kind in ("any", "nil", "bool", "int", "float", "str", "bin"):
        if _scalar(value, kind):
            return []
        return ["%s: expected %s, got %s %r" % (path, kind, type(value).__name__, _short(value))]
    if kind == "literal":
        if value == shape["value"]:
            return []
        return ["%s: expected \"%s\", got %r" % (path, shape["value"], _short(value))]
    if kind == "ref":
        if shape["name"] not in shapes:
            return ["%s: unknown named shape @%s" % (path, shape["name"])]
        return check(value, shapes[shape["name"]], shapes, path + "@" + shape["name"])
    if kind == "array":
        if not isinstance(value, list):
            return ["%s: expected an array, got %s" % (path, type(value).__name__)]
        errs = []
        for i, v in enumerate(value):
            errs += check(v, shape["of"], shapes, "%s[%d]" % (path, i))
            if len(errs) > 20:
                break
        return errs
    if kind == "dict":
        if not isinstance(value, dict):
            return ["%s: expected a map, got %s" % (path, type(value).__name__)]
        errs = []
        for k, v in value.items():
            if not isinstance(k, str):
                errs.append("%s: a key that is not a string: %r" % (path, k))
            errs += check(v, shape["of"], shapes, "%s.%s" % (path, k))
        return errs
    if kind == "record":
        if not isinstance(value, dict):
            return ["%s: expected a map, got %s %r" % (path, type(value).__name__, _short(value))]
        errs = []
        names = set()
        for f in shape["fields"]:
            names.add(f["name"])
            if f["name"] not in value:
                if not f["optional"]:
                    errs.append("%s: key %s missing" % (path, f["name"]))
                continue
            errs += check(value[f["name"]], f["type"], shapes, "%s.%s" % (path, f["name"]))
        if not shape["open"]:
            for k in value:
                if k not in names:
                    errs.append("%s: key %s is not declared" % (path, k))
        return errs
    if kind == "union":
        best = None
        for alt in shape["of"]:
            errs = check(value, alt, shapes, path)
            if not errs:
                return []
            if best is None or len(errs) < len(best):
                best = errs
        return ["%s: fits none of the alternatives; closest: %s" % (path, "; ".join(best[:3]))]
    raise AssertionError("unknown shape kind %r" % kind)


def _short(v):
    r = repr(v)
    return r if len(r) < 80 else r[:77] + "..."
