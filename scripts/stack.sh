#!/usr/bin/env bash
# Prints which stack this host runs natively: "current" (Python 3.12, TFX 1.21) where glibc >= 2.39
# (Ubuntu 24.04, Debian 13, RHEL 10), else "legacy" (Python 3.10, TFX 1.16). `--why` adds the reason.
# TFX 1.21's compiled libraries need GLIBC_2.38 and GLIBCXX_3.4.32, which distributions ship from glibc 2.39 on.
set -u
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
glibc=${glibc:-0.0}
if [ "$(printf '%s\n' 2.39 "$glibc" | sort -V | head -n 1)" = 2.39 ]; then
  stack=current; reason="host glibc $glibc >= 2.39"
else
  stack=legacy; reason="host glibc $glibc < 2.39 (TFX 1.21 needs 2.39; STACK=current runs it in a Debian 13 root)"
fi
if [ "${1:-}" = --why ]; then echo "$stack stack: $reason"; else echo "$stack"; fi
