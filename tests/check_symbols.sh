#!/usr/bin/env bash
# Symbol hygiene (STYLE.md rule 5): every global symbol the shared object
# exports and every global symbol the static archive defines starts with
# irllrec_, and the archive holds no writable data (no hidden global state).
# Usage: check_symbols.sh libirllrec.so libirllrec.a
set -u
so=$1 a=$2 fail=0

dyn=$(nm -D --defined-only "$so" | awk '$2 ~ /[A-Z]/ {print $3}')
[ -n "$dyn" ] || { echo "FAIL: no exported symbols in $so"; exit 1; }
bad=$(printf '%s\n' "$dyn" | grep -v '^irllrec_' || true)
if [ -n "$bad" ]; then echo "FAIL: $so exports symbols outside irllrec_:"; echo "$bad"; fail=1; fi
internal=$(printf '%s\n' "$dyn" | grep '^irllrec__' || true)
if [ -n "$internal" ]; then echo "FAIL: $so exports internal irllrec__ symbols:"; echo "$internal"; fail=1; fi

glob=$(nm -g --defined-only "$a" 2>/dev/null | awk 'NF == 3 {print $2, $3}')
[ -n "$glob" ] || { echo "FAIL: no global symbols in $a"; exit 1; }
bad=$(printf '%s\n' "$glob" | awk '$2 !~ /^irllrec_/' || true)
if [ -n "$bad" ]; then echo "FAIL: $a defines globals outside irllrec_:"; echo "$bad"; fail=1; fi
data=$(printf '%s\n' "$glob" | awk '$1 ~ /^[DBG]$/' || true)
if [ -n "$data" ]; then echo "FAIL: $a defines writable global data:"; echo "$data"; fail=1; fi
# Static writable data: objects in .data/.bss sections (.data.rel.ro is
# read-only after relocation, e.g. tables of string pointers, and is fine).
ldata=$(objdump -t "$a" 2>/dev/null | awk '$0 ~ / O / {
          for (i = 1; i <= NF; i++) if ($i == "O") { sec = $(i + 1); break }
          if (sec ~ /^\.(data|bss)(\.|$)/ && sec !~ /^\.data\.rel\.ro/) print sec, $NF }' || true)
if [ -n "$ldata" ]; then echo "FAIL: $a has writable data objects (hidden global state):"; echo "$ldata"; fail=1; fi

n_dyn=$(printf '%s\n' "$dyn" | wc -l)
n_glob=$(printf '%s\n' "$glob" | wc -l)
if [ $fail -eq 0 ]; then
  echo "symbols: $n_dyn exported from $(basename "$so"), $n_glob globals in $(basename "$a"), all irllrec_; no writable data"
fi
exit $fail
