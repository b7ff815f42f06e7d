/* factory.c — factories, their start/stop hooks and the retry policy of
 * Twisted's ReconnectingClientFactory.
 *
 * A factory is "in use" while it has an open port, a connect attempt, a
 * client connection or a pending retry; on_start runs when that count
 * leaves 0 and on_stop when it returns to 0 (doStart/doStop).  Server
 * connections do not keep a factory started, as in Twisted.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const weft_retry_policy weft_retry_default = {
    .initial_delay = 1.0,
    .factor = 2.7182818284590451,
    .jitter = 0.11962656472,
    .max_delay = 3600.0,
    .max_retries = -1,
};

weft_factory *weft_factory_new(weft_reactor *r, const weft_protocol *proto,
                               const weft_factory_hooks *hooks, void *user)
{
    weft_factory *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->r = r;
    f->proto = proto;
    if (hooks)
        f->hooks = *hooks;
    f->user = user;
    f->pol = weft_retry_default;
    f->delay = f->pol.initial_delay;
    LIST_INSERT_HEAD(&r->factories, f, link);
    return f;
}

void weft__factory_detach(weft_factory *f)
{
    if (!f->r)
        return;
    weft_timer_cancel(f->retry_timer);
    f->retry_timer = NULL;
    LIST_REMOVE(f, link);
    f->r = NULL;
}

void weft_factory_free(weft_factory *f)
{
    if (!f)
        return;
    weft_reactor *r = f->r;
    if (r) {
        weft__factory_cancel_attempts(f);
        weft_factory_stop_retrying(f);
        weft__port_stop_factory(f);
        /* Abort what it still has; aborting runs on_disconnect, which may
         * end other connections, so restart from the head each time. */
        for (;;) {
            weft_conn *c;
            LIST_FOREACH(c, &r->conns, link)
                if (c->f == f && c->depth == 0)
                    break;
            if (!c)
                break;
            weft__conn_abort_now(c);
        }
    }
    if (f->uses > 0 && f->hooks.on_stop)
        f->hooks.on_stop(f);
    weft__factory_detach(f);
    free(f->last_endpoint);
    free(f);
}

void *weft_factory_user(const weft_factory *f) { return f->user; }
const weft_protocol *weft_factory_protocol(const weft_factory *f)
{
    return f->proto;
}
weft_reactor *weft_factory_reactor(const weft_factory *f) { return f->r; }
size_t weft_factory_conn_count(const weft_factory *f) { return f->nconns; }

void weft__factory_use(weft_factory *f)
{
    if (f->uses++ == 0 && f->hooks.on_start)
        f->hooks.on_start(f);
}

void weft__factory_unuse(weft_factory *f)
{
    if (f->uses > 0 && --f->uses == 0 && f->hooks.on_stop)
        f->hooks.on_stop(f);
}

void weft__factory_set_endpoint(weft_factory *f, const char *endpoint)
{
    if (f->last_endpoint && strcmp(f->last_endpoint, endpoint) == 0)
        return;
    char *copy = strdup(endpoint);
    if (!copy)
        return;
    free(f->last_endpoint);
    f->last_endpoint = copy;
}

/* ---- retry ----------------------------------------------------------------- */

void weft_factory_set_retry(weft_factory *f, const weft_retry_policy *policy)
{
    f->pol = policy ? *policy : weft_retry_default;
    f->retry_on = true;
    f->continue_trying = true;
    f->delay = f->pol.initial_delay;
    f->retries = 0;
}

double weft_factory_retry_delay(const weft_factory *f) { return f->delay; }

/* resetDelay: a connection was made. */
void weft__factory_connected(weft_factory *f)
{
    f->delay = f->pol.initial_delay;
    f->retries = 0;
}

/* A normal variate, as random.normalvariate in Twisted, approximated by
 * the sum of twelve uniforms (Irwin-Hall) so libweft needs no libm. */
static double normal(weft_reactor *r, double mu, double sigma)
{
    double z = -6.0;
    for (int i = 0; i < 12; i++)
        z += weft__reactor_random(r);
    return mu + sigma * z;
}

static void retry_fire(void *arg)
{
    weft_factory *f = arg;
    f->retry_timer = NULL;
    if (f->continue_trying && f->last_endpoint && f->r && !f->r->stopping)
        weft_connect(f->r, f->last_endpoint, f, NULL);
    weft__factory_unuse(f);    /* the pending retry's use */
}

void weft__factory_client_ended(weft_factory *f)
{
    if (!f->retry_on || !f->continue_trying || !f->r || f->r->stopping
        || f->retry_timer || !f->last_endpoint)
        return;
    f->retries++;
    if (f->pol.max_retries >= 0 && f->retries > f->pol.max_retries)
        return;
    f->delay = f->delay * f->pol.factor;
    if (f->delay > f->pol.max_delay)
        f->delay = f->pol.max_delay;
    if (f->pol.jitter > 0)
        f->delay = normal(f->r, f->delay, f->delay * f->pol.jitter);
    if (f->delay < 0)
        f->delay = 0;
    f->retry_timer = weft_call_later(f->r, f->delay, retry_fire, f);
    if (f->retry_timer)
        weft__factory_use(f);
}

void weft_factory_stop_retrying(weft_factory *f)
{
    f->continue_trying = false;
    if (f->retry_timer) {
        weft_timer_cancel(f->retry_timer);
        f->retry_timer = NULL;
        weft__factory_unuse(f);
    }
    if (f->retry_on && f->r)
        weft__factory_cancel_attempts(f);
}
