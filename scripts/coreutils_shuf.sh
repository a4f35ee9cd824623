#!/bin/sh
# Run GNU coreutils' own tests of shuf against shuffle-big installed as `shuf` (issue #17).
#
#   scripts/coreutils_shuf.sh COREUTILS GNULIB [TEST...]
#
# COREUTILS and GNULIB: source trees or bare git mirrors of coreutils and gnulib (for
# gnulib's tests/init.sh); e.g. `git clone https://github.com/coreutils/coreutils` and
# the same for gnulib. Nothing of theirs is copied into this repository (GPL): the
# files are taken into a temporary directory for the run. TEST: paths inside
# coreutils, by default shuf's own tests and the tests/misc ones that run shuf.
# Each test runs with a time limit (SHUF_TEST_TIMEOUT seconds, default 300) and
# prints what it printed and PASS, FAIL or SKIP (exit 77) as coreutils' harness would.
# The command tested is the first `shuffle-big` on PATH.
set -u
coreutils=${1:?usage: $0 COREUTILS GNULIB [TEST...]}
gnulib=${2:?usage: $0 COREUTILS GNULIB [TEST...]}
shift 2
tests=${*:-tests/shuf/shuf.sh tests/shuf/shuf-reservoir.sh tests/misc/close-stdin.sh tests/misc/read-errors.sh
tests/misc/write-errors.sh tests/misc/io-errors.sh tests/misc/invalid-opt.pl tests/help/help-version.sh
tests/misc/tty-eof.pl}
command=$(command -v shuffle-big) || { echo "$0: shuffle-big is not on PATH" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
take() {  # take FILE... (or directories) out of tree $1 (a checkout or a bare mirror) into $work
  tree=$1; shift
  if [ -d "$tree/.git" ] || [ ! -d "$tree/objects" ]; then
    (cd "$tree" && tar cf - "$@") | (cd "$work" && tar xf -)
    return
  fi
  for f in $(git --git-dir="$tree" ls-tree -r --name-only HEAD -- "$@"); do
    mkdir -p "$work/$(dirname "$f")" && git --git-dir="$tree" show "HEAD:$f" > "$work/$f" || return 1
  done
}
take "$coreutils" init.cfg tests/Coreutils.pm tests/CuSkip.pm tests/CuTmpdir.pm tests/envvar-check \
  tests/lang-default $tests || exit 2
take "$gnulib" tests/init.sh || exit 2
# write-errors.sh gives a writer the address space `--version` needs plus 12 MB, found by coreutils'
# get_min_ulimit_v_ (init.cfg), which looks only up to 50 MB: an interpreter with numpy and pyarrow maps ~215 MB
# (shuffle-big loads the same code for --version as for a run), so the search goes on to 500 MB.
sed -i "s/seq 5000 5000 50000/seq 5000 5000 500000/" "$work/init.cfg"
mkdir -p "$work/src"
ln -s "$command" "$work/src/shuf"
# coreutils' getlimits prints the C limits the tests use; these are an LP64 system's
cat > "$work/src/getlimits" <<'EOF'
#!/bin/sh
printf '%s\n' INT_MAX=2147483647 INT_MIN=-2147483648 UINT_MAX=4294967295 LONG_MAX=9223372036854775807 \
  ULONG_MAX=18446744073709551615 SIZE_MAX=18446744073709551615 SSIZE_MAX=9223372036854775807 \
  UINTMAX_MAX=18446744073709551615 INTMAX_MAX=9223372036854775807 OFF_T_MAX=9223372036854775807
EOF
chmod +x "$work/src/getlimits"
# write-errors.sh's set-up asks cksum for a SHA3 hash (cksum -a sha3, coreutils 9.6 on), used only by
# its own cksum line; where the system's cksum is older, Python's hashlib answers that one question.
if ! cksum -a sha3 -l 256 /dev/null >/dev/null 2>&1; then
  cat > "$work/src/cksum" <<'EOF'
#!/bin/sh
if [ "$*" = "-a sha3 -l 256 /dev/null" ]; then
  exec python3 -c 'import hashlib; print("SHA3-256 (/dev/null) = " + hashlib.sha3_256(b"").hexdigest())'
fi
PATH=${PATH#*/src:} exec cksum "$@"
EOF
  chmod +x "$work/src/cksum"
fi
: > "$work/config.h"
# shuf-reservoir.sh runs shuf under valgrind. Loading a Python extension whose RPATH holds $ORIGIN
# (numpy's OpenBLAS, pyarrow's libraries) makes the dynamic loader's own SSE2 strncmp read 8 bytes
# past a strdup'ed string, which valgrind reports in ld.so (is_dst, dl-load.c) for any program that
# loads such a library: suppressed here, nothing else is. Each run under valgrind takes ~10 s.
cat > "$work/ld.so.supp" <<'EOF'
{
   ld.so's strncmp over a library's RPATH
   Memcheck:Addr8
   fun:strncmp
   fun:is_dst
}
EOF

status=0
for t in $tests; do
  case $t in *.pl) run="perl -w -I$work/tests -MCuSkip -MCoreutils -MCuTmpdir=${t##*/}" ;; *) run=sh ;; esac
  built=shuf  # the programs a test takes as coreutils' own; write-errors.sh also drives timeout and env, io-errors.sh env
  case $t in *write-errors.sh) built="shuf timeout env" ;; *io-errors.sh) built="shuf env" ;; esac
  # VERSION: help-version.sh checks that `shuf --version` ends in it
  (cd "$work" && env srcdir=. abs_srcdir="$work" abs_top_srcdir="$work" abs_top_builddir="$work" \
     VALGRIND_OPTS="--suppressions=$work/ld.so.supp" VERSION="$("$command" --version | sed -n '1s/.* //p;q')" PERL=perl \
     built_programs="$built" PATH="$work/src:$PATH" CONFIG_HEADER="$work/config.h" RUN_EXPENSIVE_TESTS=yes \
     LC_ALL=C VERBOSE=no timeout "${SHUF_TEST_TIMEOUT:-300}" $run "$t")
  rc=$?
  case $rc in 0) verdict=PASS ;; 77) verdict=SKIP ;; 124) verdict="FAIL (timed out)"; status=1 ;; *) verdict=FAIL; status=1 ;; esac
  echo "$verdict: $t"
done
exit $status
