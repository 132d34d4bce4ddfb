/* The reload watcher: recursive, picks up new subfolders, debounces bursts. */
#include "lua/watcher.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static int changes;

static void on_change(void *ud)
{
    (void)ud;
    changes++;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void noop(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop for ms milliseconds. */
static void spin(uv_loop_t *loop, unsigned ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, noop, ms, 0);
    uint64_t end = uv_now(loop) + ms;
    while (uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* Stops the watcher, checks every handle closed, removes the folder. */
static void finish(tycho_watcher_t *w, uv_loop_t *loop, const char *dir)
{
    char cmd[600];
    tycho_watcher_stop(w);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_recursive_debounced(void **state)
{
    (void)state;
    char root[] = "/tmp/tycho-watch-XXXXXX";
    assert_non_null(mkdtemp(root));
    char path[512];
    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *dirs[] = {root};
    tycho_watcher_t *w = tycho_watcher_start(&loop, dirs, 1, 50, on_change, NULL);
    assert_non_null(w);
    assert_int_equal(tycho_watcher_count(w), 1);

    /* a burst of edits -> one change */
    changes = 0;
    snprintf(path, sizeof path, "%s/a.lua", root);
    for (int i = 0; i < 5; i++)
        write_file(path, "return {}\n");
    spin(&loop, 200);
    assert_int_equal(changes, 1);

    /* a new subfolder is watched after the burst that created it */
    snprintf(path, sizeof path, "%s/sub", root);
    assert_int_equal(mkdir(path, 0755), 0);
    spin(&loop, 200);
    assert_int_equal(changes, 2);
    assert_int_equal(tycho_watcher_count(w), 2);
    snprintf(path, sizeof path, "%s/sub/b.lua", root);
    write_file(path, "return {}\n");
    spin(&loop, 200);
    assert_int_equal(changes, 3);

    /* editor leftovers do not count */
    snprintf(path, sizeof path, "%s/sub/.b.lua.swp", root);
    write_file(path, "x");
    snprintf(path, sizeof path, "%s/sub/b.lua~", root);
    write_file(path, "x");
    spin(&loop, 200);
    assert_int_equal(changes, 3);

    /* a subfolder deleted and created again within one burst (git checkout)
     * is watched anew: same name, another inode */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/sub'", root);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/sub", root);
    assert_int_equal(mkdir(path, 0755), 0);
    spin(&loop, 200);
    int before = changes;
    snprintf(path, sizeof path, "%s/sub/c.lua", root);
    write_file(path, "return {}\n");
    spin(&loop, 200);
    assert_int_equal(changes, before + 1);
    assert_int_equal(tycho_watcher_count(w), 2);

    finish(w, &loop, root);
}

/* The root folder missing at the start (./routes not created yet), or gone
 * for longer than a burst (rm -rf routes; ... ; mkdir routes): once it
 * appears it counts as an edit and is watched. */
static void test_missing_root(void **state)
{
    (void)state;
    char parent[] = "/tmp/tycho-watch-XXXXXX";
    assert_non_null(mkdtemp(parent));
    char root[256], path[512], cmd[600];
    snprintf(root, sizeof root, "%s/routes", parent);
    snprintf(path, sizeof path, "%s/a.lua", root);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *dirs[] = {root};
    tycho_watcher_t *w = tycho_watcher_start(&loop, dirs, 1, 50, on_change, NULL);
    assert_non_null(w);
    assert_int_equal(tycho_watcher_count(w), 0);
    changes = 0;

    for (int round = 0; round < 2; round++) {
        int base = changes;
        spin(&loop, 300);
        assert_int_equal(changes, base);
        assert_int_equal(mkdir(root, 0755), 0);
        write_file(path, "return {}\n");
        spin(&loop, 1300); /* the folder is looked for every second */
        assert_int_equal(changes, base + 1);
        assert_int_equal(tycho_watcher_count(w), 1);
        write_file(path, "return { x = 1 }\n");
        spin(&loop, 200);
        assert_int_equal(changes, base + 2);
        assert_int_equal(system(cmd), 0); /* gone: an edit too */
        spin(&loop, 200);
        assert_int_equal(changes, base + 3);
        assert_int_equal(tycho_watcher_count(w), 0);
    }

    finish(w, &loop, parent);
}

/* The chmod scenario of test_chmod_root, in a process of its own: 0 when
 * every check held, else the line of the first that failed. */
static int chmod_root_scenario(void)
{
    char root[] = "/tmp/tycho-watch-XXXXXX";
    if (!mkdtemp(root)) return __LINE__;
    char path[512], cmd[600];
    snprintf(path, sizeof path, "%s/a.lua", root);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    FILE *f = fopen(path, "w");
    if (!f || fputs("return {}\n", f) < 0 || fclose(f) != 0) return __LINE__;
    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *dirs[] = {root};
    tycho_watcher_t *w = tycho_watcher_start(&loop, dirs, 1, 50, on_change, NULL);
    int line = 0;
    if (!w || tycho_watcher_count(w) != 1) line = __LINE__;
    for (int round = 0; round < 2 && !line; round++) {
        if (chmod(root, 0) != 0) line = __LINE__;
        spin(&loop, 200);
        if (chmod(root, 0755) != 0) line = __LINE__;
        spin(&loop, 1200); /* the rescan after the chmod back renews the watch */
        if (tycho_watcher_count(w) != 1) line = __LINE__;
        int base = changes;
        f = fopen(path, "w");
        if (!f || fputs(round ? "return { x = 2 }\n" : "return { x = 1 }\n", f) < 0 || fclose(f))
            line = __LINE__;
        spin(&loop, 300);
        if (!line && changes != base + 1) line = __LINE__; /* still watched: the edit reloads */
    }
    if (w) tycho_watcher_stop(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (system(cmd) != 0 && !line) line = __LINE__;
    return line;
}

/* chmod 000 on the watched folder itself, then back: the folder is still
 * watched and the next edit reloads. The chmod sends an event about the
 * folder itself that reads like its deletion: the watch was renewed, which
 * fails while the folder is not readable (for any user but root, so as root
 * the scenario runs as nobody, in a child), and the folder then went
 * unwatched for good. */
static void test_chmod_root(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        assert_int_equal(chmod_root_scenario(), 0);
        return;
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(1);
        int line = chmod_root_scenario();
        if (line) fprintf(stderr, "test_chmod_root: the check at line %d failed\n", line);
        _exit(line ? 2 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_recursive_debounced),
                                       cmocka_unit_test(test_missing_root),
                                       cmocka_unit_test(test_chmod_root)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
