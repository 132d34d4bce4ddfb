/* Unit tests of the eight-bytes-at-once tests (server/core/swar.h): each
 * mask marks exactly the bytes that pass, whatever their neighbours (a
 * borrow or carry from one byte must not mark the next), and
 * tycho_swar_first finds the first marked byte in memory order. */
#include "core/swar.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* The mask a test should give for the bytes b[0..8), one byte at a time. */
typedef int (*byte_test_t)(unsigned char c, unsigned arg);

static uint64_t want_mask(const unsigned char b[8], byte_test_t t, unsigned arg)
{
    unsigned char m[8];
    for (int i = 0; i < 8; i++)
        m[i] = t(b[i], arg) ? 0x80 : 0;
    return tycho_swar_load(m);
}

static int is_high(unsigned char c, unsigned arg)
{
    (void)arg;
    return c >= 0x80;
}

static int is_below(unsigned char c, unsigned arg)
{
    return c < arg;
}

static int is_eq(unsigned char c, unsigned arg)
{
    return c == arg;
}

/* Every byte value in every lane, its neighbours set to the values that
 * would carry or borrow into it (0x00, 0x7F, 0x80, 0xFF, and one either
 * side of the argument), for each argument of each test. */
static void test_masks_exact(void **state)
{
    (void)state;
    static const unsigned args[] = {1, 0x20, 0x22, 0x5C, 0x7F, 0x80};
    for (size_t a = 0; a < sizeof args / sizeof args[0]; a++) {
        unsigned arg = args[a];
        const unsigned char fill[] = {0x00,
                                      0x7F,
                                      0x80,
                                      0xFF,
                                      (unsigned char)(arg - 1),
                                      (unsigned char)arg,
                                      (unsigned char)(arg + 1)};
        for (size_t f = 0; f < sizeof fill; f++)
            for (int lane = 0; lane < 8; lane++)
                for (int c = 0; c < 256; c++) {
                    unsigned char b[8];
                    memset(b, fill[f], 8);
                    b[lane] = (unsigned char)c;
                    uint64_t w = tycho_swar_load(b);
                    assert_true(tycho_swar_high(w) == want_mask(b, is_high, 0));
                    assert_true(tycho_swar_below(w, arg) == want_mask(b, is_below, arg));
                    assert_true(tycho_swar_eq(w, (unsigned char)arg) == want_mask(b, is_eq, arg));
                }
    }
}

/* Random words: the same, and the first marked byte. */
static void test_masks_random(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 200000; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned char b[8];
        memcpy(b, &x, 8);
        uint64_t w = tycho_swar_load(b);
        uint64_t got = tycho_swar_below(w, 0x20) | tycho_swar_eq(w, '"');
        uint64_t want = want_mask(b, is_below, 0x20) | want_mask(b, is_eq, '"');
        assert_true(got == want);
        if (want) {
            unsigned first = 0;
            while (b[first] >= 0x20 && b[first] != '"')
                first++;
            assert_int_equal(tycho_swar_first(got), first);
        }
    }
}

static void test_first_each_lane(void **state)
{
    (void)state;
    for (int lane = 0; lane < 8; lane++) {
        unsigned char b[8] = "abcdefgh";
        b[lane] = '"';
        if (lane < 7) b[7] = '"'; /* a later mark does not count */
        assert_int_equal(tycho_swar_first(tycho_swar_eq(tycho_swar_load(b), '"')), lane);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_exact),
        cmocka_unit_test(test_masks_random),
        cmocka_unit_test(test_first_each_lane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
