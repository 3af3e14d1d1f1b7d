#!/usr/bin/env bash
# Python API reference: HTML docs of the `aegis` package, built by pdoc from
# the installed wheel into target/docs/python (index: target/docs/python/aegis.html).
# The compiled classes' docstrings come from the extension, their signatures
# from the package's .pyi stubs. Any warning pdoc raises (an unresolvable
# annotation, a broken stub, a stub that disagrees with the extension) fails
# the build.
#
# Uses the venv scripts/test-python.sh made (target/py-venv, the wheel
# installed); standalone, it makes that venv first (`test-python.sh
# --setup-only`, which builds the wheel if missing).
# Usage: bash scripts/docs-python.sh   (run by scripts/docs.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="target/py-venv"
OUT="target/docs/python"

if ! "$VENV/bin/python" -c 'import aegis' >/dev/null 2>&1; then
    echo "--> no venv with the wheel installed: scripts/test-python.sh --setup-only"
    bash scripts/test-python.sh --setup-only
fi
echo "--> pip install pdoc (into $VENV)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary :all: "pdoc>=15,<17"

echo "--> pdoc aegis -> $OUT"
rm -rf "$OUT"
mkdir -p "$OUT"
OUT="$PWD/$OUT"
# Run from target/ so that nothing in the repository shadows the installed package.
(cd target && "../$VENV/bin/python" - "$OUT" <<'PY')
"""pdoc for `aegis`, whose classes live in the extension `aegis._aegis`.

pdoc reads a module's stubs from a .pyi of the same name: `aegis` has none,
its classes are typed in `_aegis.pyi`. So the stubs of `aegis._aegis` serve
`aegis`, for signatures and annotations only: the extension's docstrings
(the full ones) stay, the stubs' shorter ones fill in where it has none.
"""

import sys
import warnings

import pdoc
import pdoc.doc_pyi

find_stub_file = pdoc.doc_pyi.find_stub_file
patch_doc = pdoc.doc_pyi._patch_doc


def find_aegis_stub(module_name):
    return find_stub_file("aegis._aegis" if module_name == "aegis" else module_name)


def patch_keeping_docstrings(target, stub_module):
    docstring = target.docstring
    patch_doc(target, stub_module)
    if docstring:
        target.docstring = docstring


pdoc.doc_pyi.find_stub_file = find_aegis_stub
pdoc.doc_pyi._patch_doc = patch_keeping_docstrings
pdoc.render.configure(docformat="markdown", search=False)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    pdoc.pdoc("aegis", output_directory=__import__("pathlib").Path(sys.argv[1]))
if caught:
    for w in caught:
        print(f"pdoc: {w.category.__name__}: {w.message}", file=sys.stderr)
    sys.exit("pdoc printed warnings (see above)")
PY
test -s "$OUT/aegis.html"
grep -q 'stdin' "$OUT/aegis.html" || { echo "the stubs' signatures are missing from $OUT/aegis.html" >&2; exit 1; }
echo "    $OUT/aegis.html ($(find "$OUT" -name '*.html' | wc -l) pages)"
