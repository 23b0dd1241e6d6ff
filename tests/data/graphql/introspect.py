"""Writes notes.introspection.json, the result of the standard introspection
query against notes.graphql, with graphql-core (pip install graphql-core==3.2.8):

    python3 tests/data/graphql/introspect.py
"""

import json
import pathlib

from graphql import build_schema, introspection_from_schema

here = pathlib.Path(__file__).parent
schema = build_schema((here / "notes.graphql").read_text())
result = introspection_from_schema(schema)
(here / "notes.introspection.json").write_text(json.dumps(result, indent=1) + "\n")
