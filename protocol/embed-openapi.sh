#!/bin/sh
# Copies protocol/openapi.json into the API target, which serves it at /openapi.json.
# Run after editing the document; APITests fails while the two differ.
set -eu
cd "$(dirname "$0")/.."
out=Sources/API/OpenAPI/OpenAPIDocument.swift
{
  echo '/// The OpenAPI 3.1 document of the API, served at `/openapi.json`. Generated from'
  echo '/// protocol/openapi.json by protocol/embed-openapi.sh (a test checks the two are equal).'
  echo 'enum OpenAPIDocument {'
  echo '    static let json = ##"""'
  cat protocol/openapi.json
  echo '"""##'
  echo '}'
} > "$out"
echo "wrote $out"
