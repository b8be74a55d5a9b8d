#!/usr/bin/env bash
# The library is model-agnostic: no file under lib/ or include/ may name a
# host recommender (lightgcn, sgl, simgcl; case-insensitive). Hosts live in
# examples/. Allowed, each for the reason given: mentions of the LightGCN
# TEXT FORMAT of the data files (the format's name, docs/data-format.md), of
# the normalisation irllrec_graph computes (named after the model that
# introduced it), and of the authors' released code (hook.h's note on where
# they use translation and ITM).
#   check_no_host_names.sh SOURCE_DIR
set -u
src=$1
allow='LightGCN text|LightGCN folder|LightGCN interaction text|LightGCN-format|normalisation LightGCN propagates|LightGCN-style host multiplies|released code has them only in its LightGCN'
[ -d "$src/lib" ] && [ -d "$src/include" ] || { echo "no lib/ or include/ under $src"; exit 1; }
hits=$(grep -rniE 'lightgcn|sgl|simgcl' "$src/lib" "$src/include")
bad=$(printf '%s\n' "$hits" | grep -vE "$allow" | grep -v '^$')
n_allowed=$(printf '%s\n' "$hits" | grep -cE "$allow")
if [ -n "$bad" ]; then
  echo "host names in the library (keep them in examples/):"
  printf '%s\n' "$bad"
  exit 1
fi
echo "no host names under lib/ and include/ ($n_allowed allowed mentions of the data format," \
     "the normalisation and the authors' code)"
