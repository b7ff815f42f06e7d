/* lines.h — the line/raw driver shared by every generated parser
 * (Twisted's LineReceiver, generalised to many modes).
 *
 * The driver owns the mode machine: it finds delimiters with memchr/memmem
 * (remembering how far the last search got, so a slow line costs linear
 * time), enforces max_line, counts raw blocks, checks trailers, finds the
 * end of until-delimiter blocks, and honours pause, stop and mode switches
 * made from inside any callback at the very next byte.  It knows nothing
 * about sockets: weft_lines_feed() works on any buffer, so the same parser
 * serves libweft, another event loop, tests and fuzzers.
 *
 * Generated code supplies a table of weft_mode; each line mode's `line`
 * hook runs that mode's Ragel machine once over the complete line and calls
 * the user's typed callback.
 *
 * Memory: one line buffer per parser, allocated on first need and never
 * larger than the largest max_line + delimiter length of its modes; it holds
 * only a line that straddles two feeds.  Complete lines inside one feed are
 * passed straight from the caller's buffer (zero copy).
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
    size_t max_line;              /* LINE: bytes before delim; UNTIL: cap */
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
} weft_mode;

/* Parser state; embed it, but touch fields only through the functions. */
struct weft_lines {
    const weft_mode *modes;
    int nmodes;
    int mode;                     /* current mode index */
    void *user;                   /* the caller's pointer */
    char *buf;                    /* partial line carried between feeds */
    size_t buf_len, buf_cap;
    size_t scanned;               /* bytes of buf already searched */
    uint64_t remaining;           /* COUNTED: data bytes still to come */
    size_t matched;               /* trailer / UNTIL: bytes of the mark seen */
    size_t raw_total;             /* UNTIL: data bytes delivered so far */
    int error;                    /* sticky WEFT_E* code, 0 if none */
    const char *error_text;       /* static text for error */
    unsigned paused : 1;
    unsigned stopped : 1;         /* closed: no callback will run again */
    unsigned discard : 1;         /* clear requested from a callback */
    unsigned switched : 1;        /* set_mode called in the current callback */
    void (*on_resume)(weft_lines *p);   /* set by the libweft glue */
};

/* ---- public API ------------------------------------------------------- */

/* Prepares p to run `modes` starting in mode `initial`.  modes must
 * outlive p.  Nothing is allocated until a line straddles two feeds. */
void weft_lines_init(weft_lines *p, const weft_mode *modes, int nmodes,
                     int initial, void *user);
/* Frees the line buffer; p may be initialised again afterwards. */
void weft_lines_free(weft_lines *p);

/* Parses len bytes, firing callbacks.  Returns the number consumed, which
 * is below len only when a callback paused or stopped the parser or an
 * error occurred; offer the rest again after resuming. */
size_t weft_lines_feed(weft_lines *p, const char *data, size_t len);
/* End of stream: a CLOSE mode gets its raw_end; a partial line or an
 * unfinished raw block sets WEFT_EPROTOCOL.  Returns the error or 0. */
int weft_lines_finish(weft_lines *p);

/* Switches mode; takes effect at the very next byte, also when called from
 * a callback in the middle of a chunk.  count is the block size for
 * COUNTED modes and ignored otherwise.  Bytes already buffered as a partial
 * line are re-parsed in the new mode. */
void weft_lines_set_mode(weft_lines *p, int mode, uint64_t count);
int weft_lines_mode(const weft_lines *p);
/* Stops delivery after the current callback; feed returns early. */
void weft_lines_pause(weft_lines *p);
/* Allows delivery again and calls on_resume (if set) so the owner can offer
 * the held-back bytes at once. */
void weft_lines_resume(weft_lines *p);
bool weft_lines_paused(const weft_lines *p);
/* No callback will run again (used on close and abort). */
void weft_lines_stop(weft_lines *p);
/* Records a sticky error and stops; feed returns at once. */
void weft_lines_fail(weft_lines *p, int code, const char *text);
int weft_lines_error(const weft_lines *p);
const char *weft_lines_error_text(const weft_lines *p);
/* clearLineBuffer: from a callback, discards every byte after the current
 * line (the rest of the chunk being fed and any buffered partial line);
 * parsing continues with the next feed on a clean buffer. */
void weft_lines_clear(weft_lines *p);
/* Bytes currently held in the partial-line buffer (for tests and limits). */
size_t weft_lines_buffered(const weft_lines *p);

#endif
