/* flow.h — output flow control shared by the example servers: stop reading
 * from a peer that sends requests but does not read the answers, so it
 * cannot make the server buffer without bound.
 *
 * A producer registered on the connection pauses reading (the connection's
 * or the parser's) when the output crosses the high-water mark and resumes
 * it below the low one.  It is registered on demand, just before the first
 * write that could cross the mark, because the runtime's bookkeeping for
 * watermarks and producers costs an idle connection memory; once there it
 * stays (a registered producer does not delay weft_close).
 */
#ifndef WEFT_EXAMPLES_FLOW_H
#define WEFT_EXAMPLES_FLOW_H

#include <stddef.h>

#include "weft.h"

typedef struct flow {
    size_t high, low;                 /* watermarks, bytes of output */
    const weft_producer *producer;    /* pauses and resumes reading */
} flow;

/* A producer for a protocol without a parser: pause_producing stops
 * reading (weft_conn_pause), resume_producing reads again; arg unused. */
extern const weft_producer flow_conn_producer;

/* Call before writing len bytes to c.  When the output could then exceed
 * f->high and reading is not paused already, sets the watermarks and
 * registers f->producer with arg, so that very write runs its
 * pause_producing.  Returns how many more bytes can be written before the
 * output can exceed f->high (0: it may now): while only the caller's own
 * writes grow the output, calls may be skipped until that much is spent. */
size_t flow_reserve(weft_conn *c, const flow *f, size_t len, void *arg);

#endif
