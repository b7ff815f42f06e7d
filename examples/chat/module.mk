# weft-chat: a multi-user chat room on the parser generated from
# spec/chat.weft.  This fragment sorts before examples/common/module.mk, so
# $(CLI_SRCS) needs a recursive (=) assignment.
PROGRAMS += weft-chat
weft-chat_SRCS = examples/chat/main.c examples/chat/room.c $(CLI_SRCS)
weft-chat_SPECS := chat
PYTESTS += tests/integration/test_chat.py
CTESTS += test_chat
test_chat_SRCS := tests/unit/test_chat.c examples/chat/room.c
test_chat_SPECS := chat
