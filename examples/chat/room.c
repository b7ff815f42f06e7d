/* room.c — the chat room's handlers (see room.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "room.h"

/* Per-connection state (chat_state): a member of the room's list once it
 * has a name. */
typedef struct member {
    struct member *prev, *next;     /* the room's list, joined members only */
    chat_parser *parser;
    bool joined;
    size_t name_len;
    char name[ROOM_NAME_MAX];
} member;

struct room {
    member *first;
    size_t count;
};

room *room_new(void)
{
    return calloc(1, sizeof(room));
}

void room_free(room *rm)
{
    free(rm);
}

size_t room_members(const room *rm)
{
    return rm->count;
}

static room *room_of(chat_parser *p)
{
    return weft_factory_user(weft_conn_factory(chat_conn(p)));
}

static void say(chat_parser *p, const char *text)
{
    chat_send_line(p, text, strlen(text));
}

/* Sends line to every joined member except `from`. */
static void broadcast(room *rm, const member *from, const char *line,
                      size_t len)
{
    member *m;

    for (m = rm->first; m != NULL; m = m->next) {
        if (m != from)
            chat_send_line(m->parser, line, len);
    }
}

static void announce(room *rm, const member *who, const char *what)
{
    char line[ROOM_NAME_MAX + 32];
    int n = snprintf(line, sizeof line, "* %.*s %s", (int)who->name_len,
                     who->name, what);

    broadcast(rm, who, line, (size_t)n);
}

static void on_connect(chat_parser *p)
{
    member *me = chat_state(p);

    me->parser = p;
    say(p, "What's your name?");
}

static bool name_taken(const room *rm, const char *name, size_t len)
{
    const member *m;

    for (m = rm->first; m != NULL; m = m->next) {
        if (m->name_len == len && memcmp(m->name, name, len) == 0)
            return true;
    }
    return false;
}

/* The spec's `next message` moves on after this line; a refused name
 * switches back to nick mode, which overrides `next`. */
static void on_nick(chat_parser *p, const chat_nick *m)
{
    member *me = chat_state(p);
    room *rm = room_of(p);
    char line[ROOM_NAME_MAX + 16];

    if (m->name.len > ROOM_NAME_MAX) {
        say(p, "Name too long, please choose another.");
        chat_set_mode(p, CHAT_MODE_NICK, 0);
        return;
    }
    if (name_taken(rm, m->name.p, m->name.len)) {
        say(p, "Name taken, please choose another.");
        chat_set_mode(p, CHAT_MODE_NICK, 0);
        return;
    }
    memcpy(me->name, m->name.p, m->name.len);
    me->name_len = m->name.len;
    me->joined = true;
    me->next = rm->first;
    if (rm->first != NULL)
        rm->first->prev = me;
    rm->first = me;
    rm->count++;
    snprintf(line, sizeof line, "Welcome, %.*s!", (int)me->name_len,
             me->name);
    say(p, line);
    announce(rm, me, "has joined");
}

static void on_message(chat_parser *p, const chat_message *m)
{
    member *me = chat_state(p);
    char line[ROOM_NAME_MAX + 1024 + 8];
    int n = snprintf(line, sizeof line, "<%.*s> %.*s", (int)me->name_len,
                     me->name, (int)m->text.len, m->text.p);

    broadcast(room_of(p), me, line, (size_t)n);
}

static void on_mismatch(chat_parser *p, enum chat_mode mode, const char *line,
                        size_t len)
{
    if (mode == CHAT_MODE_NICK)
        say(p, "Names are letters, digits, '_' and '-'; please choose "
               "another.");
    else
        say(p, "Lines may not contain a carriage return; not sent.");
}

static void on_disconnect(chat_parser *p, const weft_reason *r)
{
    member *me = chat_state(p);
    room *rm;

    if (!me->joined)
        return;
    rm = room_of(p);
    if (me->prev != NULL)
        me->prev->next = me->next;
    else
        rm->first = me->next;
    if (me->next != NULL)
        me->next->prev = me->prev;
    rm->count--;
    me->joined = false;
    announce(rm, me, "has left");
}

static const chat_callbacks callbacks = {
    .on_connect = on_connect,
    .on_nick = on_nick,
    .on_message = on_message,
    .on_mismatch = on_mismatch,
    /* on_line_too_long NULL: a line over 1024 bytes closes the connection
     * with WEFT_ELINE_TOO_LONG, as Twisted's lineLengthExceeded does. */
    .on_disconnect = on_disconnect,
};

void room_protocol_init(weft_protocol *proto)
{
    chat_protocol_init(proto, &callbacks, sizeof(member));
}
