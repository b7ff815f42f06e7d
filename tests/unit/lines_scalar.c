/* lines_scalar.c — runtime/lines.c with the portable delimiter scan (no
 * SSE2), for test_lines_scan_scalar: the fallback used off x86 gets the
 * same tests on every machine. */
#define WEFT_LINES_NO_SIMD 1
#include "../../runtime/lines.c"
