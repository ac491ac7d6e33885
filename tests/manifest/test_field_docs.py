"""The spec models' attribute docstrings are the fields' descriptions in the manifest reference and the JSON
schema, and are read only there: importing the models reads no source (it cost 20-40 ms of every start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

COUNT_SOURCE_READS = """
import inspect
reads = []
for name in ("getsource", "getsourcelines", "findsource"):
    real = getattr(inspect, name)
    def counted(*args, _real=real, _name=name, **kwargs):
        reads.append(_name)
        return _real(*args, **kwargs)
    setattr(inspect, name, counted)
"""


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_spec_models_reads_no_source() -> None:
    code = COUNT_SOURCE_READS + "import reconciler.model.spec\nprint(len(reads))\n"
    assert _python(code) == "0"


def test_the_documents_carry_the_descriptions_whether_a_model_validated_before_or_not() -> None:
    check = (
        "import json\n"
        "from reconciler.manifest.jsonschema import COMMITTED_SCHEMA, manifest_json_schema\n"
        "from reconciler.manifest.reference import DOC_PATH, render_reference\n"
        "print(render_reference() == DOC_PATH.read_text(encoding='utf-8'),\n"
        "      manifest_json_schema() == json.loads(open(COMMITTED_SCHEMA, encoding='utf-8').read()))\n"
    )
    assert _python(check) == "True True"  # no model built yet
    validated_first = "from reconciler.manifest import load\nload('manifests')\n" + check
    assert _python(validated_first) == "True True"  # the built validators are rebuilt with descriptions
    described = (
        "from reconciler.model.spec import DataImport, document_fields\n"
        "document_fields()\n"
        "print(DataImport.model_fields['trigger'].description)\n"
    )
    assert _python(described) == "Any string; changing it requests a new import of the same object."


def test_without_the_source_the_schema_has_no_descriptions_but_no_error() -> None:
    code = (
        "import inspect\n"
        "def missing(*args, **kwargs):\n"
        "    raise OSError('could not get source code')\n"
        "inspect.getsource = missing\n"
        "from reconciler.manifest.jsonschema import manifest_json_schema\n"
        "print(len(manifest_json_schema()['definitions']) > 0)\n"
    )
    assert _python(code) == "True"
