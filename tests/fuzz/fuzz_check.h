/* fuzz_check — how a fuzz target reports a broken invariant: CHECK(cond,
 * fmt, ...) prints "<FUZZ_TARGET> invariant broken: <message>" on stderr and
 * aborts (libFuzzer keeps the input as a crash artifact). The message's
 * arguments are evaluated only when cond fails. Define FUZZ_TARGET (a string)
 * before including. */
#ifndef TYCHO_TESTS_FUZZ_CHECK_H
#define TYCHO_TESTS_FUZZ_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn, format(printf, 2, 3))) static inline void
fuzz_invariant_broken(const char *target, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s invariant broken: ", target);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) fuzz_invariant_broken(FUZZ_TARGET, __VA_ARGS__);                              \
    } while (0)

#endif
