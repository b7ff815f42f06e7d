/* lines.h — the line/raw driver shared by every generated parser
 * (Twisted's LineReceiver, generalised to many modes).
 *
 * The driver owns the mode machine: it finds line delimiters with a block
 * scan (64 bytes at a time, SSE2 on x86-64, a bit per candidate byte) and
 * end marks with memmem (remembering how far the last search got, so a
 * slow line costs linear time), enforces max_line, counts raw blocks,
 * checks trailers, finds the end of until-delimiter blocks, and honours
 * pause, stop and mode switches
 * made from inside any callback at the very next byte.  It knows nothing
 * about sockets: weft_lines_feed() works on any buffer, so the same parser
 * serves libweft, another event loop, tests and fuzzers.
 *
 * Generated code supplies a table of weft_mode; each line mode's `line`
 * hook runs that mode's Ragel machine once over the complete line and calls
 * the user's typed callback.  A mode with a grammar also has a `fused` hook
 * that finds and parses lines in one pass where they lie whole in the
 * input; the driver tries it first and falls back to `line`.
 *
 * Memory: one line buffer per parser, allocated on first need and never
 * larger than the largest max_line + delimiter length of its modes (plus
 * the few held-back bytes a mode switch may send back to be re-parsed); it
 * holds only a line that straddles two feeds.  Complete lines inside one feed are
 * passed straight from the caller's buffer (zero copy).  Once empty, a
 * buffer that grew beyond 256 bytes is freed at the end of the feed, so an
 * idle connection keeps at most a small one.
 *
 * The rules, exactly (tests/conformance/ holds a case for each):
 *
 * LINE   A line is the bytes before the first complete delimiter.  A line
 *        of max_line bytes is accepted.  The line is rejected as soon as
 *        max_line + delim_len bytes have arrived without a delimiter ending
 *        among them (so a line of max_line bytes whose delimiter is split
 *        across feeds is still accepted, and max_line bytes plus the first
 *        byte of a two-byte delimiter are not rejected yet).  too_long then
 *        receives exactly those max_line + delim_len bytes; lines before
 *        them were delivered first.  If too_long is NULL the parser fails
 *        with WEFT_ELINE_TOO_LONG.  If too_long returns without switching
 *        mode, the rest of the over-long line is dropped up to and
 *        including its delimiter and parsing resumes in the same mode (no
 *        `next`); if it switched mode, parsing resumes in the new mode at
 *        the byte after the rejected ones.
 * COUNTED The count given to weft_lines_set_mode (0 when entered through
 *        `next`) bytes go to `raw` in the pieces they arrived in, then the
 *        trailer must follow byte for byte (a mismatch fails with
 *        WEFT_EPROTOCOL), then raw_end.  A count of 0 still requires the
 *        trailer.  If the mode has no next and raw_end does not switch, any
 *        further byte fails with WEFT_EPROTOCOL.
 * UNTIL  Data up to the first occurrence of delim goes to `raw` (the mark
 *        itself never); bytes that may be the start of the mark are held
 *        back (at most delim_len - 1) until decided.  max_line caps the
 *        data bytes of one block (0: no cap).  The first data byte over
 *        the cap calls too_long with that one byte (NULL: fail with
 *        WEFT_ELINE_TOO_LONG); unless too_long switches mode, the rest of
 *        the block's data is dropped and the block ends normally at the
 *        mark (raw_end, next).  With no next the mode starts a new block.
 * CLOSE  Everything goes to `raw` until weft_lines_finish(), then raw_end.
 *
 * `next` applies after each line (LINE) or after raw_end (raw modes),
 * unless that callback switched mode itself: the callback's choice wins
 * (a pause or clear in the callback does not prevent it).
 * A switch from a raw callback abandons the block (no trailer check, no
 * raw_end).  A NULL callback means the event is ignored (except too_long,
 * see above).
 *
 * After every callback the driver re-checks stop, pause, clear and mode
 * switches; switching is a loop, never a recursion, so thousands of
 * switches inside one feed are fine.  Callbacks must not call
 * weft_lines_feed or weft_lines_finish on their own parser.
 */
