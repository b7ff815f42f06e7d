/* spec_cases.h — replays a spec's parser cases (the data-file format of
 * tests/unit/cases/echo.cases: "=== name", "<<<" input with escapes, ">>>"
 * expected trace) through its generated trace harness.  Shared by the
 * per-spec case tests so the loader and the replay loop exist once. */
#ifndef WEFT_TEST_SPEC_CASES_H
#define WEFT_TEST_SPEC_CASES_H

#include <stddef.h>

/* A generated NAME_trace_run: parses data cut into chunks of the sizes
 * chunks[0..n) (n == 0: whole) and returns the trace; free() it. */
typedef char *(*spec_trace_run_fn)(const char *data, size_t len,
                                   const size_t *chunks, size_t n);

/* Loads the cases in `path` (relative to the repository root; fails the
 * test unless there are at least min_cases) and replays each one whole,
 * split in two at every offset, and in chunks of every size from 1 to 64;
 * every replay must give the case's trace exactly. */
void spec_cases_replay(const char *path, size_t min_cases,
                       spec_trace_run_fn run);

#endif
