/* room.h — a multi-user chat room (Twisted's chat server example) on the
 * parser generated from spec/chat.weft.
 *
 * The first line a client sends is its name; every later line goes to
 * every other member as "<name> line".  Joins and leaves are announced as
 * "* name has joined" / "* name has left".
 */
#ifndef WEFT_EXAMPLES_CHAT_ROOM_H
#define WEFT_EXAMPLES_CHAT_ROOM_H

#include <stddef.h>

#include "weft.h"

#define ROOM_NAME_MAX 32            /* bytes in a member's name */

typedef struct room room;

/* A new, empty room.  NULL on out-of-memory. */
room *room_new(void);
/* Frees the room; every connection built for it must be gone. */
void room_free(room *rm);
/* Members that have chosen a name. */
size_t room_members(const room *rm);

/* Fills *proto with the chat protocol.  A factory using it must have the
 * room as its user pointer (weft_factory_new(r, proto, NULL, room)). */
void room_protocol_init(weft_protocol *proto);

#endif