#ifndef WEFT_LINES_H
#define WEFT_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct weft_lines weft_lines;

/* A capture or a piece of input: pointer and length, valid during the
 * callback it is passed to only.  p is NULL for an optional capture that
 * did not occur. */
typedef struct weft_span {
    const char *p;
    size_t len;
} weft_span;

typedef enum weft_mode_kind {
    WEFT_MODE_LINE,      /* lines ended by delim, at most max_line bytes */
    WEFT_MODE_COUNTED,   /* exactly the count given on entry, then trailer */
    WEFT_MODE_UNTIL,     /* raw until delim (not delivered), at most
                            max_line bytes of data */
    WEFT_MODE_CLOSE,     /* raw until the stream ends (weft_lines_finish) */
} weft_mode_kind;

/* One mode of a protocol; generated code emits a static const table. */
typedef struct weft_mode {
    const char *name;
    weft_mode_kind kind;
    const char *delim;            /* LINE: line delimiter; UNTIL: end mark */
    size_t delim_len;
    size_t max_line;              /* LINE: bytes before delim; UNTIL: cap on
                                     data bytes (0: no cap) */
    const char *trailer;          /* COUNTED: bytes required after the block */
    size_t trailer_len;
    int next;                     /* mode after each line / after a raw
                                     block ends; -1: stay */
    /* LINE: one complete line without its delimiter (may be empty). */
    void (*line)(weft_lines *p, const char *line, size_t len);
    /* LINE: the line reached max_line without a delimiter, or a complete
     * line is longer than max_line.  NULL: fail with WEFT_ELINE_TOO_LONG. */
    void (*too_long)(weft_lines *p, const char *data, size_t len);
    /* Raw modes: data in the chunks it arrived in, then the end event. */
    void (*raw)(weft_lines *p, const char *data, size_t len);
    void (*raw_end)(weft_lines *p);
    /* LINE, optional: one pass that both finds and parses the line at the
     * start of data (n > 0 bytes, none of a partial line before them),
     * looking at no more than max_line + delim_len bytes of it.  If that
     * line is complete and well-formed it is delivered exactly as `line`
     * would deliver it, and so may the complete lines after it be (the
     * hook must stop after a line when weft__lines_halted() or when the
     * mode has a next).  Returns the bytes used (lines and delimiters).
     * At the first line it cannot take it stops, having called nothing
     * for that line, and the driver handles that line the usual way
     * (delimiter search, then `line`), so a partial, over-long or
     * mismatching line behaves as without the hook. */
    size_t (*fused)(weft_lines *p, const char *data, size_t n);
} weft_mode;

/* Parser state; embed it, but touch fields only through the functions. */
struct weft_lines {
    const weft_mode *modes;
    int nmodes;
    int mode;                     /* current mode index */
    void *user;                   /* the caller's pointer */
    char *buf;                    /* partial line carried between feeds, or
                                     bytes to re-parse after a mode switch */
    size_t buf_len, buf_cap;
    size_t scanned;               /* bytes of buf already searched */
    uint64_t remaining;           /* COUNTED: data bytes still to come */
    size_t matched;               /* trailer / UNTIL / skipping: bytes of the
                                     mark seen (held back, not delivered) */
    size_t raw_total;             /* UNTIL: data bytes delivered so far */
    int error;                    /* sticky WEFT_E* code, 0 if none */
    const char *error_text;       /* static text for error */
    unsigned paused : 1;
    unsigned stopped : 1;         /* closed: no callback will run again */
    unsigned discard : 1;         /* clear requested from a callback */
    unsigned switched : 1;        /* set_mode called in the current callback */
    unsigned reparse : 1;         /* buf holds bytes not yet parsed in the
                                     current mode; they go before new input */
    unsigned skipping : 1;        /* LINE: dropping the rest of an over-long
                                     line; UNTIL: dropping data over the cap */
    unsigned ended : 1;           /* COUNTED: block done, no next mode */
    unsigned acted : 1;           /* a callback event fired in this step */
    unsigned char poked;          /* set by every call that may end a run of
                                     lines (set_mode, pause, stop, fail,
                                     clear): the hot loop tests only this */
    void (*on_resume)(weft_lines *p);   /* set by the libweft glue */
    /* Work counters, for tests and benchmarks: bytes examined by delimiter
     * and end-mark searches, and bytes copied into buf.  Both grow linearly
     * with the input, however it is split (CONFORMANCE 19). */
    uint64_t stat_searched;
    uint64_t stat_copied;
};

