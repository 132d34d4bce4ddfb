/* env_names — the names of the TYCHO_* environment variables tycho reads
 * (every module's, not only `tycho serve`'s settings), to tell a misspelt
 * one (TYCHO_WORKER, tycho_workers) from a variable the app reads for
 * itself: a misspelt setting would otherwise be ignored without a word and
 * its default used. Read-only tables; any thread may call these.
 * tests/lint/test_env_names.sh keeps the list in step with the sources. */
#ifndef TYCHO_CORE_ENV_NAMES_H
#define TYCHO_CORE_ENV_NAMES_H

#include <stddef.h>

/* 1 when name (exact case) is a variable tycho reads. */
int tycho_env_name_known(const char *name);
/* The variable tycho reads that name, not one itself, is a likely slip for:
 * the same letters in another case, or one letter missing, added, changed
 * or two neighbours swapped (two such slips in names longer than 12
 * characters); NULL when none is that close. */
const char *tycho_env_name_near(const char *name);
/* Looks through env ("NAME=value" strings, NULL-terminated, as environ)
 * for a variable starting TYCHO_ in any case that is a slip for one tycho
 * reads: 0 when there is none, else -1 with "TYCHO_WORKER: tycho reads no
 * such variable; did you mean TYCHO_WORKERS?" in err (errlen bytes). */
int tycho_env_check_names(char *const *env, char *err, size_t errlen);

#endif
