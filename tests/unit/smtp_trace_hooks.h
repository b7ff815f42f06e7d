/* smtp_trace_hooks.h — the hooks that make the generated SMTP trace
 * harness (smtp_trace.c, tests/fuzz/README.md) play weft-smtpd's part:
 * a DATA command without argument enters `data_start`, whose end picks
 * `data`, `command` or another round, with the same end-of-data scanner
 * the server uses (examples/smtpd/msgbody.c).  Include this instead of
 * smtp_trace.c; shared by tests/unit/test_smtp_parser.c and
 * tests/fuzz/fuzz_smtp.c.
 *
 * t->var[0]: scanner state, var[1]: its virtual bytes, var[2]: end seen.
 */
#ifndef WEFT_SMTP_TRACE_HOOKS_H
#define WEFT_SMTP_TRACE_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <strings.h>

#include "../../examples/smtpd/msgbody.h"
#include "smtp.h"

static int smtp_hooks__drop(void *arg, const char *data, size_t len)
{
    return 0;
}

static void smtp_hooks__scan(uint64_t *var, const char *data, size_t len)
{
    msgbody b;
    msgbody_endscan e = {(int)var[0], (int)var[1]};
    bool done = false;
    msgbody_init(&b, 0, smtp_hooks__drop, NULL);
    msgbody_endscan_feed(&e, &b, data, len, &done);
    var[0] = (uint64_t)e.state;
    var[1] = (uint64_t)e.virt;
    var[2] |= done;
}

static void smtp_hooks__command(uint64_t *var, smtp_parser *p,
                                const smtp_command *m)
{
    msgbody_endscan e;
    if (m->verb.len != 4 || strncasecmp(m->verb.p, "DATA", 4) != 0 ||
        m->arg.p != NULL)
        return;
    msgbody_endscan_init(&e);
    var[0] = (uint64_t)e.state;
    var[1] = (uint64_t)e.virt;
    var[2] = 0;
    smtp_set_mode(p, SMTP_MODE_DATA_START,
                  (uint64_t)msgbody_endscan_need(&e));
}

static void smtp_hooks__start_end(uint64_t *var, smtp_parser *p)
{
    msgbody_endscan e = {(int)var[0], (int)var[1]};
    if (var[2])
        smtp_set_mode(p, SMTP_MODE_COMMAND, 0);
    else if (msgbody_endscan_clear(&e))
        smtp_set_mode(p, SMTP_MODE_DATA, 0);
    else
        smtp_set_mode(p, SMTP_MODE_DATA_START,
                      (uint64_t)msgbody_endscan_need(&e));
}

#define SMTP_TRACE_COMMAND(t, p, m) smtp_hooks__command((t)->var, (p), (m))
#define SMTP_TRACE_DATA_START(t, p, data, len)                              \
    smtp_hooks__scan((t)->var, (data), (len))
#define SMTP_TRACE_DATA_START_END(t, p) smtp_hooks__start_end((t)->var, (p))
#include "smtp_trace.c"

#endif