/* For a mode's `fused` hook that delivers several lines in a row: true
 * when the last callback did anything the driver must see first (switch,
 * stop, pause, clear); the hook then returns. */
static inline bool weft__lines_halted(const weft_lines *p)
{
    /* || of adjacent bit-fields compiles to one test of their word. */
    return p->paused || p->stopped || p->discard || p->switched || p->reparse;
}

/* ---- public API ------------------------------------------------------- */

/* Prepares p to run `modes` starting in mode `initial`.  modes must
 * outlive p.  Nothing is allocated until a line straddles two feeds.  A bad
 * table (LINE or UNTIL mode without a delimiter, next out of range, bad
 * initial) fails the parser with WEFT_EINVAL at once. */
void weft_lines_init(weft_lines *p, const weft_mode *modes, int nmodes,
                     int initial, void *user);
/* Frees the line buffer; p may be initialised again afterwards. */
void weft_lines_free(weft_lines *p);

/* Parses len bytes, firing callbacks.  Returns the number consumed, which
 * is below len only when a callback paused or stopped the parser or an
 * error occurred; offer the rest again after resuming.  While paused or
 * stopped it returns 0 at once.  A len of 0 (data may be NULL) delivers
 * what is held internally, e.g. after a mode switch made between feeds. */
size_t weft_lines_feed(weft_lines *p, const char *data, size_t len);
/* End of stream.  A CLOSE mode gets its raw_end (then `next`); a partial
 * line (or one being dropped after too_long), an unfinished COUNTED block
 * or an UNTIL block with any byte of it seen sets WEFT_EPROTOCOL.  Returns
 * the sticky error or 0; afterwards no callback runs again.  While paused
 * it changes nothing and returns WEFT_EINVAL: resume, feed the held bytes,
 * then finish. */
int weft_lines_finish(weft_lines *p);

/* Switches mode; takes effect at the very next byte, also when called from
 * a callback in the middle of a chunk.  count is the block size for
 * COUNTED modes and ignored otherwise.  Bytes already received but not
 * delivered (a partial line, an UNTIL mode's held-back partial mark, a
 * partly matched trailer) are re-parsed in the new mode, before the rest of
 * the input.  An invalid mode fails the parser with WEFT_EINVAL. */
void weft_lines_set_mode(weft_lines *p, int mode, uint64_t count);
int weft_lines_mode(const weft_lines *p);
/* Stops delivery after the current callback; feed returns early with the
 * count consumed up to that point.  A LINE mode's `next` still applies. */
void weft_lines_pause(weft_lines *p);
/* Allows delivery again and calls on_resume (if set) so the owner can offer
 * the held-back bytes at once. */
void weft_lines_resume(weft_lines *p);
bool weft_lines_paused(const weft_lines *p);
/* No callback will run again (used on close and abort). */
void weft_lines_stop(weft_lines *p);
/* Records a sticky error and stops; feed returns at once.  The first error
 * wins. */
void weft_lines_fail(weft_lines *p, int code, const char *text);
int weft_lines_error(const weft_lines *p);
const char *weft_lines_error_text(const weft_lines *p);
/* clearLineBuffer: from a callback, discards every byte after the current
 * line (the rest of the chunk being fed and any buffered partial line);
 * parsing continues with the next feed on a clean buffer, in whatever mode
 * is current (the feed reports the whole chunk consumed).  It also ends the
 * dropping of an over-long line, and drops an UNTIL mode's held-back bytes.
 * Outside a callback it discards what is held internally. */
void weft_lines_clear(weft_lines *p);
/* Bytes received but not yet delivered: the partial line, bytes waiting to
 * be re-parsed, an UNTIL mode's held-back partial mark. */
size_t weft_lines_buffered(const weft_lines *p);

#endif
